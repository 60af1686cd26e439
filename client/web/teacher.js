// The teacher page, /teach/<class-id>?token=...: picks a camera and a microphone, previews them,
// and publishes the class by WHIP with three simulcast encodings (rid h, m, l: about 1080p, 720p
// and 360p), so each classroom can get the layer its link carries. Shows the outgoing bitrate of
// each layer, how many classrooms are watching (GET /api/status: the class's WHEP sessions), and,
// where the relay has WebSocket signaling (/ws), which classrooms are in the class.
//
// For tests and support, window.teacher holds: state ('idle' | 'preview' | 'starting' | 'live' |
// 'reconnecting' | 'stopped' | 'error'), error, stats (outboundSummary(), stats.js), watching,
// simulcast (the relay's answer accepted the layers), resource, pc.

import { RelayError, backoffMs, endSession, exchange, explain, preferCodecs } from './whip.js';
import { Signal } from './signal.js';
import { fmtKbps, fmtRes, outboundSummary } from './stats.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const app = {
  classId: decodeURIComponent(location.pathname.split('/')[2] || '') || params.get('class') || '',
  token: params.get('token') || '',
  state: 'idle',
  error: null,
  stats: null,
  watching: null,
  simulcast: null,
  resource: '',
  pc: null,
  stream: null,
};
window.teacher = app;

const QUALITY = { 1080: [1920, 1080], 720: [1280, 720] };
// h at the camera's size, m at 1/1.5 (1080p -> 720p), l at 1/3 (1080p -> 360p).
const ENCODINGS = [
  { rid: 'h', scaleResolutionDownBy: 1, maxBitrate: 2500000 },
  { rid: 'm', scaleResolutionDownBy: 1.5, maxBitrate: 1200000 },
  { rid: 'l', scaleResolutionDownBy: 3, maxBitrate: 400000 },
];
const CONNECT_TIMEOUT_MS = 15000;
const DISCONNECT_GRACE_MS = 4000;
const STATUS_POLL_MS = 2000;

let wanted = false; // the teacher pressed Start and not Stop
let generation = 0;
let attempts = 0;
let retryTimer = 0;
let connectTimer = 0;
let disconnectTimer = 0;

// ---- showing state ---------------------------------------------------------------------------

function setState(state) {
  app.state = state;
  document.body.dataset.state = state;
  const badge = $('badge');
  const words = {
    idle: 'No camera', preview: 'Preview', starting: 'Starting…', live: 'LIVE',
    reconnecting: 'Reconnecting…', stopped: 'Preview', error: 'Preview',
  };
  badge.textContent = words[state] || state;
  badge.className = `badge${state === 'live' ? ' live' : ''}`;
  const busy = state === 'starting' || state === 'live' || state === 'reconnecting';
  $('start').disabled = busy || !app.stream;
  $('stop').disabled = !busy;
  $('quality').disabled = busy;
}

function showMessage(text, info = false) {
  const m = $('message');
  m.hidden = !text;
  m.textContent = text || '';
  m.className = `message${info ? ' info' : ''}`;
}

// ---- devices -----------------------------------------------------------------------------------

function constraints() {
  const [width, height] = QUALITY[$('quality').value] || QUALITY[1080];
  const cam = $('camera').value;
  const mic = $('mic').value;
  return {
    video: {
      ...(cam ? { deviceId: { exact: cam } } : {}),
      width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 30 },
    },
    audio: {
      ...(mic ? { deviceId: { exact: mic } } : {}),
      echoCancellation: true, noiseSuppression: true, autoGainControl: true,
    },
  };
}

