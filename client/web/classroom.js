// The classroom page, /class/<class-id>?token=...: joins the class by WHEP, plays the lesson
// full-window with sound, shows a small live panel from getStats(), lets the classroom pick a
// simulcast layer, and reconnects by itself. When it cannot join it says why, in plain words.
//
// State for people is on the page; state for tests and support is on window.classroom:
//   state      'joining' | 'connecting' | 'playing' | 'waiting' (class not live) |
//              'reconnecting' | 'error' (a person must act)
//   error      {title, detail, code, relay} of the last failure, or null
//   stats      the last inboundSummary() (stats.js), joins, resource, layer, pc, signal

import {
  RelayError, backoffMs, endSession, exchange, explain, preferCodecs, setLayer,
} from './whip.js';
import { Signal } from './signal.js';
import { fmtKbps, fmtRes, inboundSummary } from './stats.js';

const $ = (id) => document.getElementById(id);
const video = $('video');

const params = new URLSearchParams(location.search);
const pathId = decodeURIComponent(location.pathname.split('/')[2] || '');
const LAYERS = { auto: 'Auto (best)', h: 'H (high)', m: 'M (medium)', l: 'L (low)' };

const app = {
  classId: pathId || params.get('class') || '',
  token: params.get('token') || '',
  state: 'joining',
  error: null,
  stats: null,
  joins: 0,
  layer: LAYERS[params.get('layer')] ? params.get('layer') : 'auto',
  resource: '',
  pc: null,
};
window.classroom = app;

const WAITING_RETRY_MS = 5000; // class not live: look again this often
const CONNECT_TIMEOUT_MS = 15000; // answer received, ICE/DTLS not up yet
const DISCONNECT_GRACE_MS = 4000; // ICE 'disconnected' this long counts as lost
const SILENCE_MS = 5000; // connected but no byte received this long counts as lost

let generation = 0; // each join attempt; callbacks of older attempts do nothing
let attempts = 0; // failures since the last good connection, for the backoff
let retryTimer = 0;
let countdownTimer = 0;
let connectTimer = 0;
let disconnectTimer = 0;
let lastBytes = -1;
let lastBytesAt = 0;

// ---- showing state ---------------------------------------------------------------------------

function setState(state) {
  app.state = state;
  document.body.dataset.state = state;
  const words = {
    joining: 'joining', connecting: 'connecting', playing: 'live', waiting: 'waiting for the teacher',
    reconnecting: 'reconnecting', error: 'not connected',
  };
  $('conn-state').textContent = words[state] || state;
  $('live-dot').className = `dot ${state === 'playing' ? 'live' : state === 'error' ? 'bad' : 'wait'}`;
  if (state === 'playing') $('status').hidden = true;
}

function showMessage(title, detail = '', code = '') {
  $('status').hidden = false;
  $('status-title').textContent = title;
  $('status-detail').textContent = detail;
  $('status-code').textContent = code;
}

// ---- joining and leaving --------------------------------------------------------------------

function clearTimers() {
  for (const t of [retryTimer, connectTimer, disconnectTimer]) clearTimeout(t);
  clearInterval(countdownTimer);
  retryTimer = connectTimer = disconnectTimer = countdownTimer = 0;
}

function teardown() {
  clearTimers();
  if (app.pc) {
    app.pc.ontrack = null;
    app.pc.onconnectionstatechange = null;
    app.pc.close();
    app.pc = null;
  }
  if (app.resource) endSession(app.resource, app.token);
  app.resource = '';
  lastBytes = -1;
}

