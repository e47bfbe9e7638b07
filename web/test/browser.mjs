// Drives Debian's chromium (headless) against the streamer's browser viewer: the page
// plays over WHEP, a mouse drag changes the camera, picking red turns the video red, a
// screenshot is taken, and the page measures call-to-frame latency. Prints one JSON object
// on stdout; exits non-zero with a message on stderr when a check fails.
//
//   node browser.mjs --url http://127.0.0.1:8080/ --screenshot out.png [--latency 20] [--scene demo]
//
// Run by cmd/streamer's TestBrowserViewer (go test); needs `npm ci` here first.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const url = arg('url');
const screenshot = arg('screenshot');
const latencyN = Number(arg('latency', '20'));
const executablePath = arg('chromium', '/usr/bin/chromium');
const scene = arg('scene', '');
if (!url || !screenshot) {
  console.error('usage: node browser.mjs --url URL --screenshot FILE [--latency N] [--scene NAME] [--chromium PATH]');
  process.exit(2);
}

const result = { url };
const profile = mkdtempSync(join(tmpdir(), 'rendercast-chromium-'));
let browser;
function fail(msg) {
  throw new Error(msg);
}
try {
  // A fresh, empty profile (--user-data-dir) every run.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // WebRTC on loopback: offer 127.0.0.1 candidates, and plain addresses rather than
      // mDNS names (no multicast leaves the machine).
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const page = browser.pages()[0] || await browser.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => logs.push('pageerror: ' + e.message));
  result.logs = logs;

  // The latency figures are for the server's size: the page keeps it (?autosize=0).
  const u = new URL(url);
  u.searchParams.set('autosize', '0');
  await page.goto(scene ? u.href + '#' + scene : u.href);
  await page.waitForFunction(() => window.rendercast !== undefined, null, { timeout: 10000 });
  await page.evaluate(() => window.rendercast.ready);

  // Frames advance.
  const f0 = await page.evaluate(() => window.rendercast.framesPresented());
  await page.waitForTimeout(1500);
  const f1 = await page.evaluate(() => window.rendercast.framesPresented());
  result.framesIn1500ms = f1 - f0;
  if (f1 - f0 < 5) fail(`video frames do not advance: ${f0} then ${f1} after 1.5 s`);
  result.videoSize = await page.evaluate(() => [document.getElementById('video').videoWidth, document.getElementById('video').videoHeight]);

  // A left drag across the video orbits the camera.
  const before = await page.evaluate(() => window.rendercast.call('camera.get'));
  const box = await page.locator('#video').boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down({ button: 'left' });
  await page.mouse.move(cx + 200, cy + 20, { steps: 10 });
  await page.mouse.up({ button: 'left' });
  await page.waitForTimeout(300);
  const after = await page.evaluate(() => window.rendercast.call('camera.get'));
  result.yaw = [before.yaw, after.yaw];
  if (Math.abs(after.yaw - before.yaw) < 10) fail(`drag did not orbit the camera: yaw ${before.yaw} -> ${after.yaw}`);

  // Picking red in the colour picker turns the video's background red.
  await page.locator('#bg').fill('#ff0000');
  await page.waitForFunction(() => {
    const p = window.rendercast.pixel(16, 16);
    return p[0] > 190 && p[1] < 70 && p[2] < 70;
  }, null, { timeout: 10000, polling: 100 }).catch(async () => {
    const p = await page.evaluate(() => window.rendercast.pixel(16, 16));
    fail(`video not red 10 s after picking red: pixel ${p}`);
  });
  result.redPixel = await page.evaluate(() => window.rendercast.pixel(16, 16));

  // Call-to-frame latency as the page measures it (it puts the picked colour back after).
  if (latencyN > 0) {
    result.latency = await page.evaluate((n) => window.rendercast.measureLatency(n), latencyN);
    if (!result.latency.n) fail('latency: no colour change was seen in the video');
  }
  await page.waitForTimeout(1200); // let the live figures refresh for the picture
  await page.screenshot({ path: screenshot });
  result.stats = await page.evaluate(() => window.rendercast.stats());
  result.ok = true;
  console.log(JSON.stringify(result));
} catch (e) {
  result.ok = false;
  result.error = String(e && e.message || e);
  console.log(JSON.stringify(result));
  console.error(result.error);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
