/** Sparkplug B: payload codec, topic namespace, host application state machine and MQTT host connection. */
export * from './datatypes';
export { decodeArray, encodeArray, type ArrayElement } from './arrays';
export {
  COMPRESSED_UUID, SparkplugDecodeError, decodeRawPayload, decodePayload, encodePayload, encodeRebirthCommand,
  compressPayload, metricValue, aliasKey,
  type AliasKey, type DecodeOptions, type DecodedPayload, type DecodedMetric, type DecodedTemplate,
  type PayloadInput, type MetricInput, type TemplateInput, type DataSetInput,
} from './codec';
export { metricQuality, propertySetValue } from './properties';
export { SparkplugValueError, type DataSetValue } from './values';
export * from './topic';
export * from './tag-path';
export * from './host';
export * from './host-connection';
