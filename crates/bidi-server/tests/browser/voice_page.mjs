#!/usr/bin/env node
// Drives bidi-server's voice page in headless Chromium with a WAV file as the microphone,
// and checks the page's contract end to end: status transitions, 20 ms PCM16 frames at
// 50 a second, transcripts, tool lines, assistant audio played, barge-in flushing the
// playback, bidi_playback reports, Stop, Start again, and (optionally) a 401 for a wrong
// token.
//
//   node voice_page.mjs --url http://127.0.0.1:PORT/?token=T --wav mic.wav \
//        [--out result.json] [--bad-token-url http://127.0.0.1:PORT/?token=wrong] [--no-restart]
//
// Uses Debian's Chromium ($CHROMIUM or /usr/bin/chromium); never downloads a browser.
// Prints a JSON summary (to stdout, or to --out); exits 0 when every check passed, 1 with
// a one-line `FAIL: reason` on stderr otherwise, 2 on bad usage.

import { chromium } from 'playwright-core';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

// ---- limits --------------------------------------------------------------------------
const CONNECT_TIMEOUT_MS = 10_000;
const CONVERSATION_TIMEOUT_MS = 30_000;   // user + assistant lines and audio played
const INTERRUPTION_TIMEOUT_MS = 30_000;
const AFTER_INTERRUPTION_MS = 200;        // playback must stop within this
const MAX_GROWTH_AFTER_INTERRUPTION = 0.2 * 24000; // samples: 200 ms of 24 kHz audio
const RATE_WINDOW_MS = 2500;              // framesSent rate measured over this (>= 2 s)
const FRAMES_PER_S = [40, 60];
const QUIET_AFTER_CLOSE_MS = 500;
const MAX_PLAYBACK_REPORT_GAP_MS = 250;   // while audio plays
const REPORT_AFTER_FLUSH_MS = 250;        // a bidi_playback soon after a bidi_interruption

// ---- arguments -------------------------------------------------------------------------
function usage(msg) {
  if (msg) console.error(msg);
  console.error('usage: node voice_page.mjs --url URL --wav FILE.wav [--out result.json] [--bad-token-url URL] [--no-restart]');
  process.exit(2);
}
const opts = { restart: true };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
  if (a === '--url') opts.url = value();
  else if (a === '--wav') opts.wav = value();
  else if (a === '--out') opts.out = value();
  else if (a === '--bad-token-url') opts.badTokenUrl = value();
  else if (a === '--no-restart') opts.restart = false;
  else if (a === '-h' || a === '--help') usage();
  else usage(`unknown argument ${a}`);
}
if (!opts.url || !opts.wav) usage('--url and --wav are required');
const wav = resolve(opts.wav);
if (!existsSync(wav)) usage(`no such file: ${wav}`);

// ---- the run ---------------------------------------------------------------------------
const t0 = Date.now();
const since = () => Date.now() - t0;
const summary = {
  ok: false, reason: null, url: opts.url, wav,
  transcript: [], tools: [], errors: [], stats: null, statusLog: [], timings: {}, checks: {},
  socket: { framesSent: 0, badFrames: [], playbackReports: [], received: {} },
  pageErrors: [], consoleErrors: [],
};

class Fail extends Error {}
function check(cond, reason) { if (!cond) throw new Fail(reason); }

// Resolves when page-side `fn(arg)` is truthy; fails with `reason` after `timeout` ms.
async function waitFor(page, fn, arg, timeout, reason) {
  try {
    return await page.waitForFunction(fn, arg, { timeout, polling: 10 });
  } catch (e) {
    if (e.name === 'TimeoutError') throw new Fail(`${reason} (after ${timeout} ms)`);
    throw e;
  }
}

const stats = (page) => page.evaluate(() => ({ ...window.bidiStats }));
const text = (page, id) => page.locator(`[data-testid="${id}"]`).innerText();
const lines = async (page, id) => (await text(page, id)).split('\n').map((l) => l.trim()).filter(Boolean);

