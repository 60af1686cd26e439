// Test 3: layer switch while playing. The Chromium teacher page publishes simulcast (h/m/l) and a
// Chromium classroom page receives; the classroom switches h -> l -> h with its layer selector.
// (layers_gst.mjs runs the same with `classrelay-client teach --test --simulcast` publishing.)
// Each switch must land (frame height 1080 -> 360 -> 1080) with no freeze over 500 ms (getStats
// freezeCount / totalFreezesDuration, decode stalls sampled every 100 ms, and the gaps between
// presented frames from requestVideoFrameCallback), no decoder error (video.error, decoder
// implementation unchanged), framesDecoded rising, and continuous sequence numbers: packetsLost
// does not move (a gap in the relay's rewritten sequence numbers would count as lost).
import path from 'node:path';
import {
  BASE, OUT, check, client, launch, open, run, sleep, token, waitFor,
} from './lib.mjs';

const GST = process.env.CR_LAYERS_PUBLISHER === 'gst';
const CLASS = GST ? 'gst-layers' : 'browser-layers';
const HOLD_MS = 4000; // play each layer this long
// Frame heights of h and l: the page sends 1080p / 360p, `teach --simulcast` 720p / 180p.
const HEIGHT = GST ? { h: 720, l: 180 } : { h: 1080, l: 360 };
let ctx = null;
let teach = null;

// Runs in the classroom page: samples its own getStats() every 100 ms and watches presented frames.
function installMonitor() {
  const m = { samples: [], maxFrameGapMs: 0, frames: 0, running: true, lastFrameAt: 0 };
  window.monitor = m;
  const v = document.getElementById('video');
  const onFrame = (now) => {
    if (m.lastFrameAt) m.maxFrameGapMs = Math.max(m.maxFrameGapMs, now - m.lastFrameAt);
    m.lastFrameAt = now;
    m.frames++;
    if (m.running) v.requestVideoFrameCallback(onFrame);
  };
  v.requestVideoFrameCallback(onFrame);
  const sample = async () => {
    if (!m.running) return;
    const pc = window.classroom.pc;
    if (pc) {
      const r = await pc.getStats();
      r.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          m.samples.push({
            t: performance.now(), framesDecoded: s.framesDecoded, height: s.frameHeight, lost: s.packetsLost,
            freezeCount: s.freezeCount || 0, freezeDur: s.totalFreezesDuration || 0, pli: s.pliCount,
            keyFrames: s.keyFramesDecoded, decoder: s.decoderImplementation, dropped: s.framesDropped,
          });
        }
      });
    }
    setTimeout(sample, 100);
  };
  sample();
}

function analyse(samples) {
  let maxStall = 0;
  let stallStart = null;
  let maxFreeze = 0;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    if (b.framesDecoded === a.framesDecoded) {
      if (stallStart === null) stallStart = a.t;
      maxStall = Math.max(maxStall, b.t - stallStart);
    } else {
      stallStart = null;
    }
    if (b.freezeCount > a.freezeCount) maxFreeze = Math.max(maxFreeze, ((b.freezeDur - a.freezeDur) * 1000) / (b.freezeCount - a.freezeCount));
  }
  const first = samples[0];
  const last = samples[samples.length - 1];
  return {
    maxStall, maxFreeze, freezes: last.freezeCount - first.freezeCount, lost: last.lost - first.lost,
    decoded: last.framesDecoded - first.framesDecoded, keyFrames: last.keyFrames - first.keyFrames,
    decoders: [...new Set(samples.map((s) => s.decoder))], dropped: last.dropped - first.dropped,
  };
}

async function startBrowserTeacher() {
  const tt = token('teacher', CLASS, 't-1');
  const teacher = await open(ctx, `${BASE}/teach/${CLASS}?autostart=1${tt ? `&token=${encodeURIComponent(tt)}` : ''}`);
  const live = await waitFor(() => teacher.evaluate(() => window.teacher.state === 'live'), 20000);
  if (!check('teacher', 'page is live', live)) return false;
  const simulcast = await teacher.evaluate(() => window.teacher.simulcast);
  if (!check('teacher', `relay accepted simulcast (a=simulcast in its answer: ${simulcast})`, simulcast)) return false;
  // All three layers flowing: the browser's bandwidth estimate opens the top layer last.
  const layersUp = await waitFor(async () => {
    const s = await teacher.evaluate(() => window.teacher.stats);
    return s && ['h', 'm', 'l'].every((r) => s.layers[r] && s.layers[r].fps > 0);
  }, 15000);
  return check('teacher', 'sends layers h, m and l', layersUp);
}

