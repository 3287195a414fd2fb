/** Tag events: the event model, quality codes, normalisation and the OT event row. */
export * from './event';
export * from './quality';
export * from './data-type';
export * from './normalise';
export { parseTimestamp, epochToMillis, MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS } from './timestamp';
export { jsonText, canonicalValueText, setOwnMember, MAX_VALUE_DEPTH } from './json-value';
export * from './row';
export { uuidV5, uuidBytes } from './uuid-v5';
export * from './row-codec';