// Watches the socket traffic: the audio frames' format, the bidi_playback reports, and
// when each server event arrived.
function watchSocket(page) {
  const sock = summary.socket;
  const times = { interruptions: [] };
  page.on('websocket', (ws) => {
    sock.url = ws.url().replace(/token=[^&]*/, 'token=***');
    ws.on('framesent', ({ payload }) => {
      let ev;
      try { ev = JSON.parse(payload); } catch { sock.badFrames.push('not JSON'); return; }
      if (ev.type === 'bidi_audio_input') {
        sock.framesSent++;
        const bytes = Buffer.from(ev.audio ?? '', 'base64').length;
        const keys = Object.keys(ev).sort().join(',');
        if (bytes !== 640 || ev.format !== 'pcm' || ev.sample_rate !== 16000 || ev.channels !== 1
            || keys !== 'audio,channels,format,sample_rate,type') {
          if (sock.badFrames.length < 5) sock.badFrames.push({ bytes, keys, format: ev.format, sample_rate: ev.sample_rate });
        }
        sock.lastFrameAt = since();
      } else if (ev.type === 'bidi_playback') {
        sock.playbackReports.push({ t: since(), played_ms: ev.played_ms, response_id: ev.response_id });
      }
    });
    ws.on('framereceived', ({ payload }) => {
      let type = 'binary';
      try { type = JSON.parse(payload).type; } catch { /* not JSON */ }
      sock.received[type] = (sock.received[type] || 0) + 1;
      if (type === 'bidi_interruption') times.interruptions.push(since());
    });
    ws.on('close', () => { sock.closedAt = since(); });
  });
  return times;
}

