// Shared helpers of the browser tests: Debian's chromium driven by playwright-core, the relay's
// HTTP API, classrelay-client processes, PNG analysis without extra packages, and the checks'
// "ok / FAIL" lines ending in "N passed, M failed".
//
// run.sh starts each test inside its own network namespace with the relay already listening at
// CR_BASE (http://10.99.0.1:8080); it exports CR_BUILD, CR_OUT, CR_CONF and CR_BASE.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

export const BUILD = process.env.CR_BUILD;
export const OUT = process.env.CR_OUT;
export const CONF = process.env.CR_CONF;
export const BASE = process.env.CR_BASE || 'http://10.99.0.1:8080';
export const RELAY = path.join(BUILD || '', 'relay/classrelay');
export const CLIENT = path.join(BUILD || '', 'client/classrelay-client');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const unix = () => Date.now() / 1000;

// ---- checks ----------------------------------------------------------------------------------

let passed = 0;
let failed = 0;

/** Prints "ok    name: text" or "FAIL  name: text" and counts it. Returns cond. */
export function check(name, text, cond) {
  if (cond) passed++;
  else failed++;
  console.log(`${cond ? 'ok  ' : 'FAIL'}  ${name}: ${text}`);
  return !!cond;
}

/** Prints the closing line and exits 0 only if nothing failed. */
export async function finish(cleanup) {
  try {
    if (cleanup) await cleanup();
  } catch (e) {
    console.log(`cleanup: ${e.message}`);
  }
  const pid = Number(process.env.CR_RELAY_PID || 0);
  if (pid) {
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    check('relay', 'still running at the end', alive);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

/** Runs main(), turning an exception into a failed check, and always runs cleanup. */
export async function run(main, cleanup) {
  const limit = setTimeout(() => {
    check('test', 'finished within its time limit', false);
    finish(cleanup);
  }, Number(process.env.CR_TEST_LIMIT_S || 150) * 1000);
  try {
    await main();
  } catch (e) {
    check('test', `ran to the end (${e.stack || e})`, false);
  }
  clearTimeout(limit);
  await finish(cleanup);
}

// ---- the browser ----------------------------------------------------------------------------------

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * Starts /usr/bin/chromium with a fresh profile under OUT. The teacher page needs a secure
 * context for the camera, which http://10.99.0.1 is not: `secure: true` tells Chromium to treat
 * the relay's origin as one (a real deployment serves the teacher page over https or localhost).
 */
export async function launch(name, { secure = false } = {}) {
  const profile = fs.mkdtempSync(path.join(OUT, `chromium-${name}-`));
  const args = [...CHROMIUM_ARGS];
  if (secure) args.push(`--unsafely-treat-insecure-origin-as-secure=${BASE}`);
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args,
    viewport: { width: 1280, height: 720 },
    env: { ...process.env, HOME: profile },
  });
  const log = fs.createWriteStream(path.join(OUT, `chromium-${name}.log`));
  ctx.on('page', (p) => watchConsole(p, log));
  for (const p of ctx.pages()) watchConsole(p, log);
  ctx.closeProfile = async () => {
    await ctx.close().catch(() => {});
    log.end();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return ctx;
}

function watchConsole(page, log) {
  page.on('console', (m) => log.write(`${new Date().toISOString()} ${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => log.write(`${new Date().toISOString()} pageerror: ${e.message}\n`));
}

/** Opens url in a new page of ctx. */
export async function open(ctx, url) {
  const page = await ctx.newPage();
  await page.goto(url, { waitUntil: 'load', timeout: 15000 });
  return page;
}

/** Polls fn (in node) every intervalMs until it returns a truthy value or timeoutMs passes. */
export async function waitFor(fn, timeoutMs, intervalMs = 250) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return v;
    await sleep(intervalMs);
  }
}

// ---- relay and clients ------------------------------------------------------------------------------

export async function status() {
  const res = await fetch(`${BASE}/api/status`, { signal: AbortSignal.timeout(3000) });
  return res.json();
}

let tokenCmd = null;

/** Whether the relay has the `classrelay token` command (authentication is built in). */
export function hasTokens() {
  if (tokenCmd === null) {
    const r = spawnSync(RELAY, ['--help'], { encoding: 'utf8', timeout: 5000 });
    tokenCmd = /classrelay token/.test(`${r.stdout}${r.stderr}`);
  }
  return tokenCmd;
}

/**
 * A token for role in class cls (docs/PROTOCOL.md), minted with `classrelay token --config CONF`
 * (run.sh gives the config a secret of its own); '' when the relay has no tokens yet.
 */
export function token(role, cls, id = '') {
  if (!hasTokens()) return '';
  const args = ['token', '--config', CONF, '--role', role, '--class', cls];
  if (role === 'classroom') args.push('--classroom', id || 'room-1');
  else if (id) args.push('--id', id);
  const r = spawnSync(RELAY, args, { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) throw new Error(`classrelay token failed: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Starts classrelay-client with args; stdout goes to OUT/<name>.log, stderr to OUT/<name>.err.
 * Returns {proc, lines(), exited} where lines() are the stdout lines so far.
 */
export function client(name, args) {
  const out = fs.openSync(path.join(OUT, `${name}.log`), 'w');
  const err = fs.openSync(path.join(OUT, `${name}.err`), 'w');
  const proc = spawn(CLIENT, args, { stdio: ['ignore', out, err] });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig)));
  return {
    proc,
    exited,
    lines: () => fs.readFileSync(path.join(OUT, `${name}.log`), 'utf8').split('\n').filter(Boolean),
    stop: async (signal = 'SIGINT') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const rc = await exited;
      clearTimeout(t);
      return rc;
    },
  };
}