async function startGstTeacher() {
  const tt = token('teacher', CLASS, 't-1');
  teach = client('teach', ['teach', '--test', '--simulcast', '--width', '1280', '--height', '720',
    ...(tt ? ['--token', tt] : []), `${BASE}/whip/${CLASS}`]);
  return check('teacher', 'classrelay-client teach --test --simulcast connected',
    await waitFor(() => teach.lines().some((l) => l.startsWith('connected')), 20000));
}

async function main() {
  ctx = await launch('layers', { secure: !GST });
  if (!(GST ? await startGstTeacher() : await startBrowserTeacher())) return;

  const tok = token('classroom', CLASS, 'room-1');
  const page = await open(ctx, `${BASE}/class/${CLASS}${tok ? `?token=${encodeURIComponent(tok)}` : ''}`);
  const playing = await waitFor(() => page.evaluate(() => window.classroom.state === 'playing'), 20000);
  if (!check('classroom', 'page is playing', playing)) return;
  await page.evaluate(installMonitor);

  const height = () => page.evaluate(() => {
    const s = window.monitor.samples;
    return s.length ? s[s.length - 1].height : 0;
  });
  const steps = [['h', HEIGHT.h], ['l', HEIGHT.l], ['h', HEIGHT.h]];
  for (const [rid, want] of steps) {
    const t0 = Date.now();
    await page.click(`[data-layer="${rid}"]`);
    const got = await waitFor(async () => (await height()) === want, 8000, 100);
    const ms = Date.now() - t0;
    const note = await page.evaluate(() => document.getElementById('layer-note').textContent);
    check('classroom', `layer ${rid}: frames ${want}p after ${ms} ms (${note})`, got);
    await sleep(HOLD_MS);
  }
  await page.screenshot({ path: path.join(OUT, `${CLASS}.png`) });

  const r = await page.evaluate(() => {
    window.monitor.running = false;
    const v = document.getElementById('video');
    return { samples: window.monitor.samples, maxFrameGapMs: window.monitor.maxFrameGapMs, frames: window.monitor.frames,
      error: v.error ? v.error.message || String(v.error.code) : null };
  });
  const a = analyse(r.samples);
  console.log(`classroom: samples=${r.samples.length} frames_decoded=${a.decoded} presented=${r.frames} ` +
    `max_frame_gap_ms=${r.maxFrameGapMs.toFixed(0)} max_decode_stall_ms=${a.maxStall.toFixed(0)} freezes=${a.freezes} ` +
    `max_freeze_ms=${a.maxFreeze.toFixed(0)} packets_lost=${a.lost} keyframes=${a.keyFrames} dropped=${a.dropped} decoder=${a.decoders.join('|')}`);
  check('classroom', `no freeze over 500 ms (getStats: ${a.freezes} freezes, longest ${a.maxFreeze.toFixed(0)} ms; ` +
    `decode stall ${a.maxStall.toFixed(0)} ms; presented-frame gap ${r.maxFrameGapMs.toFixed(0)} ms)`,
  a.maxFreeze <= 500 && a.maxStall <= 500 && r.maxFrameGapMs <= 500);
  check('classroom', `no decoder error (video.error ${r.error}, decoder ${a.decoders.join(' then ')})`,
    r.error === null && a.decoders.length <= 1);
  check('classroom', `framesDecoded rising (${a.decoded} frames)`, a.decoded > 0);
  check('classroom', `sequence numbers continuous (packetsLost moved by ${a.lost})`, a.lost === 0);
}

run(main, async () => {
  if (ctx) await ctx.closeProfile();
  if (teach) await teach.stop();
});
