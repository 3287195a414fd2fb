/** Shared setup of the client-vs-emulator tests: OT event rows with unique ids, codecs, checks. */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { startEmulator, type Emulator } from '../../../lib/emulator';
import { PACKAGE_ROOT, PROTO_DIR } from '../../../lib/paths';
import { descriptorProtoFromType, ZerobusClient, type StreamOptions, type ZerobusStream } from '../../../lib/zerobus';
import { waitFor as waitUntil } from '../../support/wait-for';

export const TABLE = 'main.ot.tag_events';
export const CLIENT_ID = 'test-client';
export const CLIENT_SECRET = 'test-secret-xyz';
export const FAST: Partial<StreamOptions> = { backoff: { initialMs: 20, maxMs: 100, jitter: 0.1 }, createTimeoutMs: 3000 };

export const OtEvent = new protobuf.Root().loadSync(path.join(PROTO_DIR, 'ot_event.proto'), { keepCase: true }).lookupType('ot_lakehouse.OtEvent');
export const OT_DESCRIPTOR = descriptorProtoFromType(OtEvent);

export interface Row {
  event_id: string; event_time: number; tag_path: string; tag_provider?: string; numeric_value?: number; string_value?: string;
  boolean_value?: boolean; quality?: string; quality_code?: number; source_system?: string; ingestion_timestamp: number; data_type?: string;
}

let counter = 0;
export function makeRows(n: number, prefix = 'r'): Row[] {
  const base = 1_750_000_000_000_000;
  return Array.from({ length: n }, () => {
    const i = counter++;
    const row: Row = { event_id: `${prefix}-${i}`, event_time: base + i, tag_path: `[default]Line${i % 7}/Speed`, tag_provider: 'default', quality: 'Good', quality_code: 192, source_system: 'test', ingestion_timestamp: base + i * 2 };
    if (i % 3 === 0) row.numeric_value = i / 4;
    else if (i % 3 === 1) row.string_value = `s${i} ü`;
    else row.boolean_value = i % 2 === 0;
    return row;
  });
}

export const asJson = (rows: Row[]) => rows.map((r) => JSON.stringify(r));
export const asProto = (rows: Row[]) => rows.map((r) => Buffer.from(OtEvent.encode(r).finish()));

export async function emulator(oauth = true, extra: Parameters<typeof startEmulator>[0] = {}): Promise<Emulator> {
  return startEmulator({
    grpcPort: 0,
    httpPort: 0,
    schemaFiles: [path.join(PACKAGE_ROOT, 'examples/tables/ot_events.sql')],
    ...(oauth ? { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } : {}),
    ...extra,
  });
}

export function clientFor(emu: Emulator, secret = CLIENT_SECRET): ZerobusClient {
  return new ZerobusClient({
    endpoint: emu.endpoint,
    workspaceUrl: emu.workspaceUrl,
    auth: { type: 'oauth', clientId: CLIENT_ID, clientSecret: secret },
    channelOptions: { 'grpc.initial_reconnect_backoff_ms': 20, 'grpc.max_reconnect_backoff_ms': 100 },
  });
}

/** Tracks which ids were acknowledged (their ingest() resolved) so duplicates can be judged. */
export class Ledger {
  readonly sent = new Set<string>();
  readonly acked = new Set<string>();
  private frozen?: Set<string>;

  ingest(stream: ZerobusStream, rows: Row[], encode: (r: Row[]) => Buffer[] | string[] = asJson): Promise<void> {
    for (const r of rows) this.sent.add(r.event_id);
    return stream.ingest(encode(rows)).then(() => {
      for (const r of rows) this.acked.add(r.event_id);
    });
  }

  /** Call when a fault is injected: records acked by now must never be duplicated. */
  faultNow(): void {
    this.frozen = new Set(this.acked);
  }

  /** Every sent id arrived; duplicates only of ids that were not acked when the fault hit. */
  check(emu: Emulator): void {
    const counts = new Map<string, number>();
    for (const row of emu.allRows(TABLE)) {
      const id = String(row.event_id);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const missing = [...this.sent].filter((id) => !counts.has(id));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} records missing`);
    const before = this.frozen ?? new Set<string>();
    const badDupes = [...counts].filter(([id, n]) => n > 1 && before.has(id)).map(([id]) => id);
    assert.deepEqual(badDupes.slice(0, 10), [], 'records acknowledged before the fault were written twice');
  }
}

/** test/support/wait-for.ts with the stream tests' argument order. */
export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  await waitUntil(what, cond, { timeoutMs, everyMs: 5 });
}

export function nextState(stream: ZerobusStream, state: string): Promise<{ error?: Error }> {
  return new Promise((resolve) => {
    const on = (s: string, d: { error?: Error }) => {
      if (s === state) {
        stream.off('state', on);
        resolve(d);
      }
    };
    stream.on('state', on);
  });
}