async function join() {
  const gen = ++generation;
  teardown();
  app.joins++;
  setState('joining');
  if (!app.error) showMessage('Joining the class…', `Class “${app.classId}”`);
  $('retry').hidden = true;

  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  app.pc = pc;
  const stream = new MediaStream();
  preferCodecs(pc.addTransceiver('video', { direction: 'recvonly' }));
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.ontrack = (e) => {
    stream.addTrack(e.track);
    if (video.srcObject !== stream) video.srcObject = stream;
    startPlayback();
  };
  pc.onconnectionstatechange = () => onConnectionState(gen, pc);

  try {
    const url = `${location.origin}/whep/${encodeURIComponent(app.classId)}`;
    const resource = await exchange(url, pc, { token: app.token });
    if (gen !== generation) {
      endSession(resource, app.token);
      return;
    }
    app.resource = resource;
  } catch (e) {
    if (gen === generation) fail(e);
    return;
  }
  setState('connecting');
  connectTimer = setTimeout(() => {
    if (gen === generation && pc.connectionState !== 'connected') {
      fail(new RelayError('media', `ICE/DTLS did not connect within ${CONNECT_TIMEOUT_MS / 1000} s`));
    }
  }, CONNECT_TIMEOUT_MS);
  if (app.layer !== 'auto') requestLayer(app.layer);
}

function onConnectionState(gen, pc) {
  if (gen !== generation) return;
  const s = pc.connectionState;
  if (s === 'connected') {
    clearTimeout(connectTimer);
    clearTimeout(disconnectTimer);
    disconnectTimer = 0;
    lastBytesAt = Date.now();
  } else if (s === 'failed') {
    fail(new RelayError('media', 'the connection to the relay failed'));
  } else if (s === 'disconnected' && !disconnectTimer) {
    disconnectTimer = setTimeout(() => {
      if (gen === generation) fail(new RelayError('media', 'the connection to the relay was lost'));
    }, DISCONNECT_GRACE_MS);
  }
}