async function run(browser) {
  const context = await browser.newContext({ permissions: ['microphone'] });
  const page = await context.newPage();
  page.on('pageerror', (e) => summary.pageErrors.push(String(e && e.message || e)));
  page.on('console', (m) => { if (m.type() === 'error') summary.consoleErrors.push(m.text()); });
  const sockTimes = watchSocket(page);

  // -- open the page
  const resp = await page.goto(opts.url, { waitUntil: 'load' });
  check(resp && resp.status() === 200, `GET page: HTTP ${resp && resp.status()}`);
  const status0 = await text(page, 'status');
  check(status0 === 'idle', `status before start is "${status0}", not "idle"`);

  // Page-side watchers: every status text with its time; the interruptions baseline when
  // the assistant starts answering (its first transcript line or its first audio played,
  // whichever shows first: a provider may deliver the interrupted answer's final transcript
  // only after the interruption); samplesPlayed at the moment an interruption shows in
  // bidiStats and 200 ms later; the samplesPlayed 200 ms before it (was audio playing?).
  await page.evaluate(({ afterMs }) => {
    const w = window.__watch = { status: [], baseline: null, interruption: null, history: [] };
    const t0 = performance.now();
    const statusEl = document.querySelector('[data-testid="status"]');
    new MutationObserver(() => w.status.push({ t: Math.round(performance.now() - t0), text: statusEl.textContent }))
      .observe(statusEl, { childList: true, characterData: true, subtree: true });
    const tick = () => {
      const s = window.bidiStats;
      const now = performance.now();
      w.history.push({ t: now, samplesPlayed: s.samplesPlayed });
      while (w.history.length && now - w.history[0].t > 1000) w.history.shift();
      if (w.baseline === null) {
        const lines = document.querySelector('[data-testid="transcript"]').innerText.split('\n');
        const line = lines.some((l) => l.startsWith('assistant: '));
        if (line || s.samplesPlayed > 0) {
          w.baseline = { t: now - t0, interruptions: s.interruptions, at: line ? 'first assistant line' : 'first audio played' };
        }
      } else if (!w.interruption && s.interruptions > w.baseline.interruptions) {
        const before = w.history.find((h) => now - h.t <= 200 + 5) || w.history[0];
        const it = w.interruption = { t: now - t0, samplesPlayed: s.samplesPlayed, samplesPlayed200msBefore: before.samplesPlayed };
        setTimeout(() => { it.samplesPlayedAfter = window.bidiStats.samplesPlayed; it.afterMs = performance.now() - t0 - it.t; }, afterMs);
      }
    };
    setInterval(tick, 5);
  }, { afterMs: AFTER_INTERRUPTION_MS });

  // -- start
  await page.locator('[data-testid="start"]').click();
  const tStart = since();
  await waitFor(page, () => document.querySelector('[data-testid="status"]').textContent === 'connected', null,
    CONNECT_TIMEOUT_MS, 'status never became "connected"')
    .catch(async (e) => { throw new Fail(`${e.message}; status is "${await text(page, 'status')}"`); });
  summary.timings.connectedMs = since() - tStart;
  let log = await page.evaluate(() => window.__watch.status.map((s) => s.text));
  check(log[0] === 'connecting' && log[1] === 'connected', `status went ${JSON.stringify(log)}, not connecting -> connected`);

  // -- a question and its answer
  await waitFor(page, () => {
    const lines = document.querySelector('[data-testid="transcript"]').innerText.split('\n');
    return lines.some((l) => l.startsWith('user: ')) && lines.some((l) => l.startsWith('assistant: '))
      && window.bidiStats.samplesPlayed > 0;
  }, null, CONVERSATION_TIMEOUT_MS, 'no "user: " and "assistant: " transcript lines with audio played');
  summary.timings.answeredMs = since() - tStart;

  // -- the barge-in: an interruption after the first assistant line, and playback stops
  await waitFor(page, () => window.__watch.interruption && window.__watch.interruption.samplesPlayedAfter !== undefined,
    null, INTERRUPTION_TIMEOUT_MS, 'no bidi_interruption after the assistant started answering');
  const w = await page.evaluate(() => window.__watch);
  const it = w.interruption;
  summary.timings.interruptionMs = Math.round(it.t);
  summary.checks.interruption = {
    baselineInterruptions: w.baseline.interruptions,
    baselineTakenAt: w.baseline.at,
    samplesPlayed200msBefore: it.samplesPlayed200msBefore,
    samplesPlayedAtInterruption: it.samplesPlayed,
    samplesPlayedAfter: it.samplesPlayedAfter,
    afterMs: Math.round(it.afterMs),
    growth: it.samplesPlayedAfter - it.samplesPlayed,
    wasPlaying: it.samplesPlayed > it.samplesPlayed200msBefore,
  };
  check(it.samplesPlayedAfter - it.samplesPlayed <= MAX_GROWTH_AFTER_INTERRUPTION,
    `playback went on after the interruption: samplesPlayed grew by ${it.samplesPlayedAfter - it.samplesPlayed} in ${Math.round(it.afterMs)} ms`);

  // -- 50 frames a second
  const a = await page.evaluate(() => ({ t: performance.now(), n: window.bidiStats.framesSent }));
  await page.waitForTimeout(RATE_WINDOW_MS);
  const b = await page.evaluate(() => ({ t: performance.now(), n: window.bidiStats.framesSent }));
  const fps = (b.n - a.n) / ((b.t - a.t) / 1000);
  summary.checks.framesPerSecond = Math.round(fps * 10) / 10;
  check(fps >= FRAMES_PER_S[0] && fps <= FRAMES_PER_S[1], `framesSent grows ${fps.toFixed(1)}/s, not ${FRAMES_PER_S.join('..')}`);
  check(summary.socket.badFrames.length === 0, `malformed bidi_audio_input: ${JSON.stringify(summary.socket.badFrames[0])}`);

  // -- bidi_playback reports: steady while audio plays, and one right after the flush
  checkPlaybackReports(sockTimes);

  // -- stop: closed, and nothing sent afterwards
  summary.transcript = await lines(page, 'transcript');
  summary.tools = await lines(page, 'tools');
  summary.errors = await lines(page, 'errors');
  await stopAndCheckQuiet(page, 'stop');

  // -- start again after stop
  if (opts.restart) {
    const n0 = (await stats(page)).framesSent;
    await page.locator('[data-testid="start"]').click();
    await waitFor(page, () => document.querySelector('[data-testid="status"]').textContent === 'connected', null,
      CONNECT_TIMEOUT_MS, 'after Stop, Start did not reach "connected" again');
    await waitFor(page, (n) => window.bidiStats.framesSent >= n + 25, n0, 5000, 'after Stop, Start sent no frames');
    await stopAndCheckQuiet(page, 'second stop');
    summary.checks.restart = 'ok';
  }

  summary.stats = await stats(page);
  summary.statusLog = (await page.evaluate(() => window.__watch.status)).map((s) => `${s.t}ms ${s.text}`);
  summary.closeInfo = await text(page, 'closeinfo');
  check(summary.pageErrors.length === 0, `page error: ${summary.pageErrors[0]}`);
  check(summary.consoleErrors.length === 0, `console error: ${summary.consoleErrors[0]}`);
  await context.close();
}

