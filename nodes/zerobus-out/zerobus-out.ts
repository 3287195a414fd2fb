import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import { deliveryTracker, ticketsOf } from '../../lib/delivery/tickets';
import { nextSinkInstance, sinkRegistry, type SinkSettingsView } from '../../lib/delivery/sinks';
import { handoverBoard } from '../../lib/delivery/handover';
import { MAX_STREAMS, ZerobusSink, isBackpressureError, type SinkFailure } from '../../lib/sink';
import { ReceiptCoalescer } from '../../lib/sink/receipt-coalescer';
import { decodeOtEventProto } from '../../lib/tags';
import { StandingNotice, SummedReport } from '../../lib/rate-limit';
import { NodeUpkeep } from '../common/upkeep';
import { shorten } from '../common/status';
import { redactorFor } from '../common/redact';
import { translator } from '../common/i18n';
import type { ZerobusConfigNode } from '../zerobus-config/zerobus-config';
import { resolveOutSettings, TABLE_NAME_RE, type ZerobusOutDef, type ZerobusOutRuntimeSettings } from './settings';
import { failureKind, statusFor } from './status-view';
import { perStreamFigures, streamsChip } from './stream-figures';

/** Receipts are summed and sent at most this often, so a dashboard is not flooded at 100k/s. */
const RECEIPT_INTERVAL_MS = 1000;
const STATUS_REFRESH_MS = 1000;
/** Records dropped by a full spool (overflow drop-oldest) are summed into one warning this often. */
const DROP_WARN_INTERVAL_MS = 10_000;
/** While the sink is stuck in a final error, arriving messages report it to Catch at most this often. */
const FAILED_REPORT_INTERVAL_MS = 10_000;
/** Records quoted in a Catch message for records that can never fit (the rest are counted). */
const MAX_REJECTED_IN_MSG = 100;
/** At a stop, the longest wait for upstream nodes handing over what they hold (appends take milliseconds). */
const HANDOVER_WAIT_MS = 3000;

interface ZerobusOutNode extends Node {
  sink?: ZerobusSink;
}

