// The operator dashboard (/ops): a GStreamer teacher (teach --test) and three classroom pages of
// school "school-a" in Chromium; then headless Chromium opens /ops?token=<operator token>. Within
// 3 s it must show the school, the three classrooms with non-zero bitrates and the live class; a
// screenshot (ops.png) must not be blank; a click on a classroom draws its charts (ops-chart.png).
// Then one classroom's renderer is crashed (its media stops without a goodbye, like a killed PC):
// within 5 s the dashboard must show it leaving and an alert must appear.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  BASE, CONF, OUT, RELAY, check, client, decodePng, launch, lumaStats, open, run, sleep, waitFor,
} from './lib.mjs';

const CLASS = 'ops-lesson';
const SCHOOL = 'school-a';
let ctx = null;
let teacher = null;

function mint(...args) {
  const r = spawnSync(RELAY, ['token', '--config', CONF, ...args], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) throw new Error(`classrelay token failed: ${r.stderr}`);
  return r.stdout.trim();
}

async function opsJson(op) {
  const res = await fetch(`${BASE}/api/ops`, { headers: { Authorization: `Bearer ${op}` }, signal: AbortSignal.timeout(3000) });
  return res.json();
}

async function main() {
  const op = mint('--role', 'operator', '--class', '*');
  const tt = mint('--role', 'teacher', '--class', CLASS, '--id', 't-li');
  teacher = client('teacher', ['teach', '--test', '--width', '640', '--height', '360', '--bitrate', '600',
    '--token', tt, `${BASE}/whip/${CLASS}`]);
  ctx = await launch('ops');
  const rooms = [];
  for (const i of [1, 2, 3]) {
    const tok = mint('--role', 'classroom', '--class', CLASS, '--classroom', `room-${i}`, '--school', SCHOOL);
    rooms.push(await open(ctx, `${BASE}/class/${CLASS}?token=${encodeURIComponent(tok)}`));
  }
  // The classrooms receive (as the relay sees it) before the operator looks.
  const flowing = await waitFor(async () => {
    const j = await opsJson(op);
    const s = j.schools.find((x) => x.id === SCHOOL);
    return s && s.classrooms.filter((c) => c.bps > 0).length === 3;
  }, 30000, 500);
  if (!check('setup', 'three classroom pages receive the teacher', flowing)) return;
  const tFlowing = Date.now();

  const page = await ctx.newPage();
  await page.setViewportSize({ width: 1400, height: 900 });
  const t0 = Date.now();
  await page.goto(`${BASE}/ops?token=${encodeURIComponent(op)}`, { waitUntil: 'load', timeout: 15000 });
  const shown = await waitFor(() => page.evaluate(({ school, cls }) => {
    const s = document.querySelector(`.school[data-id="${school}"]`);
    const rows = s ? [...s.querySelectorAll('.row.classroom')] : [];
    const withBps = rows.filter((r) => Number(r.dataset.bps) > 0).length;
    const klass = document.querySelector(`#classes tr[data-id="${cls}"]`);
    return s && withBps === 3 && klass && klass.textContent.includes('3 classrooms');
  }, { school: SCHOOL, cls: CLASS }), Math.max(0, 3000 - (Date.now() - t0)), 100);
  const dt = Date.now() - t0;
  const view = await page.evaluate(() => ({
    rooms: [...document.querySelectorAll('.row.classroom')].map((r) => `${r.dataset.id}:${r.dataset.bps}:${r.dataset.health}`),
    klass: document.querySelector('#classes tbody tr')?.textContent.replace(/\s+/g, ' ').trim(),
    summary: document.getElementById('summary').textContent,
  }));
  console.log(`dashboard after ${dt} ms: ${view.summary}; classrooms ${view.rooms.join(' ')}; class: ${view.klass}`);
  check('dashboard', `shows ${SCHOOL}, its three classrooms with non-zero bitrates and the class within 3 s of opening (${dt} ms)`, shown && dt <= 3000);

  // Click a classroom: its ten-minute charts are drawn by uPlot.
  await page.click(`.row.classroom[data-id="room-1"]`);
  const charted = await waitFor(() => page.evaluate(() => document.querySelectorAll('#charts canvas').length >= 3 &&
    window.opsSnapshot !== undefined), 3000, 100);
  await sleep(2500);
  check('charts', 'a click on a classroom draws its bitrate, loss and RTT charts (uPlot)', charted);
  const file = path.join(OUT, 'ops.png');
  await page.screenshot({ path: file });
  const img = decodePng(fs.readFileSync(file));
  const l = lumaStats(img, { x: 0, y: 0, w: 1, h: 1 });
  console.log(`screenshot: ${file} ${img.width}x${img.height} luma_mean=${l.mean.toFixed(1)} variance=${l.variance.toFixed(0)} levels=${l.distinct}`);
  check('screenshot', `dashboard is not blank (luma variance ${l.variance.toFixed(0)} > 100, ${l.distinct} levels > 16)`,
    l.variance > 100 && l.distinct > 16);

  // Kill classroom 3: crash its renderer, so its media and reports stop without a DELETE. It has
  // been in class for 10 s first, as a real classroom would: the relay learns each peer's report
  // interval in its first seconds and starts from a guess made for GStreamer's 5 s.
  await sleep(Math.max(0, 10000 - (Date.now() - tFlowing)));
  const alertsBefore = await page.evaluate(() => document.querySelectorAll('#alerts li[data-event]').length);
  const cdp = await ctx.newCDPSession(rooms[2]);
  const tk = Date.now();
  cdp.send('Page.crash').catch(() => {});
  const gone = await waitFor(() => page.evaluate(() => {
    const r = document.querySelector('.row.classroom[data-id="room-3"]');
    const left = !r || r.dataset.health === 'lost' || r.dataset.health === 'idle';
    const alert = [...document.querySelectorAll('#alerts li[data-event]')]
      .some((li) => /classroom_(lost|left)/.test(li.dataset.event) && li.textContent.includes('room-3'));
    return left && alert;
  }), 5000, 100);
  const dk = Date.now() - tk;
  const after = await page.evaluate(() => ({
    rooms: [...document.querySelectorAll('.row.classroom')].map((r) => `${r.dataset.id}:${r.dataset.health}`),
    alerts: [...document.querySelectorAll('#alerts li[data-event]')].map((li) => li.textContent.replace(/\s+/g, ' ').trim()),
  }));
  console.log(`after the kill (${dk} ms): classrooms ${after.rooms.join(' ')}; alerts: ${after.alerts.join(' | ')}`);
  check('kill', `the dashboard shows room-3 leaving and an alert within 5 s (${dk} ms, alerts ${alertsBefore} -> ${after.alerts.length})`, gone);
  await page.screenshot({ path: path.join(OUT, 'ops-after-kill.png') });
  const others = after.rooms.filter((r) => /room-[12]:ok/.test(r)).length;
  check('kill', 'the other two classrooms stay healthy', others === 2);
}

run(main, async () => {
  if (teacher) teacher.proc.kill('SIGTERM');
  if (ctx) await ctx.closeProfile();
});