function checkPlaybackReports(sockTimes) {
  const reports = summary.socket.playbackReports;
  check(reports.length > 0, 'no bidi_playback report was sent');
  // While audio plays (played_ms of one response going up), reports come often enough.
  let maxGap = 0;
  for (let i = 1; i < reports.length; i++) {
    const [p, q] = [reports[i - 1], reports[i]];
    if (p.response_id === q.response_id && q.played_ms > p.played_ms) maxGap = Math.max(maxGap, q.t - p.t);
  }
  const firstInterruption = sockTimes.interruptions[0];
  const afterFlush = reports.find((r) => r.t >= firstInterruption);
  summary.checks.playbackReports = {
    count: reports.length,
    maxGapWhilePlayingMs: maxGap,
    firstAfterInterruptionMs: afterFlush ? afterFlush.t - firstInterruption : null,
    atInterruption: afterFlush || null,
  };
  check(maxGap <= MAX_PLAYBACK_REPORT_GAP_MS, `bidi_playback reports ${maxGap} ms apart while audio played`);
  check(afterFlush && afterFlush.t - firstInterruption <= REPORT_AFTER_FLUSH_MS,
    'no bidi_playback report right after the interruption');
}

async function stopAndCheckQuiet(page, what) {
  await page.locator('[data-testid="stop"]').click();
  await waitFor(page, () => document.querySelector('[data-testid="status"]').textContent === 'closed', null,
    2000, `${what}: status did not become "closed"`);
  const n = (await stats(page)).framesSent;
  const sent = summary.socket.framesSent;
  await page.waitForTimeout(QUIET_AFTER_CLOSE_MS);
  const n2 = (await stats(page)).framesSent;
  check(n2 === n, `${what}: framesSent grew from ${n} to ${n2} after "closed"`);
  check(summary.socket.framesSent === sent, `${what}: audio frames went out on the socket after "closed"`);
}

// A wrong token: the page itself is refused with 401.
async function badToken(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const resp = await page.goto(opts.badTokenUrl);
  summary.checks.badToken = { status: resp && resp.status() };
  await context.close();
  check(resp && resp.status() === 401, `wrong token: the page answered HTTP ${resp && resp.status()}, not 401`);
}

let browser;
let code = 1;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless=new',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
      '--autoplay-policy=no-user-gesture-required',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  summary.browser = browser.version();
  await run(browser);
  if (opts.badTokenUrl) await badToken(browser);
  summary.ok = true;
  code = 0;
} catch (e) {
  summary.reason = e instanceof Fail ? e.message : `harness error: ${e && e.stack || e}`;
} finally {
  summary.timings.totalMs = since();
  if (browser) await browser.close().catch(() => {});
}
const json = JSON.stringify(summary, null, 2);
if (opts.out) writeFileSync(opts.out, json + '\n');
else console.log(json);
if (code !== 0) console.error(`FAIL: ${summary.reason.split('\n')[0]}`);
else console.error('PASS');
process.exit(code);