export default function (RED: NodeAPI): void {
  const t = translator(RED, 'zerobus-out');

  function ZerobusOut(this: ZerobusOutNode, def: ZerobusOutDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = RED.settings as unknown as ZerobusOutRuntimeSettings;
    const settings = resolveOutSettings(def, runtime);
    const upkeep = new NodeUpkeep(RED, node);
    const { status } = upkeep;
    const config = def.connection ? (RED.nodes.getNode(def.connection) as ZerobusConfigNode | null) : null;
    const clean = redactorFor(config?.credentials);
    let setupError: string | undefined;
    let sink: ZerobusSink | undefined;
    let registeredWithConfig = false;
    /** the final failure the sink is stuck in: arriving messages take it to Catch too, rate-limited */
    const stuckFailure = new StandingNotice<string>(FAILED_REPORT_INTERVAL_MS);
    const receipts = new ReceiptCoalescer(RECEIPT_INTERVAL_MS, (payload) => node.send({ topic: 'receipt', payload }));
    const drops = new SummedReport(DROP_WARN_INTERVAL_MS, (count) => node.warn(t('errors.dropped', { count })));

    try {
      if (!config) throw new Error(t('errors.noConnection'));
      if (!TABLE_NAME_RE.test(settings.table)) throw new Error(t('errors.tableName', { table: settings.table }));
      const client = config.register(node);
      registeredWithConfig = true;
      sink = new ZerobusSink({ ...settings.sink, client });
    } catch (err) {
      setupError = clean((err as Error).message);
      status.now({ fill: 'red', shape: 'ring', text: t('status.failed.config', { reason: shorten(setupError, 60) }) });
      node.error(t('errors.setup', { reason: setupError }), { topic: 'error', payload: { state: 'failed', code: 'CONFIG', message: setupError } });
    }
    node.sink = sink;

    // asked by every durable request upstream: the brief form, not the full stats
    const instance = nextSinkInstance();
    const unregisterSink = sinkRegistry.register(node.id, () => {
      const stats = sink?.brief();
      return {
        id: node.id,
        name: node.name || undefined,
        table: settings.table,
        accepting: !!sink && sink.accepting,
        connected: stats?.state === 'streaming',
        state: stats?.state ?? 'failed',
        backlog: stats?.backlog ?? 0,
        acknowledged: stats?.recordsOut ?? 0,
        instance,
        lastError: stats?.lastError ? clean(stats.lastError.message) : setupError,
      };
    }, () => settingsView(settings, config));

    // held events of upstream nodes closing in the same stop come here (lib/delivery/handover.ts);
    // stays registered until the spool has closed
    const unregisterHandover = sink ? handoverBoard.register(node.id, (items) => sink!.acceptHeld(items).then((r) => r.accepted)) : () => undefined;

    if (sink) wireSink(sink);
    if (sink && settings.rowsAsJson) node.warn(t('errors.rowsAsJson', { table: settings.table }));
    for (const bad of settings.invalid) node.warn(t(`errors.invalid.${bad.property}`, { ...bad, max: MAX_STREAMS }));

    function wireSink(s: ZerobusSink): void {
      const refresh = () => {
        const stats = s.stats();
        status.set(statusFor(s.state, stats, s.accepting, t));
        upkeep.live.publish({
          id: node.id,
          type: 'zerobus-out',
          name: node.name || settings.table,
          state: stats.state,
          eventsPerSec: stats.rateIn,
          ackedPerSec: stats.rateOut,
          totalIn: stats.recordsIn,
          totalAcked: stats.recordsOut,
          inFlight: stats.inFlight,
          backlog: stats.backlog,
          latencyP50: stats.latencyMs.p50,
          latencyP99: stats.latencyMs.p99,
          reconnects: stats.reconnects,
          lastError: stats.lastError ? clean(stats.lastError.message) : undefined,
          streams: perStreamFigures(stats),
          extra: { table: settings.table, spool: stats.spoolMode, rejected: stats.rejected, dropped: stats.dropped, ...streamsChip(stats) },
        });
      };
      s.on('state', (st) => {
        if (st.state === 'failed') {
          status.now(statusFor(st, s.stats(), s.accepting, t));
          return;
        }
        stuckFailure.clear(); // out of the final error: arriving messages no longer report it
        refresh();
      });
      s.on('failure', (failure) => reportFailure(failure));
      s.on('warning', (text) => node.warn(clean(text)));
      s.on('receipt', (r) => receipts.add(r));
      s.on('rejected', ({ seq, reason, record }) => {
        // A spooled record the table refused on its own (rows sent without a schema): to Catch, with the record.
        const value = readableRecord(record, settings.sink.format ?? 'ot-event', settings.sink.recordType ?? 'proto');
        const why = clean(reason);
        node.error(t('errors.refusedByTable', { table: settings.table, reason: why }), { topic: 'rejected', payload: value, rejected: [{ seq, reason: why, record: value }] });
      });
      s.on('drop', ({ records }) => drops.add(records));
      upkeep.every(STATUS_REFRESH_MS, refresh);
      if (settings.statsIntervalMs > 0) {
        upkeep.every(settings.statsIntervalMs, () => node.send({ topic: 'stats', payload: { ...s.stats(), lastError: cleanFailure(s.stats().lastError), node: node.id } }));
      }
      refresh();
      s.start().catch(() => undefined); // reported through 'failure'
    }

    /** Final errors reach Catch once per failure episode, with a message that says what to fix. */
    function reportFailure(failure: SinkFailure): void {
      const message = clean(failure.message);
      const hint = failure.hint ? clean(failure.hint) : undefined;
      const text = t(`errors.final.${failureKind(failure)}`, { table: settings.table, reason: message }) + (hint ? ` ${hint}` : '');
      const msg = { topic: 'error', payload: { state: 'failed', code: failure.code, message, hint, table: settings.table, backlog: sink?.stats().backlog ?? 0 } };
      stuckFailure.raise(text); // the next message reports it too, whenever it comes
      node.error(text, msg);
    }

    function cleanFailure(f: SinkFailure | undefined): SinkFailure | undefined {
      return f && { ...f, message: clean(f.message), hint: f.hint && clean(f.hint) };
    }

    node.on('input', (msg: NodeMessageInFlow, _send: (m: NodeMessage) => void, done: (err?: Error) => void) => {
      if (!sink) {
        done(new Error(t('errors.notReady', { reason: setupError ?? '' })));
        return;
      }
      const items = itemsOf(msg.payload);
      if (!items) {
        done(new Error(t('errors.payload')));
        return;
      }
      const tickets = ticketsOf(msg);
      if (items.length === 0) {
        deliveryTracker.settleAll(tickets);
        done();
        return;
      }
      // a message sent before a stop and delivered after this node closed (Node-RED delivers a
      // tick later) is held like the batches handed over at the stop (lib/delivery/handover.ts)
      const accepting = closing ? sink.acceptHeld(items) : sink.accept(items);
      if (closing) handoverBoard.track(accepting);
      accepting.then(
        (result) => {
          if (result.rejected.length === 0) {
            deliveryTracker.settleAll(tickets);
            // Spooled, but not going anywhere until the cause is fixed: messages that arrive
            // meanwhile tell Catch so too (rate-limited, the failure is the stream's, not theirs).
            const stuck = stuckFailure.due();
            done(stuck === undefined ? undefined : new Error(stuck));
            return;
          }
          const first = result.rejected[0].reason;
          deliveryTracker.settleWithFailures(tickets, result.rejected.length, first);
          (msg as Record<string, unknown>).rejected = result.rejected
            .slice(0, MAX_REJECTED_IN_MSG)
            .map((r) => ({ index: r.index, reason: r.reason, record: items[r.index] }));
          done(new Error(t('errors.rejected', { count: result.rejected.length, total: items.length, table: settings.table, reason: first })));
        },
        (err: Error) => {
          // Backpressure: nothing of this message was kept. Its delivery tickets stay open, so a
          // durable source answers 503 and the data is sent again.
          if (isBackpressureError(err)) done(new Error(t('errors.backpressure', { reason: clean(err.message) })));
          else done(new Error(clean(err.message)));
        },
      );
    });

    let closing = false;
    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      unregisterSink();
      upkeep.quiet();
      receipts.cancelInterval();
      const finish = async () => {
        // a fraction of the close budget waits for hand-overs, the rest drains and closes the spool
        const handovers = handoverBoard.settled(Math.min(HANDOVER_WAIT_MS, settings.closeTimeoutMs));
        if (sink) await sink.close(settings.closeTimeoutMs, handovers).catch((err: Error) => node.warn(clean(err.message)));
        unregisterHandover();
        sink?.removeAllListeners();
        if (config && registeredWithConfig) await config.deregister(node).catch(() => undefined);
      };
      let finished = false;
      const complete = () => {
        if (finished) return;
        finished = true;
        upkeep.end({});
        done();
      };
      // The sink bounds its own close; this guard keeps the node under Node-RED's 15 s whatever happens.
      const guard = setTimeout(complete, settings.closeTimeoutMs + 4000);
      guard.unref?.();
      finish()
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(guard);
          complete();
        });
    });
  }

  RED.nodes.registerType('zerobus-out', ZerobusOut);
}

