/**
 * The tag event: the unit of data that flows between this package's nodes in `msg.payload`
 * (docs/DESIGN.md §3). Field names are exactly those the Ignition scripts send.
 */
export type TagValue = number | boolean | string | null | TagValue[] | { [key: string]: TagValue } | bigint;

export interface TagEvent {
  /** Full tag path, provider prefix included, e.g. "[default]Line1/Speed". */
  tagPath: string;
  tagProvider?: string;
  value: TagValue;
  /** Quality name, e.g. "Good", "Bad_Stale". */
  quality?: string;
  /** Ignition 8 QualityCode as a signed 32-bit integer. */
  qualityCode?: number;
  /** Milliseconds since the Unix epoch (UTC). */
  timestamp: number;
  /** Ignition data type name, e.g. "Float8", "Int4", "Boolean", "String". */
  dataType?: string;
  sourceSystem?: string;
  alarmState?: string;
  alarmPriority?: number;
  /** Sparkplug store-and-forward data: real history that must not overwrite a live value. */
  historical?: boolean;
}
