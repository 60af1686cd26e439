// WHIP (RFC 9725) and WHEP for the classroom and teacher pages: one non-trickle offer/answer over
// HTTP with a bearer token, the session's DELETE, the layer selector, and plain-language
// explanations of everything that can go wrong, keyed by the relay's numbered error codes
// (README "HTTP interface", docs/PROTOCOL.md section 6).

/** Why a join failed. kind: 'refused' (the relay answered with an error), 'unreachable' (no HTTP
 *  answer at all), 'media' (signalling worked, ICE/DTLS or media did not), 'browser'. */
export class RelayError extends Error {
  constructor(kind, message, { code = 0, status = 0 } = {}) {
    super(message);
    this.name = 'RelayError';
    this.kind = kind;
    this.code = code;
    this.status = status;
  }
}

/** Resolves once ICE gathering is complete (the relay takes no trickled candidates), or after
 *  timeoutMs with whatever was gathered: a host candidate comes at once, and a slow STUN/TURN
 *  server must not hold the join up. */
export function waitIceGathering(pc, timeoutMs = 3000) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') { resolve(); return; }
    const finish = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') finish(); };
    const timer = setTimeout(finish, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Turns a non-2xx answer into a RelayError with the relay's code and message. */
async function refusal(res) {
  let code = 0;
  let message = `${res.status} ${res.statusText}`;
  try {
    const text = await res.text();
    try {
      const doc = JSON.parse(text);
      if (doc && doc.error) {
        code = Number(doc.error.code) || 0;
        message = String(doc.error.message || message);
      }
    } catch {
      if (text.trim()) message = text.trim().slice(0, 300);
    }
  } catch { /* the body is a nicety */ }
  return new RelayError('refused', message, { code, status: res.status });
}

async function request(url, init, timeoutMs) {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new RelayError('unreachable', e && e.name === 'TimeoutError'
      ? `no answer within ${timeoutMs / 1000} s` : String((e && e.message) || e));
  }
}

/**
 * Runs one WHIP or WHEP exchange on pc (transceivers already added): creates the offer, waits for
 * ICE gathering, POSTs it to url and applies the answer. Returns the session's absolute resource
 * URL (from Location). Throws RelayError.
 */
export async function exchange(url, pc, { token = '', timeoutMs = 10000 } = {}) {
  await pc.setLocalDescription(await pc.createOffer());
  await waitIceGathering(pc);
  const res = await request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...authHeaders(token) },
    body: pc.localDescription.sdp,
  }, timeoutMs);
  if (res.status !== 201 && res.status !== 200) throw await refusal(res);
  const answer = await res.text();
  const location = res.headers.get('Location');
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  return location ? new URL(location, url).href : '';
}

/** Ends a session (DELETE). keepalive lets it go out while the page unloads; errors are ignored:
 *  the relay drops a silent session after its consent timeout anyway. */
export function endSession(resourceUrl, token = '') {
  if (!resourceUrl) return Promise.resolve();
  return fetch(resourceUrl, { method: 'DELETE', headers: authHeaders(token), keepalive: true })
    .then(() => undefined, () => undefined);
}

/** Asks the relay for simulcast layer rid ('h', 'm', 'l', or '' for the best) on a WHEP session. */
export async function setLayer(resourceUrl, rid, token = '') {
  const res = await request(`${resourceUrl}/layer`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain', ...authHeaders(token) },
    body: rid || 'auto',
  }, 5000);
  if (!res.ok) throw await refusal(res);
}

/**
 * Limits a video transceiver to what the relay forwards, best first: H.264 packetization-mode 1
 * Constrained Baseline (every classroom decoder and the relay's first choice), other H.264 mode 1,
 * then VP8, each with its rtx. This also keeps the offer small: Chromium lists over 30 video
 * payload types by default, more than the relay's SDP parser takes (CR_SDP_MAX_CODECS).
 */
