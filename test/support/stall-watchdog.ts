/**
 * A mocha root hook (loaded by .mocharc.json): names the test whose event loop stopped turning.
 * Mocha's own timeouts are timers, so a test stuck in a synchronous loop or an endless chain of
 * promise callbacks never times out and the run hangs silently until CI gives up. A worker
 * thread, which keeps running, watches a heartbeat the main thread writes once a second; after
 * ZEROBUS_STALL_MS (default 120 s) without one it writes the running test to stderr and aborts
 * the process, so the run fails at once and says where.
 */
import { Worker } from 'worker_threads';
import type { Context } from 'mocha';

const STALL_MS = Number(process.env.ZEROBUS_STALL_MS) || 120_000;
const heartbeat = new Int32Array(new SharedArrayBuffer(4));

// plain JavaScript: the thread starts without the TypeScript loader
const WATCHER = `
const { workerData, parentPort } = require('worker_threads');
const fs = require('fs');
const beats = new Int32Array(workerData.buffer);
let running = '(between tests)';
let last = -1;
let since = Date.now();
parentPort.on('message', (title) => { running = title; });
setInterval(() => {
  const now = Atomics.load(beats, 0);
  if (now !== last) { last = now; since = Date.now(); return; }
  if (Date.now() - since < workerData.stallMs) return;
  fs.writeSync(2, '\\nthe event loop stalled for ' + Math.round((Date.now() - since) / 1000) + ' s in: ' + running + '\\n');
  process.kill(process.pid, 'SIGABRT');
}, 250);
`;

const watcher = new Worker(WATCHER, { eval: true, workerData: { buffer: heartbeat.buffer, stallMs: STALL_MS } });
watcher.unref();
// created before any test installs fake timers, so it stays a real timer
setInterval(() => Atomics.add(heartbeat, 0, 1), Math.min(1000, STALL_MS / 4)).unref();

export const mochaHooks = {
  beforeEach(this: Context): void {
    const test = this.currentTest;
    if (test) watcher.postMessage(`${test.file ?? ''}: ${test.fullTitle()}`);
  },
};