/** "key=value" fields of a client stats line as numbers. */
export function fields(line) {
  const o = {};
  for (const kv of line.split(' ').slice(1)) {
    const [k, v] = kv.split('=');
    o[k] = Number(v);
  }
  return o;
}

/** Linear interpolation of series [[x, y], ...] (sorted by x) at x. */
export function interpolate(series, x) {
  if (series.length === 0) return NaN;
  if (x <= series[0][0]) return series[0][1];
  for (let i = 1; i < series.length; i++) {
    const [x0, y0] = series[i - 1];
    const [x1, y1] = series[i];
    if (x <= x1) return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return series[series.length - 1][1];
}

// ---- PNG analysis (node's zlib, no image package) -------------------------------------------------

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG: {width, height, channels, pixels}. */
export function decodePng(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const color = data[9];
      if (depth !== 8 || data[12] !== 0 || (color !== 2 && color !== 6)) {
        throw new Error(`unsupported PNG (depth ${depth}, color type ${color}, interlace ${data[12]})`);
      }
      channels = color === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : null;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels] : 0;
      const b = prev ? prev[i] : 0;
      const c = prev && i >= channels ? prev[i - channels] : 0;
      let v = line[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = v & 255;
    }
  }
  return { width, height, channels, pixels };
}

/**
 * Luma statistics of a region (fractions of the image: {x, y, w, h}) of a decoded PNG: mean,
 * variance, and the number of distinct luma values, for "is this picture blank" checks.
 */
export function lumaStats(img, region = { x: 0, y: 0, w: 1, h: 1 }) {
  const x0 = Math.floor(region.x * img.width);
  const y0 = Math.floor(region.y * img.height);
  const x1 = Math.min(img.width, x0 + Math.floor(region.w * img.width));
  const y1 = Math.min(img.height, y0 + Math.floor(region.h * img.height));
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  const seen = new Set();
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * img.width + x) * img.channels;
      const l = Math.round(0.299 * img.pixels[i] + 0.587 * img.pixels[i + 1] + 0.114 * img.pixels[i + 2]);
      n++;
      sum += l;
      sum2 += l * l;
      seen.add(l);
    }
  }
  const mean = n ? sum / n : 0;
  return { mean, variance: n ? sum2 / n - mean * mean : 0, distinct: seen.size };
}