/** A failed join or a lost connection: explain it, and try again unless a person must act. */
function fail(err) {
  teardown();
  const info = explain(err);
  const lostAfterPlaying = app.state === 'playing';
  app.error = info;
  const code = info.code ? `Relay code ${info.code}: ${info.relay}` : '';
  let title = info.title;
  if (lostAfterPlaying && err.kind === 'media') title = 'The connection to the class was lost.';
  if (info.retry === 'never') {
    setState('error');
    showMessage(title, info.detail, code);
    $('retry').hidden = false;
    return;
  }
  const delay = info.retry === 'waiting' ? WAITING_RETRY_MS : backoffMs(attempts++);
  setState(info.retry === 'waiting' ? 'waiting' : 'reconnecting');
  const until = Date.now() + delay;
  const tick = () => {
    const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    const again = info.retry === 'waiting' ? `Looking again in ${s} s.` : `Reconnecting in ${s} s.`;
    showMessage(title, `${info.detail.replace(/ ?Retrying\.\.\.$/, '')} ${again}`.trim(), code);
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
  retryTimer = setTimeout(join, delay);
}

// ---- playback ----------------------------------------------------------------------------------

// Autoplay with sound needs a user gesture unless the browser is told otherwise: try with sound,
// fall back to muted playback and offer a button.
async function startPlayback() {
  try {
    video.muted = false;
    await video.play();
    $('unmute').hidden = true;
  } catch (e) {
    if (e.name !== 'NotAllowedError') return; // AbortError: a newer srcObject took over
    video.muted = true;
    $('unmute').hidden = false;
    try {
      await video.play();
    } catch { /* shown by the status overlay */ }
  }
}

$('unmute').addEventListener('click', () => {
  video.muted = false;
  video.play().catch(() => {});
  $('unmute').hidden = true;
});

// ---- layer selector ----------------------------------------------------------------------------

function showLayer() {
  for (const b of document.querySelectorAll('[data-layer]')) {
    b.setAttribute('aria-pressed', String(b.dataset.layer === app.layer));
  }
}

async function requestLayer(layer) {
  app.layer = layer;
  showLayer();
  if (!app.resource) return; // applied after the next join
  $('layer-note').textContent = `Asking the relay for ${LAYERS[layer]}…`;
  try {
    await setLayer(app.resource, layer === 'auto' ? '' : layer, app.token);
    $('layer-note').textContent = layer === 'auto' ? 'The relay sends the best layer.'
      : 'Switches at the next keyframe.';
  } catch (e) {
    $('layer-note').textContent = `The relay did not switch: ${e.message}`;
  }
}

for (const b of document.querySelectorAll('[data-layer]')) {
  b.addEventListener('click', () => requestLayer(b.dataset.layer));
}

// ---- live panel and watchdog -------------------------------------------------------------------

async function tick() {
  const pc = app.pc;
  if (!pc || pc.connectionState !== 'connected') return;
  let s;
  try {
    s = await inboundSummary(pc, app.stats);
  } catch {
    return;
  }
  if (pc !== app.pc) return;
  app.stats = s;
  const bytes = s.videoBytes + s.audioBytes;
  if (bytes !== lastBytes) {
    lastBytes = bytes;
    lastBytesAt = s.at;
  } else if (s.at - lastBytesAt > SILENCE_MS) {
    fail(new RelayError('media', `nothing received from the relay for ${SILENCE_MS / 1000} s`));
    return;
  }
  if (s.framesDecoded > 0 && app.state !== 'playing') {
    attempts = 0;
    app.error = null;
    setState('playing');
  }
  $('s-res').textContent = fmtRes(s.width, s.height);
  $('s-fps').textContent = s.fps ? `${Math.round(s.fps)} fps` : '–';
  $('s-kbps').textContent = `${fmtKbps(s.kbps)}${s.codec ? ` · ${s.codec}` : ''}`;
  $('s-lost').textContent = String(s.packetsLost);
  $('s-rtt').textContent = s.rttMs == null ? '–' : `${s.rttMs} ms`;
  $('s-layer').textContent = `${LAYERS[app.layer]}${s.height ? ` · ${s.height}p` : ''}`;
}

setInterval(tick, 1000);

// ---- page ----------------------------------------------------------------------------------------

$('class-name').textContent = app.classId || '(no class)';
document.title = `${app.classId} · Classroom`;
showLayer();

$('retry').addEventListener('click', () => {
  attempts = 0;
  app.error = null;
  join();
});

$('panel-toggle').addEventListener('click', () => {
  const body = $('panel-body');
  body.hidden = !body.hidden;
  $('panel-toggle').textContent = body.hidden ? '+' : '–';
});

document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement) return;
  if (e.key === 'i') $('panel-toggle').click();
  if (e.key === 'f') (document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen()).catch(() => {});
  if (e.key === 'm') { video.muted = !video.muted; $('unmute').hidden = !video.muted; }
});
video.addEventListener('dblclick', () => document.documentElement.requestFullscreen().catch(() => {}));

// Where the relay has WebSocket signaling, the classroom is listed in the class (the teacher sees
// it), and a class going live is joined at once instead of at the next look.
function onSignal(m) {
  if (m.type === 'class_state' && m.state === 'live' && app.state === 'waiting') {
    attempts = 0;
    join();
  } else if (m.type === 'kicked') {
    generation++;
    teardown();
    setState('error');
    showMessage('You were removed from this class.', '', 'Relay code 4038');
  }
}

// Leave the class properly when the page goes away (DELETE with keepalive).
window.addEventListener('pagehide', () => {
  generation++;
  teardown();
  if (app.signal) app.signal.close();
});

if (!window.RTCPeerConnection) {
  setState('error');
  showMessage('This browser cannot receive live video (no WebRTC).', 'Use a current Chrome, Edge or Firefox.');
} else if (!app.classId) {
  setState('error');
  showMessage('This link names no class.', 'A classroom link looks like /class/<class-id>?token=...');
} else {
  app.signal = new Signal(app.classId, app.token, { onMessage: onSignal });
  app.signal.connect();
  join();
}
