/**
 * `GET {path}/config`: the effective configuration of the pipeline behind a receiver, in the
 * field names of the Ignition Zerobus module's configuration (docs/MIGRATING.md maps each one),
 * read from the nodes the receiver feeds. Read-only: configuration lives in the flow, so
 * `POST {path}/config` is refused with a message that says where. Never a secret: the sinks'
 * views carry no client secret or token, and the API key is only reported as required or not.
 */
import type { SinkSettingsView } from '../delivery/sinks';
import type { AckMode } from './limits';

/** A zerobus-batch node between the receiver and a sink. */
export interface BatchSettingsView {
  size: number;
  intervalMs: number;
  /** events held while the downstream is blocked before input is refused */
  maxBuffered: number;
}

export interface ReceiverSettingsView {
  path: string;
  ack: AckMode;
  maxBodyBytes: number;
  maxEvents: number;
  durableTimeoutMs: number;
  apiKeyRequired: boolean;
}

/** What the receiver's node finds downstream of it. */
export interface Downstream {
  sinks: SinkSettingsView[];
  batches: BatchSettingsView[];
}

export const MIGRATION_GUIDE = 'docs/MIGRATING.md';

export const CONFIG_READ_ONLY_MESSAGE =
  'configuration lives in the Node-RED flow: change it in the editor (zerobus-config, zerobus-out, zerobus-batch and ' +
  `zerobus-ignition-in nodes) or through Node-RED's admin API (POST /flows); ${MIGRATION_GUIDE} of ` +
  '@ot-lakehouse/node-red-zerobus maps every field of the module\'s configuration to its node and property';

/**
 * The module's fields from the first sink and batch node found (a flow with several says so in
 * `sinks` and `batches`, listed in full), then the package's own view under its own names.
 */
export function effectiveConfig(receiver: ReceiverSettingsView, downstream: Downstream): Record<string, unknown> {
  const sink = downstream.sinks[0];
  const batch = downstream.batches[0];
  const [catalogName, schemaName, tableName] = sink ? sink.table.split('.') : [];
  return {
    enabled: true,
    workspaceUrl: sink?.workspaceUrl ?? null,
    zerobusEndpoint: sink?.endpoint ?? null,
    oauthClientId: sink?.clientId ?? null,
    catalogName: catalogName ?? null,
    schemaName: schemaName ?? null,
    tableName: tableName ?? null,
    targetTable: sink?.table ?? null,
    sourceSystemId: sink?.sourceSystem ?? null,
    batchSize: batch?.size ?? null,
    batchFlushIntervalMs: batch?.intervalMs ?? null,
    maxQueueSize: batch?.maxBuffered ?? null,
    configuredIn: 'flow',
    migrationGuide: MIGRATION_GUIDE,
    receiver,
    sinks: downstream.sinks.map((s) => ({ ...s })),
    batches: downstream.batches.map((b) => ({ ...b })),
  };
}
