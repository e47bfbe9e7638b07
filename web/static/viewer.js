// Rendercast browser viewer: WHEP playback, data-channel calls, mouse steering, live
// figures and call-to-frame latency. Plain JavaScript, no dependencies. window.rendercast
// is the page's API for tests and tools.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const video = $('video');
  const params = new URLSearchParams(location.search);

  const st = {
    pc: null, dc: null, sessionURL: null, scene: params.get('scene') || 'demo',
    token: params.get('token') || '', nextId: 1, pending: new Map(),
    // ?session=NAME joins a shared session; ?control_token=T may steer it.
    session: params.get('session') || '', controlToken: params.get('control_token') || '',
    frames: 0, lastFrames: 0, lastBytes: 0, lastStatsAt: 0,
    rtts: [], stats: {}, latency: null, measuring: false, rtmpBase: '',
    readyResolve: null,
    // A private session follows the video element's size (?autosize=0 keeps the server's).
    autosize: params.get('autosize') !== '0', sizeTimer: null, requestedSize: null, sizeError: '',
  };
  let ready = new Promise((r) => { st.readyResolve = r; });

  function setState(text, cls) {
    const el = $('state');
    el.textContent = text;
    el.className = cls || '';
  }
  function showError(msg) { $('error').textContent = msg || ''; }

  // ---- WHEP ----

  function authHeaders(extra) {
    const h = Object.assign({}, extra);
    if (st.token) h['Authorization'] = 'Bearer ' + st.token;
    return h;
  }

  // iceServersFromLinks reads WHEP Link headers (rel="ice-server") into RTCIceServer objects.
  function iceServersFromLinks(headers) {
    const out = [];
    const link = headers.get('Link');
    if (!link) return out;
    for (const part of link.split(/,(?=\s*<)/)) {
      const m = part.match(/<([^>]+)>(.*)/);
      if (!m || !/rel="ice-server"/.test(m[2])) continue;
      const s = { urls: m[1] };
      const u = m[2].match(/username="([^"]*)"/);
      const c = m[2].match(/credential="([^"]*)"/);
      if (u) s.username = u[1];
      if (c) s.credential = c[1];
      out.push(s);
    }
    return out;
  }

  function gatheringComplete(pc, ms) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
      });
    });
  }

  async function disconnect() {
    const { pc, sessionURL } = st;
    st.pc = null; st.dc = null; st.sessionURL = null;
    for (const p of st.pending.values()) p.reject(new Error('disconnected'));
    st.pending.clear();
    if (pc) pc.close();
    if (sessionURL) {
      try { await fetch(sessionURL, { method: 'DELETE', headers: authHeaders(), keepalive: true }); } catch (e) { /* gone */ }
    }
  }

  async function connect(scene) {
    await disconnect();
    if (scene) st.scene = scene;
    ready = new Promise((r) => { st.readyResolve = r; });
    showError('');
    setState('connecting…');
    const q = new URLSearchParams();
    if (st.session) q.set('session', st.session);
    if (st.controlToken) q.set('control_token', st.controlToken);
    const url = '/whep/' + encodeURIComponent(st.scene) + (q.toString() ? '?' + q.toString() : '');
    let iceServers = [];
    try {
      const pre = await fetch(url, { method: 'OPTIONS' });
      iceServers = iceServersFromLinks(pre.headers);
    } catch (e) { /* no preflight: host candidates only */ }

    const pc = new RTCPeerConnection({ iceServers });
    st.pc = pc;
    const tr = pc.addTransceiver('video', { direction: 'recvonly' });
    // Render each frame as soon as it is decoded: this is an interactive view.
    if ('jitterBufferTarget' in tr.receiver) tr.receiver.jitterBufferTarget = 0;
    else if ('playoutDelayHint' in tr.receiver) tr.receiver.playoutDelayHint = 0;
    pc.ontrack = (e) => {
      video.srcObject = e.streams[0] || new MediaStream([e.track]);
      video.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      if (pc !== st.pc) return;
      setState(s === 'connected' ? 'playing ' + st.scene : s, s === 'connected' ? 'ok' : (s === 'failed' ? 'err' : ''));
    };
    const dc = pc.createDataChannel('calls', { ordered: true });
    st.dc = dc;
    dc.onmessage = (e) => onAnswer(e.data);
    dc.onopen = () => afterOpen();

    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, 3000);
    const resp = await fetch(url, {
      method: 'POST', headers: authHeaders({ 'Content-Type': 'application/sdp' }), body: pc.localDescription.sdp,
    });
    if (resp.status !== 201) {
      const text = (await resp.text()).trim();
      setState('refused', 'err');
      if (resp.status === 401) $('tokenRow').hidden = false;
      showError('WHEP ' + resp.status + ': ' + text);
      pc.close();
      throw new Error('WHEP ' + resp.status + ': ' + text);
    }
    st.sessionURL = new URL(resp.headers.get('Location'), location.href).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
    updateRTMP();
    if (location.hash !== '#' + st.scene) history.replaceState(null, '', location.pathname + location.search + '#' + st.scene);
  }

  async function afterOpen() {
    try {
      const names = await call('scene.list');
      fillScenes(names);
    } catch (e) { showError(e.message); }
    const once = () => { st.readyResolve(); };
    if (st.frames > 0) once(); else video.requestVideoFrameCallback(() => once());
    st.requestedSize = null;
    followSize();
  }

  // ---- picture size: a private session follows the video element ----

  // Largest size the page asks for; the server caps it again at its -max-size.
  const maxAutoWidth = 1920, maxAutoHeight = 1080;

  // wantedSize is the video element's size in device pixels, capped (keeping its aspect)
  // and rounded to even numbers.
  function wantedSize() {
    const r = video.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    let w = r.width * dpr, h = r.height * dpr;
    if (!(w >= 64 && h >= 64)) return null;
    const f = Math.min(1, maxAutoWidth / w, maxAutoHeight / h);
    const even = (x) => Math.max(64, 2 * Math.round(x * f / 2));
    return { width: even(w), height: even(h) };
  }

  // followSize asks for the element's size, 500 ms after its last change, when the
  // session is private (a shared session's size is everyone's).
  function followSize() {
    if (!st.autosize || st.session) return;
    clearTimeout(st.sizeTimer);
    st.sizeTimer = setTimeout(() => {
      const want = wantedSize();
      const last = st.requestedSize;
      if (!want || (last && last.width === want.width && last.height === want.height)) return;
      st.requestedSize = want;
      call('stream.setSize', want).then(() => { st.sizeError = ''; }).catch((e) => { st.sizeError = e.message; });
    }, 500);
  }
  new ResizeObserver(() => followSize()).observe(video);
  addEventListener('resize', () => followSize());

  // ---- calls over the data channel ----

  function call(name, args) {
    return new Promise((resolve, reject) => {
      const dc = st.dc;
      if (!dc || dc.readyState !== 'open') { reject(new Error('not connected')); return; }
      const id = st.nextId++;
      st.pending.set(id, { resolve, reject, t0: performance.now() });
      dc.send(JSON.stringify({ id, name, args: args || {} }));
    });
  }

  function onAnswer(data) {
    let m;
    try { m = JSON.parse(data); } catch (e) { return; }
    const p = st.pending.get(m.id);
    if (!p) return;
    st.pending.delete(m.id);
    st.rtts.push(performance.now() - p.t0);
    if (st.rtts.length > 50) st.rtts.shift();
    if (m.ok) p.resolve(m.result); else p.reject(new Error(m.error));
  }

  // ---- mouse: input.pointer ----

  function videoXY(e) {
    const r = video.getBoundingClientRect();
    const w = video.videoWidth || r.width, h = video.videoHeight || r.height;
    return { x: (e.clientX - r.left) * w / r.width, y: (e.clientY - r.top) * h / r.height };
  }
  function pointer(type, e, extra) {
    const p = videoXY(e);
    call('input.pointer', Object.assign({ type, x: p.x, y: p.y }, extra)).catch(() => {});
  }
  video.addEventListener('contextmenu', (e) => e.preventDefault());
  video.addEventListener('pointerdown', (e) => {
    video.setPointerCapture(e.pointerId);
    pointer('down', e, { button: e.button <= 2 ? e.button : 0 });
    e.preventDefault();
  });
  video.addEventListener('pointermove', (e) => { if (e.buttons) pointer('move', e); });
  video.addEventListener('pointerup', (e) => { pointer('up', e); });
  video.addEventListener('wheel', (e) => {
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 33 : (e.deltaMode === 2 ? 400 : 1);
    pointer('wheel', e, { delta: e.deltaY * unit });
  }, { passive: false });

  // ---- controls ----

  function fillScenes(names) {
    const sel = $('scene');
    sel.textContent = '';
    for (const n of names || []) {
      const o = document.createElement('option');
      o.value = o.textContent = n;
      sel.appendChild(o);
    }
    sel.value = st.scene;
  }
  $('scene').addEventListener('change', async (e) => {
    const name = e.target.value;
    try {
      await call('scene.load', { name });
      st.scene = name;
      updateRTMP();
      setState('playing ' + name, 'ok');
      history.replaceState(null, '', location.pathname + location.search + '#' + name);
    } catch (err) { showError(err.message); }
  });
  function hexToRGB(hex) {
    const n = parseInt(hex.slice(1), 16);
    return { r: ((n >> 16) & 255) / 255, g: ((n >> 8) & 255) / 255, b: (n & 255) / 255 };
  }
  $('bg').addEventListener('input', (e) => { call('scene.setBackground', hexToRGB(e.target.value)).catch((err) => showError(err.message)); });
  $('reset').addEventListener('click', () => call('camera.reset').catch((err) => showError(err.message)));
  $('reconnect').addEventListener('click', () => connect().catch(() => {}));
  $('token').addEventListener('change', (e) => { st.token = e.target.value; connect().catch(() => {}); });
  $('measure').addEventListener('click', () => measureLatency(20).catch((err) => showError(err.message)));
  $('copy').addEventListener('click', async () => {
    const el = $('rtmp');
    try { await navigator.clipboard.writeText(el.value); } catch (e) { el.select(); document.execCommand('copy'); }
  });
  function updateRTMP() {
    const base = st.rtmpBase || ('rtmp://' + location.hostname + ':1935/live/');
    const q = new URLSearchParams();
    if (st.session) q.set('session', st.session);
    if (st.token) q.set('token', st.token);
    $('rtmp').value = base + st.scene + (q.toString() ? '?' + q.toString() : '');
  }

  // ---- frames and figures ----

  function onFrame() {
    st.frames++;
    video.requestVideoFrameCallback(onFrame);
  }
  video.requestVideoFrameCallback(onFrame);

  async function sampleStats() {
    const pc = st.pc;
    const now = performance.now();
    const dt = (now - st.lastStatsAt) / 1000;
    const fps = st.lastStatsAt ? (st.frames - st.lastFrames) / dt : 0;
    st.lastFrames = st.frames;
    let bytes = st.lastBytes, rtt = null, size = '', jb = null, dec = null;
    if (pc) {
      const report = await pc.getStats();
      report.forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') {
          bytes = r.bytesReceived;
          if (r.frameWidth) size = r.frameWidth + '×' + r.frameHeight;
          // Per-frame jitter-buffer and decode time over the last second.
          const p = st.lastInbound;
          if (p && r.jitterBufferEmittedCount > p.jitterBufferEmittedCount) {
            jb = 1000 * (r.jitterBufferDelay - p.jitterBufferDelay) / (r.jitterBufferEmittedCount - p.jitterBufferEmittedCount);
          }
          if (p && r.framesDecoded > p.framesDecoded) dec = 1000 * (r.totalDecodeTime - p.totalDecodeTime) / (r.framesDecoded - p.framesDecoded);
          st.lastInbound = { jitterBufferDelay: r.jitterBufferDelay, jitterBufferEmittedCount: r.jitterBufferEmittedCount, totalDecodeTime: r.totalDecodeTime, framesDecoded: r.framesDecoded };
        }
        if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded' && r.currentRoundTripTime !== undefined) rtt = r.currentRoundTripTime * 1000;
      });
    }
    const kbps = st.lastStatsAt && bytes >= st.lastBytes ? (bytes - st.lastBytes) * 8 / 1000 / dt : 0;
    st.lastBytes = bytes;
    st.lastStatsAt = now;
    const callRTT = st.rtts.length ? median(st.rtts) : null;
    st.stats = { fps, kbps, size, callRTT, networkRTT: rtt, jitterBufferMs: jb, decodeMs: dec, frames: st.frames };
    $('fps').textContent = fps.toFixed(1);
    $('bitrate').textContent = kbps >= 1000 ? (kbps / 1000).toFixed(2) + ' Mbit/s' : kbps.toFixed(0) + ' kbit/s';
    $('size').textContent = size || '–';
    $('rtt').textContent = callRTT === null ? '–' : callRTT.toFixed(1) + ' ms';
    $('netrtt').textContent = rtt === null ? '–' : rtt.toFixed(1) + ' ms';
    $('jb').textContent = jb === null ? '–' : jb.toFixed(1) + ' ms';
    $('dec').textContent = dec === null ? '–' : dec.toFixed(1) + ' ms';
  }
  async function sampleServer() {
    try {
      const s = await call('stream.stats');
      const b = s && s.connection && s.connection.bitrate_bps;
      if (b) $('target').textContent = (b / 1e6).toFixed(2) + ' Mbit/s';
    } catch (e) { /* not connected */ }
  }
  setInterval(() => { sampleStats().catch(() => {}); }, 1000);
  setInterval(sampleServer, 3000);

  // ---- call-to-frame latency ----

  const probe = document.createElement('canvas');
  probe.width = probe.height = 8;
  const probeCtx = probe.getContext('2d', { willReadFrequently: true });

  // pixel returns the RGB of the video frame now shown at (x, y) in video pixels.
  function pixel(x, y) {
    probeCtx.drawImage(video, x, y, 1, 1, 0, 0, 1, 1);
    const d = probeCtx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2]];
  }

  function median(a) { return quantile(a, 0.5); }
  function quantile(a, q) {
    const s = [...a].sort((x, y) => x - y);
    if (!s.length) return null;
    const i = (s.length - 1) * q, lo = Math.floor(i), hi = Math.ceil(i);
    return s[lo] + (s[hi] - s[lo]) * (i - lo);
  }

  // waitForColour resolves with the time of the first presented frame whose probe pixel
  // is within tolerance of rgb (0..255), or null after timeoutMs.
  function waitForColour(rgb, t0, timeoutMs) {
    return new Promise((resolve) => {
      const check = () => {
        const now = performance.now();
        const p = pixel(4, 4);
        if (Math.abs(p[0] - rgb[0]) < 64 && Math.abs(p[1] - rgb[1]) < 64 && Math.abs(p[2] - rgb[2]) < 64) { resolve(now); return; }
        if (now - t0 > timeoutMs) { resolve(null); return; }
        video.requestVideoFrameCallback(check);
      };
      video.requestVideoFrameCallback(check);
    });
  }

  // measureLatency sends n background changes and, for each, times the first video frame
  // that shows it (requestVideoFrameCallback + a pixel read of the top-left corner): the
  // delay from the call leaving the page to the frame being on the page.
  async function measureLatency(n) {
    if (st.measuring) throw new Error('a measurement is running');
    st.measuring = true;
    $('measure').disabled = true;
    const colours = [[255, 0, 0], [0, 0, 255], [0, 255, 0], [255, 0, 255], [0, 255, 255], [255, 255, 0]];
    const samples = [];
    let missed = 0;
    try {
      const before = hexToRGB($('bg').value);
      let k = 0;
      for (let i = 0; i < n; i++) {
        // The next colour in the list that the picture does not show already.
        const now = pixel(4, 4);
        let c = colours[k++ % colours.length];
        while (Math.abs(now[0] - c[0]) < 64 && Math.abs(now[1] - c[1]) < 64 && Math.abs(now[2] - c[2]) < 64) c = colours[k++ % colours.length];
        const t0 = performance.now();
        const seen = waitForColour(c, t0, 2000);
        call('scene.setBackground', { r: c[0] / 255, g: c[1] / 255, b: c[2] / 255 }).catch(() => {});
        const t = await seen;
        if (t === null) missed++; else samples.push(t - t0);
        $('latN').textContent = samples.length + (missed ? ' (' + missed + ' missed)' : '');
        $('latP50').textContent = samples.length ? median(samples).toFixed(1) + ' ms' : '–';
        // Spread the changes over the frame interval, so the samples do not all fall at
        // the same phase of the render loop.
        await new Promise((r) => setTimeout(r, 120 + Math.random() * 70));
      }
      await call('scene.setBackground', before).catch(() => {});
    } finally {
      st.measuring = false;
      $('measure').disabled = false;
    }
    st.latency = { p50: median(samples), p90: quantile(samples, 0.9), min: samples.length ? Math.min(...samples) : null,
      max: samples.length ? Math.max(...samples) : null, n: samples.length, missed, samples };
    $('latP50').textContent = st.latency.p50 === null ? '–' : st.latency.p50.toFixed(1) + ' ms';
    $('latP90').textContent = st.latency.p90 === null ? '–' : st.latency.p90.toFixed(1) + ' ms';
    return st.latency;
  }

  // ---- start ----

  async function start() {
    try {
      const s = await (await fetch('/status.json')).json();
      st.rtmpBase = s.rtmpURL || '';
      if (s.tokenRequired) $('tokenRow').hidden = false;
      fillScenes(s.scenes);
    } catch (e) { /* status is optional */ }
    if (location.hash.length > 1) st.scene = decodeURIComponent(location.hash.slice(1));
    $('token').value = st.token;
    updateRTMP();
    await connect();
  }
  addEventListener('pagehide', () => {
    if (st.sessionURL) fetch(st.sessionURL, { method: 'DELETE', headers: authHeaders(), keepalive: true }).catch(() => {});
  });

  window.rendercast = {
    get ready() { return ready; },
    call, connect, disconnect, measureLatency, pixel,
    framesPresented: () => st.frames,
    stats: () => st.stats,
    latency: () => st.latency,
    scene: () => st.scene,
    requestedSize: () => st.requestedSize,
    peerConnection: () => st.pc,
    sizeError: () => st.sizeError,
  };
  start().catch((e) => { setState('error', 'err'); showError(String(e.message || e)); });
})();