/** A tag event / row, or an array of them; anything else is not a payload this node takes. */
function itemsOf(payload: unknown): unknown[] | undefined {
  if (Array.isArray(payload)) return payload;
  if (payload !== null && typeof payload === 'object' && !Buffer.isBuffer(payload)) return [payload];
  return undefined;
}

/** A spooled record as the user wrote it (JSON), or as the OT event row it encodes, else base64. */
function readableRecord(record: Buffer, format: string, recordType: string): unknown {
  try {
    if (recordType === 'json') return JSON.parse(record.toString('utf8'));
    if (format === 'ot-event') return decodeOtEventProto(record);
  } catch {
    // fall through: show the bytes
  }
  return record.toString('base64');
}

/** Where this node sends, for the receiver's configuration route: no secret in it. */
function settingsView(settings: ReturnType<typeof resolveOutSettings>, config: ZerobusConfigNode | null): SinkSettingsView {
  const s = settings.sink;
  return {
    table: settings.table,
    workspaceUrl: config?.workspaceUrl,
    endpoint: config?.endpoint,
    authType: config?.authType,
    clientId: config?.authType === 'oauth' ? config.credentials?.clientId : undefined,
    sourceSystem: s.sourceSystem ?? '',
    spool: s.spool?.dir === undefined ? 'memory' : 'disk',
    spoolMaxBytes: s.spool?.maxBytes ?? 0,
    overflow: s.spool?.overflow ?? 'block',
    maxInflightRecords: s.maxInflightRecords ?? 0,
  };
}