export function preferCodecs(transceiver) {
  if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
  const caps = (RTCRtpReceiver.getCapabilities('video') || { codecs: [] }).codecs;
  const rank = (c) => {
    const t = c.mimeType.toLowerCase();
    const f = c.sdpFmtpLine || '';
    if (t === 'video/h264' && /packetization-mode=1/.test(f)) return /profile-level-id=42e01f/i.test(f) ? 0 : 1;
    if (t === 'video/vp8') return 2;
    return 3;
  };
  const sorted = caps.filter((c) => rank(c) < 3).sort((a, b) => rank(a) - rank(b));
  if (sorted.length === 0) return;
  try {
    transceiver.setCodecPreferences([...sorted, ...caps.filter((c) => /rtx$/i.test(c.mimeType))]);
  } catch { /* the browser's own order is the fallback */ }
}

// Plain-language explanations. retry: 'never' (a person must act: the link is wrong),
// 'waiting' (the class will start: try again every few seconds), 'backoff' (a fault that passes).
const CODES = {
  4001: ['The class name in this link is not valid.', 'Check the link: a class id is 1-64 letters, digits, "-" or "_".', 'never'],
  4011: ['This link has no access token.', 'Ask your school for the full link; it ends in "?token=...".', 'never'],
  4012: ['The access token in this link is not valid.', 'Ask your school for a new link.', 'never'],
  4013: ['The access token in this link has expired.', 'Ask your school for a new link.', 'never'],
  4031: ['This access token is for a different class.', 'Ask your school for the link of this class.', 'never'],
  4032: ['Your role may not do this in this class.', '', 'never'],
  4033: ['This classroom is not invited to this class.', 'Ask the anchor school to add it.', 'never'],
  4036: ['A classroom may publish only when its raised hand was accepted.', '', 'never'],
  4037: ['This class belongs to another teacher.', 'Use the teacher link made for you.', 'never'],
  4038: ['You were removed from this class.', '', 'never'],
  4042: ['The class is not live yet.', 'The teacher has not started it (or it has ended). This page joins by itself as soon as it starts.', 'waiting'],
  4044: ['There is no such class.', 'Check the link.', 'never'],
  4061: ['This browser and the relay have no video or audio format in common.', 'Use a current Chrome, Edge or Firefox.', 'never'],
  4091: ['Another teacher is already broadcasting this class.', '', 'never'],
  4092: ['This class has ended.', '', 'never'],
  5031: ['The class is full.', 'It has reached its limit of classrooms. Retrying...', 'backoff'],
  5032: ['The relay is full.', 'It has reached its limit of sessions. Retrying...', 'backoff'],
  5033: ['The relay is full.', 'Too many participants. Retrying...', 'backoff'],
};

/** {title, detail, retry, code} for an error, for a person in front of the page. */
export function explain(err, relayHost = location.host) {
  if (!(err instanceof RelayError)) {
    return { title: 'Something went wrong in this page.', detail: String((err && err.message) || err), retry: 'backoff', code: 0 };
  }
  if (err.kind === 'unreachable') {
    return {
      title: 'The relay cannot be reached.',
      detail: `No answer from ${relayHost} (${err.message}). Check this computer's network connection. Retrying...`,
      retry: 'backoff', code: 0,
    };
  }
  if (err.kind === 'media') {
    return {
      title: 'Connected to the relay, but no video can flow.',
      detail: `${err.message}. A firewall may block UDP to the relay. Retrying...`,
      retry: 'backoff', code: 0,
    };
  }
  if (err.kind === 'browser') {
    return { title: err.message, detail: '', retry: 'never', code: 0 };
  }
  const known = CODES[err.code];
  if (known) {
    return { title: known[0], detail: known[1], retry: known[2], code: err.code, relay: err.message };
  }
  const transient = err.status >= 500 || err.status === 0 || err.status === 429;
  return {
    title: transient ? 'The relay had a problem.' : 'The relay refused the connection.',
    detail: transient ? 'Retrying...' : '',
    retry: transient ? 'backoff' : 'never', code: err.code, relay: err.message,
  };
}

/** Reconnect delays: 1, 2, 4, 8, then 10 s (the GStreamer client's schedule). */
export function backoffMs(attempt) {
  return Math.min(10000, 1000 * 2 ** Math.min(attempt, 4));
}
