// Test 1: the Chromium teacher page (fake camera and microphone, simulcast h/m/l) -> relay ->
// three `classrelay-client attend --headless`. Each attendee must decode >= 95% of the frames the
// page sent on the layer the relay forwards (the best: h) over a window of >= 10 s; the teacher
// page must count the three classrooms watching. Figures are printed; teacher.png is saved.
import path from 'node:path';
import {
  BASE, OUT, check, client, fields, interpolate, launch, open, run, sleep, status, token, waitFor,
} from './lib.mjs';

const CLASS = 'browser-teach';
const ATTEND_S = 18; // attendee --duration; the window starts 2 s after its first stats line
let ctx = null;
const attendees = [];

async function main() {
  ctx = await launch('teacher', { secure: true });
  const tt = token('teacher', CLASS, 't-1');
  const page = await open(ctx, `${BASE}/teach/${CLASS}${tt ? `?token=${encodeURIComponent(tt)}` : ''}`);
  const preview = await waitFor(() => page.evaluate(() => window.teacher.state === 'preview'), 10000);
  if (!check('teacher', 'page opened the fake camera and microphone (preview)', preview)) return;
  await page.click('#start');
  const live = await waitFor(() => page.evaluate(() => window.teacher.state === 'live'), 20000);
  const st = await page.evaluate(() => ({ state: window.teacher.state, error: window.teacher.error, simulcast: window.teacher.simulcast }));
  if (!check('teacher', `page is live (state ${st.state}${st.error ? `: ${st.error.title} ${st.error.relay || ''}` : ''})`, live)) return;
  console.log(`teacher: relay accepted simulcast: ${st.simulcast}`);
  // Let the browser's bandwidth estimate open up the layers before measuring.
  await waitFor(async () => {
    const s = await page.evaluate(() => window.teacher.stats);
    return s && Object.values(s.layers).some((l) => l.fps > 0);
  }, 10000);

  for (const i of [1, 2, 3]) {
    const tok = token('classroom', CLASS, `room-${i}`);
    attendees.push(client(`attend${i}`, ['attend', '--headless', '--duration', String(ATTEND_S),
      ...(tok ? ['--token', tok] : []), `${BASE}/whep/${CLASS}`]));
  }

  // The page's frames sent per layer, once a second, against the wall clock.
  const series = {};
  let maxWatching = 0;
  let maxRooms = { available: false, n: 0, names: '' };
  let shot = false; // teacher.png, taken while the three classrooms watch
  let last = null;
  const until = Date.now() + (ATTEND_S + 3) * 1000;
  while (Date.now() < until && attendees.some((a) => a.proc.exitCode === null)) {
    const s = await page.evaluate(() => {
      const sig = window.teacher.signal;
      const rooms = sig ? sig.byRole('classroom').map((p) => p.id) : [];
      return {
        stats: window.teacher.stats, watching: window.teacher.watching,
        rooms: { available: !!(sig && sig.available), n: rooms.length, names: rooms.join(', ') },
      };
    });
    // The page's getStats() time (its Date.now(): the same clock as the attendees' unix=).
    if (s.stats && (!last || s.stats.at !== last.at)) {
      last = s.stats;
      for (const l of Object.values(s.stats.layers)) (series[l.rid] ||= []).push([s.stats.at / 1000, l.framesSent]);
    }
    maxWatching = Math.max(maxWatching, s.watching || 0);
    if (s.rooms.n >= maxRooms.n) maxRooms = s.rooms;
    if (!shot && s.watching === 3 && (!s.rooms.available || s.rooms.n === 3)) {
      shot = true;
      await page.screenshot({ path: path.join(OUT, 'teacher.png') });
    }
    await sleep(500);
  }
  const rcs = await Promise.all(attendees.map((a) => a.exited));

  for (const l of Object.values(last ? last.layers : {})) {
    console.log(`teacher layer ${l.rid}: ${l.width}x${l.height} fps=${l.fps} kbps=${l.kbps} frames_sent=${l.framesSent} ` +
      `limited_by=${l.limitation} encoder=${l.encoder}`);
  }
  check('teacher', `page counted the classrooms watching (max ${maxWatching}, want 3)`, maxWatching === 3);
  console.log(`teacher: signaling (/ws) ${maxRooms.available ? `joined; most classrooms listed at once: ${maxRooms.n}` : 'not available'}`);
  if (maxRooms.available) check('teacher', `page listed the three classrooms from signaling (${maxRooms.names})`, maxRooms.n === 3);
  await page.click('#stop');
  const stopped = await waitFor(async () => {
    const st = await status();
    const c = (st.classes || []).find((x) => x.id === CLASS);
    return (await page.evaluate(() => window.teacher.state)) === 'stopped' && (!c || !c.live);
  }, 5000);
  check('teacher', 'Stop ends the broadcast (page stopped, class no longer live at the relay)', stopped);

  const rid = series.h ? 'h' : Object.keys(series)[0];
  const sent = series[rid] || [];
  for (const [i, a] of attendees.entries()) {
    const name = `attendee${i + 1}`;
    check(name, `exited 0 after --duration (rc=${rcs[i]})`, rcs[i] === 0);
    const lines = a.lines();
    const after = lines.slice(lines.findIndex((l) => l.startsWith('connected')) + 1).filter((l) => l.startsWith('stats ')).map(fields);
    if (!check(name, `connected and printed stats (${after.length} lines)`, lines.some((l) => l.startsWith('connected')) && after.length >= 4)) continue;
    const start = after[0].unix + 2;
    const w = after.filter((f) => f.unix >= start);
    if (!check(name, `window of >= 10 s (${w.length ? (w[w.length - 1].unix - w[0].unix).toFixed(1) : 0} s)`,
      w.length >= 2 && w[w.length - 1].unix - w[0].unix >= 10)) continue;
    const a0 = w[0];
    const b0 = w[w.length - 1];
    const decoded = b0.frames_decoded - a0.frames_decoded;
    const framesSent = interpolate(sent, b0.unix) - interpolate(sent, a0.unix);
    const ratio = framesSent > 0 ? decoded / framesSent : 0;
    console.log(`${name}: window_s=${(b0.unix - a0.unix).toFixed(1)} decoded=${decoded} sent_${rid}=${framesSent.toFixed(0)} ` +
      `ratio=${ratio.toFixed(3)} fps=${b0.fps} video_kbps=${b0.video_kbps} packets_lost=${b0.packets_lost} ` +
      `frames_dropped=${b0.frames_dropped - a0.frames_dropped}`);
    check(name, `decoded ${decoded} of ${framesSent.toFixed(0)} frames sent on layer ${rid} (ratio ${ratio.toFixed(3)} >= 0.95)`,
      ratio >= 0.95);
  }
}

run(main, async () => {
  for (const a of attendees) await a.stop();
  if (ctx) await ctx.closeProfile();
});
