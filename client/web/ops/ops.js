// The operator dashboard (/ops?token=<operator token>): subscribes to the relay's operator view over
// the WebSocket channel ({"type":"ops"}, docs/PROTOCOL.md), which pushes the whole picture every
// second; draws the school -> classroom tree with utilisation bars coloured by health, the live
// classes, ten-minute charts (uPlot) of the link or class clicked, and the alert list.

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
const HISTORY_S = 600;

let ws = null;
let backoff = 1;
let selected = null; // {kind, school, entity, label}
let series = null; // {t: [], bps: [], loss: [], rtt: []}
let charts = [];
let lastAlertSeq = 0;

// ---- formatting ----

function fmtBps(b) {
  if (!b) return '0';
  if (b >= 1e9) return (b / 1e9).toFixed(2) + ' Gb/s';
  if (b >= 1e6) return (b / 1e6).toFixed(1) + ' Mb/s';
  return (b / 1e3).toFixed(0) + ' kb/s';
}
const pct = (x) => (x * 100).toFixed(x < 0.1 ? 1 : 0) + '%';
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const hhmmss = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });

// ---- the tree of links ----

function linkRow(e, cls) {
  const util = Math.min(1, e.util || 0);
  const label = e.kind === 'school' ? e.id : e.id;
  const state = e.health === 'lost' ? 'lost' : e.health === 'idle' ? 'left' : '';
  const key = `${e.kind}|${e.school}|${e.id}`;
  const sel = selected && `${selected.kind}|${selected.school}|${selected.entity}` === key ? ' selected' : '';
  return `<div class="row ${cls} h-${e.health}${sel}" data-kind="${e.kind}" data-school="${esc(e.school)}" data-id="${esc(e.id)}"
      data-bps="${Math.round(e.bps)}" data-health="${e.health}" title="${esc(e.kind)} ${esc(label)}: ${fmtBps(e.bps)} of ${fmtBps(e.capacity_bps)}">
    <span class="name">${esc(label)}${state ? `<span class="state">${state}</span>` : ''}</span>
    <span class="bar"><i style="width:${(util * 100).toFixed(2)}%"></i></span>
    <span class="bps">${fmtBps(e.bps)}</span>
    <span class="fig">${pct(e.loss)} · ${Math.round(e.rtt_ms)} ms · ${e.subscribers}⇣</span>
  </div>`;
}

function renderSchools(schools) {
  const box = $('schools');
  if (!schools.length) {
    box.innerHTML = '<p class="muted">No classroom connected.</p>';
    return;
  }
  box.innerHTML = schools.map((s) => `<div class="school" data-id="${esc(s.id)}">${linkRow(s, 'school-row')}
    ${s.classrooms.map((c) => linkRow(c, 'classroom')).join('')}</div>`).join('');
}

function renderClasses(classes) {
  const live = classes.filter((c) => c.state === 'live');
  const body = $('classes').tBodies[0];
  body.innerHTML = live.length ? live.map((c) => {
    const sel = selected && selected.kind === 'class' && selected.entity === c.id ? ' class="selected"' : '';
    return `<tr${sel} data-kind="class" data-id="${esc(c.id)}" data-bps="${Math.round(c.bps)}">
      <td><b>${esc(c.title || c.id)}</b>${c.title && c.title !== c.id ? ` <span class="muted">${esc(c.id)}</span>` : ''}</td>
      <td><span class="kind">${esc(c.kind)}</span></td>
      <td>${esc(c.teacher || '-')}${c.teacher_publishing ? '' : ' <span class="muted">(not sending)</span>'}</td>
      <td>${c.audience.length} classroom${c.audience.length === 1 ? '' : 's'}${c.invited ? ` of ${c.invited}` : ''}
        <span class="muted small">${esc(c.audience.join(', '))}</span></td>
      <td class="bps">${fmtBps(c.bps)}</td></tr>`;
  }).join('') : '<tr><td colspan="5" class="muted">No class is live.</td></tr>';
}

function renderAlerts(alerts) {
  const list = $('alerts');
  if (!alerts.length) return;
  const newest = alerts[alerts.length - 1].seq;
  if (newest === lastAlertSeq) return;
  lastAlertSeq = newest;
  list.innerHTML = alerts.slice().reverse().map((a) => {
    const d = a.detail || {};
    const who = [d.class, d.school, d.classroom, d.id, d.teacher].filter(Boolean).join(' / ');
    const extra = d.reason || (d.loss_permille !== undefined ? `loss ${d.loss_permille / 10}%, RTT ${d.rtt_ms} ms` : '') ||
      (d.last_minute !== undefined ? `${d.last_minute} refusals in the last minute` : '');
    return `<li class="${a.level}" data-event="${esc(a.event)}"><time>${hhmmss(a.ts_ms)}</time><b>${esc(a.event.replace(/_/g, ' '))}</b>${esc(who)}
      ${extra ? `<span class="muted"> — ${esc(extra)}</span>` : ''}</li>`;
  }).join('');
}

// ---- charts ----

