// Drives Debian's chromium (headless) against the streamer's browser viewer and watches:
// every 250 ms it samples the video element's size and the receiver's figures (frames
// decoded and dropped, keyframes, PLI and FIR sent, decoder errors). With --set-size WxH it
// asks for that size over the data channel after --at seconds. Prints one JSON object on
// stdout; exits non-zero when the page does not play.
//
//   node watch.mjs --url 'http://127.0.0.1:8080/?session=x&autosize=0' --seconds 8 [--set-size 256x144 --at 3]
//   node watch.mjs --url http://127.0.0.1:8080/ --seconds 6 --viewport 640x480   (the page sizes itself)
//
// Run by cmd/streamer's still-frame and resize tests (go test); needs `npm ci` here first.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const url = arg('url');
const seconds = Number(arg('seconds', '8'));
const setSize = arg('set-size', '');
const at = Number(arg('at', '3'));
const [vw, vh] = arg('viewport', '1280x860').split('x').map(Number);
const executablePath = arg('chromium', '/usr/bin/chromium');
if (!url) {
  console.error('usage: node watch.mjs --url URL [--seconds N] [--set-size WxH --at S] [--viewport WxH] [--chromium PATH]');
  process.exit(2);
}

const result = { url, samples: [] };
const profile = mkdtempSync(join(tmpdir(), 'rendercast-chromium-'));
let browser;
try {
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: vw, height: vh },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
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

  await page.goto(url);
  await page.waitForFunction(() => window.rendercast !== undefined, null, { timeout: 10000 });
  await page.evaluate(() => window.rendercast.ready);

  const t0 = Date.now();
  let asked = false;
  while (Date.now() - t0 < seconds * 1000) {
    if (setSize && !asked && Date.now() - t0 >= at * 1000) {
      const [w, h] = setSize.split('x').map(Number);
      result.setSizeAnswer = await page.evaluate(([w, h]) => window.rendercast.call('stream.setSize', { width: w, height: h }), [w, h]);
      result.setSizeAt = (Date.now() - t0) / 1000;
      asked = true;
    }
    result.samples.push(await page.evaluate(async (t0) => {
      const v = document.getElementById('video');
      const s = { t: (Date.now() - t0) / 1000, w: v.videoWidth, h: v.videoHeight, presented: window.rendercast.framesPresented(), paused: v.paused, error: v.error ? v.error.message : '' };
      const pc = window.rendercast.peerConnection();
      if (pc) {
        for (const r of (await pc.getStats()).values()) {
          if (r.type === 'inbound-rtp' && r.kind === 'video') {
            Object.assign(s, { decoded: r.framesDecoded, dropped: r.framesDropped, keyframes: r.keyFramesDecoded, pli: r.pliCount, fir: r.firCount, lost: r.packetsLost });
          }
        }
      }
      return s;
    }, t0));
    await page.waitForTimeout(250);
  }
  result.requestedSize = await page.evaluate(() => window.rendercast.requestedSize());
  result.sizeError = await page.evaluate(() => window.rendercast.sizeError());
  result.ok = true;
  console.log(JSON.stringify(result));
} catch (e) {
  result.ok = false;
  result.error = String(e && e.message || e);
  console.log(JSON.stringify(result));
  console.error(result.error);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
