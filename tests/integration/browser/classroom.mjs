// Test 2: `classrelay-client teach --test` -> relay -> two Chromium classroom pages.
// Both pages reach "playing"; for 10 s their getStats() shows framesDecoded and the audio's
// totalSamplesReceived rising every second; a screenshot of a classroom page is saved
// (classroom.png) and is not blank (luma variance and distinct levels of the video area).
// Classroom room-1 is on a configured link (classroom.conf): the relay schedules its page, and
// Chromium's transport-cc feedback reaches the classroom's estimator (GET /api/status).
import fs from 'node:fs';
import path from 'node:path';
import {
  BASE, OUT, check, client, decodePng, launch, lumaStats, open, run, sleep, status, token, waitFor,
} from './lib.mjs';

const CLASS = 'browser-lesson';
const SECONDS = 10;
let teach = null;
let ctx = null;

async function main() {
  const tt = token('teacher', CLASS, 't-1');
  teach = client('teach', ['teach', '--test', ...(tt ? ['--token', tt] : []), `${BASE}/whip/${CLASS}`]);
  const up = await waitFor(() => teach.lines().some((l) => l.startsWith('connected')), 20000);
  if (!check('teacher', 'classrelay-client teach --test connected', up)) return;

  ctx = await launch('classroom');
  const pages = [];
  for (const i of [1, 2]) {
    const tok = token('classroom', CLASS, `room-${i}`);
    pages.push(await open(ctx, `${BASE}/class/${CLASS}${tok ? `?token=${encodeURIComponent(tok)}` : ''}`));
  }
  for (const [i, page] of pages.entries()) {
    const playing = await waitFor(() => page.evaluate(() => window.classroom.state === 'playing'), 20000);
    const st = await page.evaluate(() => ({ state: window.classroom.state, error: window.classroom.error }));
    check(`classroom${i + 1}`, `page is playing (state ${st.state}${st.error ? `, ${st.error.title}` : ''})`, playing);
  }

  // One sample a second from each page's own stats (window.classroom.stats, from getStats()).
  const samples = pages.map(() => []);
  for (let s = 0; s <= SECONDS; s++) {
    for (const [i, page] of pages.entries()) {
      samples[i].push(await page.evaluate(() => window.classroom.stats));
    }
    if (s < SECONDS) await sleep(1000);
  }
  for (const [i, ser] of samples.entries()) {
    const name = `classroom${i + 1}`;
    const ok = ser.filter(Boolean);
    if (!check(name, `has stats (${ok.length} of ${ser.length} samples)`, ok.length === ser.length)) continue;
    const a = ok[0];
    const b = ok[ok.length - 1];
    const dt = (b.at - a.at) / 1000;
    let videoRising = true;
    let audioRising = true;
    for (let k = 1; k < ok.length; k++) {
      if (ok[k].framesDecoded <= ok[k - 1].framesDecoded) videoRising = false;
      if (ok[k].audioSamples <= ok[k - 1].audioSamples) audioRising = false;
    }
    const fps = (b.framesDecoded - a.framesDecoded) / dt;
    const rate = (b.audioSamples - a.audioSamples) / dt;
    console.log(`${name}: window_s=${dt.toFixed(1)} frames_decoded=${b.framesDecoded - a.framesDecoded} fps=${fps.toFixed(1)} ` +
      `audio_samples=${b.audioSamples - a.audioSamples} audio_rate=${rate.toFixed(0)} resolution=${b.width}x${b.height} ` +
      `codec=${b.codec} kbps=${b.kbps} packets_lost=${b.packetsLost} freezes=${b.freezeCount - a.freezeCount} rtt_ms=${b.rttMs}`);
    check(name, `framesDecoded rising every second (${fps.toFixed(1)} fps over ${dt.toFixed(1)} s)`, videoRising && fps >= 20);
    check(name, `audio totalSamplesReceived rising every second (${rate.toFixed(0)}/s)`, audioRising && rate >= 0.9 * 48000);
  }

  const panel = await pages[0].evaluate(() => ({
    res: document.getElementById('s-res').textContent,
    fps: document.getElementById('s-fps').textContent,
    kbps: document.getElementById('s-kbps').textContent,
    rtt: document.getElementById('s-rtt').textContent,
  }));
  check('classroom1', `live panel shows ${panel.res}, ${panel.fps}, ${panel.kbps}, RTT ${panel.rtt}`,
    /\d+×\d+/.test(panel.res) && /fps/.test(panel.fps) && /bit\/s/.test(panel.kbps) && /ms/.test(panel.rtt));

  // Chromium answers the relay's transport-wide sequence numbers with feedback, and reports almost
  // nothing lost on this unlimited link; the link's estimate stays near its capacity.
  const st = await status();
  const sched = st.scheduler || {};
  const sub = (sched.subscribers || []).find((x) => x.classroom === 'room-1' && x.twcc);
  const link = (sched.links || []).find((x) => x.classroom === 'room-1');
  if (check('classroom1', `is scheduled on link room-1 with transport-cc (${JSON.stringify(sub && sub.twcc)})`, !!sub)) {
    console.log(`classroom1: twcc_feedback=${sub.twcc.feedback} twcc_reported=${sub.twcc.reported} ` +
      `twcc_lost=${sub.twcc.lost} link_twcc=${link && link.twcc} estimate_bps=${link && link.estimate_bps} ` +
      `layer=${sub.layer} why="${sub.why}"`);
    check('classroom1', `Chromium sends transport-cc feedback (${sub.twcc.feedback} packets covering ${sub.twcc.reported})`,
      sub.twcc.feedback >= 20 && sub.twcc.reported >= 200);
    check('classroom1', `feedback reports under 1 % lost (${sub.twcc.lost} of ${sub.twcc.reported})`,
      sub.twcc.lost * 100 <= sub.twcc.reported);
    check('classroom1', `the link's estimate stays at least 50 % of 20 Mbit/s (${link && link.estimate_bps})`,
      link && link.twcc && link.estimate_bps >= 10e6);
  }

  const file = path.join(OUT, 'classroom.png');
  await pages[0].screenshot({ path: file });
  const img = decodePng(fs.readFileSync(file));
  // The video area left of the panel (the panel sits top right).
  const l = lumaStats(img, { x: 0.05, y: 0.1, w: 0.6, h: 0.8 });
  console.log(`screenshot: ${file} ${img.width}x${img.height} luma_mean=${l.mean.toFixed(1)} ` +
    `luma_variance=${l.variance.toFixed(0)} distinct_levels=${l.distinct}`);
  check('screenshot', `classroom page is not blank (luma variance ${l.variance.toFixed(0)} > 500, ${l.distinct} levels > 16)`,
    l.variance > 500 && l.distinct > 16);
}

run(main, async () => {
  if (ctx) await ctx.closeProfile();
  if (teach) await teach.stop();
});
