export { ZerobusSink, toFailure, type ZerobusSinkEvents } from './sink';
export { BackpressureError, SinkConfigError, isBackpressureError, type BackpressureReason } from './errors';
export { SINK_DEFAULTS, MAX_REQUEST_BYTES, MAX_STREAMS, type ZerobusSinkOptions, type SinkFormat, type SinkRecordType } from './options';
export type { AcceptResult, RejectedRecord, SinkFailure, SinkReceipt, SinkStats, SinkStatus, SinkStateName, SinkStreamStats } from './types';
export { createRecordEncoder, type RecordEncoder, type EncodeOutcome } from './record-encoder';
