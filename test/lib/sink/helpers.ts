import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../../lib/emulator';
import { PACKAGE_ROOT } from '../../../lib/paths';
import { ZerobusClient } from '../../../lib/zerobus';
import { NODE_RED_PATH } from '../../support/node-red-path';
import { waitFor as waitUntil } from '../../support/wait-for';

/** Shared fixtures of the sink and zerobus-out tests. */

export const OT_TABLE = 'main.ot.tag_events';
export const OT_EVENTS_SQL = fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', 'tables', 'ot_events.sql'), 'utf8');
export const CLIENT_ID = 'sink-test-client';
export const CLIENT_SECRET = 'sink-test-S3CRET-d0-not-leak';

/** A custom table with one column of every type the rows format supports. */
export const READINGS_TABLE = 'main.plant.readings';
export const READINGS_SQL = `CREATE TABLE main.plant.readings (
  id BIGINT NOT NULL,
  name STRING,
  tiny TINYINT,
  small SMALLINT,
  count INT,
  ratio FLOAT,
  value DOUBLE,
  ok BOOLEAN,
  payload BINARY,
  day DATE,
  at TIMESTAMP,
  at_local TIMESTAMP_NTZ,
  amount DECIMAL(10,2),
  attrs MAP<STRING, STRING>,
  samples ARRAY<DOUBLE>,
  point STRUCT<x: DOUBLE, y: DOUBLE>,
  extra VARIANT
)`;

export async function startTestEmulator(extra: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({
    grpcPort: 0,
    httpPort: 0,
    schemaSql: [OT_EVENTS_SQL, READINGS_SQL],
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    ...extra,
  });
}

export function clientFor(emu: Emulator, secret = CLIENT_SECRET): ZerobusClient {
  return new ZerobusClient({
    endpoint: emu.endpoint,
    workspaceUrl: emu.workspaceUrl,
    auth: { type: 'oauth', clientId: CLIENT_ID, clientSecret: secret },
  });
}

/** Fast recovery for tests: the defaults (500 ms .. 30 s) would make them slow. */
export const FAST_BACKOFF = { initialMs: 20, maxMs: 200, multiplier: 2, jitter: 0 };

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** test/support/wait-for.ts with the sink tests' argument order and timeout. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  await waitUntil(what, cond, { timeoutMs });
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** n distinct numeric tag events. */
export function numericEvents(n: number, prefix = 'Line1/Speed', from = 0): Record<string, unknown>[] {
  const base = 1765456245000;
  return Array.from({ length: n }, (_, i) => ({
    tagPath: `[default]${prefix}${(from + i) % 50}`,
    value: from + i + 0.5,
    quality: 'Good',
    qualityCode: 192,
    timestamp: base + from + i,
    dataType: 'Float8',
  }));
}

/** Active handles and requests by kind (timers, sockets, files, servers...). */
export function activeHandles(): Record<string, number> {
  return countBy(process.getActiveResourcesInfo());
}

/** Kinds whose count grew between two snapshots. */
export function leakedSince(before: Record<string, number>): Record<string, number> {
  const after = activeHandles();
  const grown: Record<string, number> = {};
  for (const [kind, n] of Object.entries(after)) if (n > (before[kind] ?? 0)) grown[kind] = n - (before[kind] ?? 0);
  return grown;
}

export function countBy(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of list) out[k] = (out[k] ?? 0) + 1;
  return out;
}

/** node-red-node-test-helper (untyped package): the part these tests use. */
export interface NodeTestHelper {
  init(nodeRedPath: string): void;
  settings(s: Record<string, unknown>): Record<string, unknown>;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(fns: unknown[], flow: Record<string, unknown>[], credentials?: Record<string, unknown>): Promise<void>;
  setFlows(flow: Record<string, unknown>[], type: 'full' | 'flows' | 'nodes', credentials?: Record<string, unknown>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): any;
  log(): any;
  request(): any;
  /** http://<address>:<port> of the helper's server (the editor's comms websocket is at /comms) */
  url(): string;
}

export const nodeHelper: NodeTestHelper = require('node-red-node-test-helper');
nodeHelper.init(NODE_RED_PATH);