function makeCharts() {
  charts.forEach((c) => c.destroy());
  const width = Math.max(300, $('charts').clientWidth - 12);
  const mk = (el, label, stroke, fmt, least) => new uPlot({
    width, height: 120, legend: { show: true },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max * 1.1, least)] } },
    axes: [{ stroke: '#8b949e', grid: { stroke: '#21262d' } },
      { stroke: '#8b949e', grid: { stroke: '#21262d' }, size: 70, values: (u, vals) => vals.map(fmt) }],
    series: [{}, { label, stroke, width: 1.5, fill: stroke + '22', value: (u, v) => (v == null ? '-' : fmt(v)) }],
  }, [[], []], $(el));
  charts = [
    mk('chart-bps', 'bitrate', '#3fb950', fmtBps, 100e3),
    mk('chart-loss', 'loss', '#f85149', (v) => pct(v), 0.05),
    mk('chart-rtt', 'RTT', '#2f81f7', (v) => `${Math.round(v)} ms`, 50),
  ];
}

function drawCharts() {
  if (!series || !charts.length) return;
  charts[0].setData([series.t, series.bps]);
  charts[1].setData([series.t, series.loss]);
  charts[2].setData([series.t, series.rtt]);
}

function select(kind, school, entity) {
  selected = { kind, school, entity };
  series = { t: [], bps: [], loss: [], rtt: [] };
  $('chart-title').innerHTML = `Last ten minutes: ${esc(kind)} <b>${esc(entity)}</b>${kind === 'classroom' ? ` <span class="muted">(${esc(school)})</span>` : ''}`;
  if (!charts.length) makeCharts();
  send({ type: 'ops_history', id: 'history', kind, school, entity, seconds: HISTORY_S });
}

// The selected entity's figures in a snapshot, appended to its series once a second.
function appendSample(snap) {
  if (!selected || !series) return;
  let e = null;
  if (selected.kind === 'class') e = snap.classes.find((c) => c.id === selected.entity);
  else {
    for (const s of snap.schools) {
      if (selected.kind === 'school' && s.id === selected.entity) e = s;
      for (const c of s.classrooms) if (selected.kind === 'classroom' && c.id === selected.entity && c.school === selected.school) e = c;
    }
  }
  if (!e || (series.t.length && series.t[series.t.length - 1] >= snap.t)) return;
  series.t.push(snap.t);
  series.bps.push(e.silent ? 0 : e.bps);
  series.loss.push(e.loss);
  series.rtt.push(e.rtt_ms);
  while (series.t.length && series.t[0] <= snap.t - HISTORY_S) {
    series.t.shift(); series.bps.shift(); series.loss.shift(); series.rtt.shift();
  }
  drawCharts();
}

document.addEventListener('click', (ev) => {
  const el = ev.target.closest('[data-kind]');
  if (!el) return;
  select(el.dataset.kind, el.dataset.school || '', el.dataset.id);
  document.querySelectorAll('.selected').forEach((x) => x.classList.remove('selected'));
  el.classList.add('selected');
});
window.addEventListener('resize', () => { if (charts.length) { makeCharts(); drawCharts(); } });

// ---- the WebSocket ----

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function onSnapshot(snap) {
  window.opsSnapshot = snap; // for tests and the curious
  $('clock').textContent = hhmmss(snap.t * 1000);
  const rooms = snap.schools.reduce((n, s) => n + s.classrooms.filter((c) => c.present).length, 0);
  const live = snap.classes.filter((c) => c.state === 'live').length;
  $('summary').textContent = `${snap.schools.length} school${snap.schools.length === 1 ? '' : 's'} · ${rooms} classroom${rooms === 1 ? '' : 's'} · ${live} live class${live === 1 ? '' : 'es'} · ${snap.relay.peers} sessions`;
  renderSchools(snap.schools);
  renderClasses(snap.classes);
  renderAlerts(snap.alerts);
  appendSample(snap);
}

function problem(text) {
  $('problem').textContent = text;
  $('problem').hidden = !text;
}

function connect() {
  if (!token) {
    problem('This page needs an operator token: open /ops?token=<token> (classrelay token --role operator --class "*").');
    return;
  }
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  ws = new WebSocket(url, 'classrelay.v1');
  ws.onopen = () => {
    backoff = 1;
    $('conn').textContent = 'live';
    $('conn').className = 'pill ok';
    send({ type: 'ops', id: 'subscribe', token });
  };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'ops') {
      problem('');
      onSnapshot(m);
    } else if (m.type === 'ops_history' && selected && m.entity === selected.entity) {
      series = { t: m.t, bps: m.bps, loss: m.loss, rtt: m.rtt_ms };
      drawCharts();
    } else if (m.type === 'error' && m.id !== 'history') {
      problem(`The relay refused the dashboard: ${m.message} (code ${m.code})`);
    }
  };
  ws.onclose = (ev) => {
    $('conn').textContent = 'reconnecting…';
    $('conn').className = 'pill bad';
    if (ev.code >= 4011 && ev.code <= 4013) {
      problem(`The token was refused (code ${ev.code}): mint a new operator token.`);
      return;
    }
    setTimeout(connect, backoff * 1000);
    backoff = Math.min(backoff * 2, 10);
  };
}

setInterval(() => send({ type: 'ping' }), 20000);
connect();