async function fillDeviceLists() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind, track] of [
    [$('camera'), 'videoinput', app.stream && app.stream.getVideoTracks()[0]],
    [$('mic'), 'audioinput', app.stream && app.stream.getAudioTracks()[0]],
  ]) {
    const current = track ? track.getSettings().deviceId : select.value;
    select.replaceChildren();
    let n = 0;
    for (const d of devices.filter((x) => x.kind === kind)) {
      n++;
      const o = new Option(d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${n}`, d.deviceId);
      o.selected = d.deviceId === current;
      select.add(o);
    }
  }
}

/** (Re)opens camera and microphone with the chosen devices and quality; swaps the tracks into a
 *  running broadcast without renegotiation. */
async function openDevices() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(constraints());
  } catch (e) {
    const why = e.name === 'NotAllowedError' ? 'Camera and microphone access was refused. Allow it in the browser (the icon in the address bar) and reload.'
      : e.name === 'NotFoundError' ? 'No camera or microphone was found.'
        : e.name === 'NotReadableError' ? 'The camera or microphone is in use by another program.'
          : `The camera or microphone cannot be opened (${e.name}: ${e.message}).`;
    showMessage(why);
    if (!app.stream) setState('idle');
    return;
  }
  const old = app.stream;
  app.stream = stream;
  $('preview').srcObject = stream;
  if (app.pc) {
    for (const sender of app.pc.getSenders()) {
      const kind = sender.track ? sender.track.kind : '';
      const next = stream.getTracks().find((t) => t.kind === kind);
      if (next) await sender.replaceTrack(next).catch(() => {});
    }
  }
  if (old) for (const t of old.getTracks()) t.stop();
  await fillDeviceLists();
  if (app.state === 'idle') setState('preview');
  else setState(app.state);
  if (app.state === 'preview') showMessage('');
}

// ---- publishing ----------------------------------------------------------------------------------

function clearTimers() {
  for (const t of [retryTimer, connectTimer, disconnectTimer]) clearTimeout(t);
  retryTimer = connectTimer = disconnectTimer = 0;
}

function closeSession() {
  clearTimers();
  if (app.pc) {
    app.pc.onconnectionstatechange = null;
    app.pc.close();
    app.pc = null;
  }
  if (app.resource) endSession(app.resource, app.token);
  app.resource = '';
  app.stats = null;
}

async function publish() {
  const gen = ++generation;
  closeSession();
  setState(attempts ? 'reconnecting' : 'starting');
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  app.pc = pc;
  const stream = app.stream;
  const video = stream.getVideoTracks()[0];
  const audio = stream.getAudioTracks()[0];
  if (video) {
    const simulcast = params.get('simulcast') !== '0';
    const tr = pc.addTransceiver(video, {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: simulcast ? ENCODINGS.map((e) => ({ ...e })) : [{ maxBitrate: 2500000 }],
    });
    preferCodecs(tr);
  }
  if (audio) pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] });
  pc.onconnectionstatechange = () => onConnectionState(gen, pc);
  try {
    const url = `${location.origin}/whip/${encodeURIComponent(app.classId)}`;
    const resource = await exchange(url, pc, { token: app.token });
    if (gen !== generation) {
      endSession(resource, app.token);
      return;
    }
    app.resource = resource;
    app.simulcast = /^a=simulcast:/m.test(pc.remoteDescription.sdp);
  } catch (e) {
    if (gen === generation) fail(e);
    return;
  }
  connectTimer = setTimeout(() => {
    if (gen === generation && pc.connectionState !== 'connected') {
      fail(new RelayError('media', `ICE/DTLS did not connect within ${CONNECT_TIMEOUT_MS / 1000} s`));
    }
  }, CONNECT_TIMEOUT_MS);
}

function onConnectionState(gen, pc) {
  if (gen !== generation) return;
  const s = pc.connectionState;
  $('conn').textContent = `Connection: ${s}`;
  if (s === 'connected') {
    clearTimeout(connectTimer);
    clearTimeout(disconnectTimer);
    disconnectTimer = 0;
    attempts = 0;
    app.error = null;
    setState('live');
    showMessage(app.simulcast === false
      ? 'Live. The relay takes one layer from this browser (no simulcast): every classroom gets the same video.' : '', true);
  } else if (s === 'failed') {
    fail(new RelayError('media', 'the connection to the relay failed'));
  } else if (s === 'disconnected' && !disconnectTimer) {
    disconnectTimer = setTimeout(() => {
      if (gen === generation) fail(new RelayError('media', 'the connection to the relay was lost'));
    }, DISCONNECT_GRACE_MS);
  }
}

function fail(err) {
  closeSession();
  const info = explain(err);
  app.error = info;
  const code = info.code ? ` (relay code ${info.code}: ${info.relay})` : '';
  if (!wanted || info.retry === 'never') {
    wanted = false;
    setState('error');
    showMessage(`${info.title} ${info.detail}${code}`.trim());
    return;
  }
  const delay = backoffMs(attempts++);
  setState('reconnecting');
  showMessage(`${info.title} ${info.detail.replace(/ ?Retrying\.\.\.$/, '')} Trying again in ${Math.round(delay / 1000)} s.${code}`);
  retryTimer = setTimeout(publish, delay);
}

function start() {
  wanted = true;
  attempts = 0;
  app.error = null;
  showMessage('');
  publish();
}

function stop() {
  wanted = false;
  generation++;
  closeSession();
  setState('stopped');
  showMessage('Broadcast stopped. Classrooms see “not live” until you start again.', true);
  renderLayers(null);
}

// ---- statistics --------------------------------------------------------------------------------

function renderLayers(s) {
  const body = $('layer-rows');
  const rows = s ? Object.values(s.layers).sort((a, b) => b.height - a.height || a.rid.localeCompare(b.rid)) : [];
  if (rows.length === 0) {
    body.innerHTML = '<tr><td colspan="5" class="muted">Not broadcasting.</td></tr>';
    $('totals').textContent = '';
    return;
  }
  body.replaceChildren(...rows.map((l) => {
    const tr = document.createElement('tr');
    const cells = [
      l.rid === '-' ? 'single' : l.rid,
      l.kbps || l.width ? fmtRes(l.width, l.height) : 'paused',
      l.fps ? `${Math.round(l.fps)} fps` : '–',
      fmtKbps(l.kbps),
      l.limitation,
    ];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.append(td);
    }
    return tr;
  }));
  const video = rows.reduce((k, l) => k + l.kbps, 0);
  $('totals').textContent = `Sending ${fmtKbps(video + s.audioKbps)} (video ${fmtKbps(video)}, audio ${fmtKbps(s.audioKbps)})`
    + `${s.rttMs == null ? '' : ` · round trip ${s.rttMs} ms`}${rows[0].encoder ? ` · ${rows[0].encoder}` : ''}`;
}

async function tick() {
  const pc = app.pc;
  if (!pc || pc.connectionState !== 'connected') return;
  try {
    const s = await outboundSummary(pc, app.stats);
    if (pc !== app.pc) return;
    app.stats = s;
    renderLayers(s);
  } catch { /* next second */ }
}

async function pollWatching() {
  try {
    const res = await fetch('/api/status', {
      headers: app.token ? { Authorization: `Bearer ${app.token}` } : {},
      signal: AbortSignal.timeout(STATUS_POLL_MS),
    });
    if (!res.ok) throw new Error(String(res.status));
    const doc = await res.json();
    const cls = (doc.classes || []).find((c) => c.id === app.classId);
    app.watching = cls ? cls.subscribers || 0 : 0;
    $('watching').textContent = String(app.watching);
  } catch {
    app.watching = null;
    $('watching').textContent = '?';
  }
}

// ---- who is in the class (WebSocket signaling) ---------------------------------------------------

function showRooms(signal) {
  $('rooms-box').hidden = !signal.available;
  const rooms = signal.byRole('classroom');
  if (rooms.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = signal.joined ? 'No classroom yet.' : 'Reconnecting…';
    $('rooms').replaceChildren(li);
    return;
  }
  $('rooms').replaceChildren(...rooms.map((p) => {
    const li = document.createElement('li');
    li.textContent = `${p.name || p.id}${p.school ? ` · ${p.school}` : ''}${p.hand ? ' · hand raised' : ''}`;
    return li;
  }));
}

// ---- page ----------------------------------------------------------------------------------------

$('title').textContent = `Teach · ${app.classId || '(no class)'}`;
document.title = `${app.classId} · Teach`;
$('start').addEventListener('click', start);
$('stop').addEventListener('click', stop);
$('camera').addEventListener('change', openDevices);
$('mic').addEventListener('change', openDevices);
$('quality').addEventListener('change', openDevices);
window.addEventListener('pagehide', () => {
  generation++;
  closeSession();
  if (app.signal) app.signal.close();
});
setInterval(tick, 1000);
setInterval(pollWatching, STATUS_POLL_MS);

const quality = params.get('quality');
if (QUALITY[quality]) $('quality').value = quality;
setState('idle');
if (!app.classId) {
  showMessage('This link names no class. A teacher link looks like /teach/<class-id>?token=...');
} else if (!navigator.mediaDevices || !window.RTCPeerConnection) {
  showMessage(window.isSecureContext
    ? 'This browser cannot send live video (no WebRTC). Use a current Chrome, Edge or Firefox.'
    : 'The browser allows the camera only on a secure page: open this page over https (or on localhost).');
} else {
  pollWatching();
  app.signal = new Signal(app.classId, app.token, {
    onChange: showRooms,
    onMessage: (m) => { if (/^participant_/.test(m.type)) pollWatching(); },
  });
  app.signal.connect();
  openDevices().then(() => {
    if (params.get('autostart') === '1' && app.stream) start();
  });
}
