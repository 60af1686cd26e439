// Summaries of RTCPeerConnection.getStats() (W3C webrtc-stats) for the pages' live panels and for
// the browser tests, which read the same numbers through window.classroom / window.teacher.

function kbps(bytes, prevBytes, dtMs) {
  if (prevBytes == null || dtMs <= 0 || bytes < prevBytes) return 0;
  return Math.round(((bytes - prevBytes) * 8) / dtMs);
}

/** Round-trip time in ms on the transport in use (ICE consent checks), or null. */
function transportRtt(report) {
  let pairId = null;
  report.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
  });
  let rtt = null;
  report.forEach((r) => {
    if (r.type !== 'candidate-pair') return;
    const inUse = pairId ? r.id === pairId : r.nominated && r.state === 'succeeded';
    if (inUse && typeof r.currentRoundTripTime === 'number') rtt = Math.round(r.currentRoundTripTime * 1000);
  });
  return rtt;
}

/**
 * What a receiver gets: one video and one audio inbound-rtp. prev is the previous summary (for
 * rates), or null. Counters are as the browser reports them (cumulative for this connection).
 */
export async function inboundSummary(pc, prev) {
  const report = await pc.getStats();
  const at = Date.now();
  let v = null;
  let a = null;
  report.forEach((r) => {
    if (r.type !== 'inbound-rtp') return;
    if (r.kind === 'video' && (!v || r.bytesReceived > v.bytesReceived)) v = r;
    if (r.kind === 'audio' && (!a || r.bytesReceived > a.bytesReceived)) a = r;
  });
  const dt = prev ? at - prev.at : 0;
  const codec = v && v.codecId && report.get(v.codecId);
  const s = {
    at,
    width: (v && v.frameWidth) || 0,
    height: (v && v.frameHeight) || 0,
    fps: (v && v.framesPerSecond) || 0,
    framesDecoded: (v && v.framesDecoded) || 0,
    framesDropped: (v && v.framesDropped) || 0,
    keyFramesDecoded: (v && v.keyFramesDecoded) || 0,
    freezeCount: (v && v.freezeCount) || 0,
    totalFreezesDuration: (v && v.totalFreezesDuration) || 0,
    pliCount: (v && v.pliCount) || 0,
    nackCount: (v && v.nackCount) || 0,
    videoPacketsLost: (v && v.packetsLost) || 0,
    videoPackets: (v && v.packetsReceived) || 0,
    audioPacketsLost: (a && a.packetsLost) || 0,
    videoBytes: (v && v.bytesReceived) || 0,
    audioBytes: (a && a.bytesReceived) || 0,
    audioSamples: (a && a.totalSamplesReceived) || 0,
    concealedSamples: (a && a.concealedSamples) || 0,
    jitterMs: v && typeof v.jitter === 'number' ? Math.round(v.jitter * 1000) : null,
    rttMs: transportRtt(report),
    codec: codec ? codec.mimeType.replace(/^video\//, '') : '',
    decoder: (v && v.decoderImplementation) || '',
  };
  s.packetsLost = s.videoPacketsLost + s.audioPacketsLost;
  s.videoKbps = kbps(s.videoBytes, prev && prev.videoBytes, dt);
  s.audioKbps = kbps(s.audioBytes, prev && prev.audioBytes, dt);
  s.kbps = s.videoKbps + s.audioKbps;
  return s;
}

/**
 * What a publisher sends: {at, layers: {rid: {...}}, audioKbps, rttMs}. A browser without
 * simulcast reports one video outbound-rtp without rid; it is listed as layer "-".
 */
export async function outboundSummary(pc, prev) {
  const report = await pc.getStats();
  const at = Date.now();
  const dt = prev ? at - prev.at : 0;
  const s = { at, layers: {}, audioBytes: 0, audioKbps: 0, rttMs: transportRtt(report) };
  report.forEach((r) => {
    if (r.type !== 'outbound-rtp') return;
    if (r.kind === 'audio') {
      s.audioBytes += r.bytesSent || 0;
      return;
    }
    const rid = r.rid || '-';
    const p = prev && prev.layers[rid];
    const remote = r.remoteId && report.get(r.remoteId);
    s.layers[rid] = {
      rid,
      active: r.active !== false,
      width: r.frameWidth || 0,
      height: r.frameHeight || 0,
      fps: r.framesPerSecond || 0,
      framesEncoded: r.framesEncoded || 0,
      framesSent: r.framesSent || 0,
      keyFramesEncoded: r.keyFramesEncoded || 0,
      bytes: r.bytesSent || 0,
      kbps: kbps(r.bytesSent || 0, p && p.bytes, dt),
      limitation: r.qualityLimitationReason || 'none',
      encoder: r.encoderImplementation || '',
      lost: remote && typeof remote.packetsLost === 'number' ? remote.packetsLost : null,
    };
  });
  s.audioKbps = kbps(s.audioBytes, prev && prev.audioBytes, dt);
  return s;
}

/** "1,234 kbit/s" style helpers for the panels. */
export function fmtKbps(k) {
  return k >= 1000 ? `${(k / 1000).toFixed(2)} Mbit/s` : `${k} kbit/s`;
}

export function fmtRes(w, h) {
  return w && h ? `${w}×${h}` : '–';
}
