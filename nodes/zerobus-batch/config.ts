/**
 * The node's editor properties → TagBatcher options. Properties arrive as numbers from the
 * editor, or as strings when a user typed `${ENV}`; blank means "use the default".
 */
import { BATCH_DEFAULTS, BatcherOptionsError, type BatcherOptions, type CompressionRule } from '../../lib/batching';
import { flag } from '../common/flag';
import { readNumber } from '../common/number-property';

export interface BatchNodeConfig {
  size?: number | string;
  interval?: number | string;
  maxBytes?: number | string;
  debounce?: number | string;
  deadband?: number | string;
  deadbandPercent?: number | string;
  dropRepeats?: boolean | string;
  swingingDoor?: boolean | string;
  compDeviation?: number | string;
  compMaxInterval?: number | string;
  maxTags?: number | string;
  maxBuffered?: number | string;
  /** seconds between statistics messages on output 2; 0 = none */
  statsInterval?: number | string;
  /** per-tag compression rules, first match wins (the fields above are the default rule) */
  rules?: RuleConfig[];
}

/** One row of the editor's rule list; blank numbers mean "off". */
export interface RuleConfig {
  match?: string;
  matchType?: string;
  deadband?: number | string;
  deadbandUnit?: string;
  dropRepeats?: boolean | string;
  /** ms */
  minInterval?: number | string;
  /** swinging-door deviation; blank = no swinging door */
  deviation?: number | string;
  /** ms: heartbeat, and the swinging door's maximum interval */
  maxInterval?: number | string;
}

export const NODE_DEFAULTS = {
  size: BATCH_DEFAULTS.size,
  interval: BATCH_DEFAULTS.intervalMs,
  maxBytes: BATCH_DEFAULTS.maxBytes,
  compMaxInterval: BATCH_DEFAULTS.compMaxIntervalMs,
  maxTags: BATCH_DEFAULTS.maxTags,
  maxBuffered: BATCH_DEFAULTS.maxBuffered,
  statsInterval: 60,
} as const;

/** A number, the fallback when blank; text that is not a number is an error naming the property. */
function num(name: string, raw: unknown, fallback: number): number {
  const n = readNumber(raw);
  if (n === undefined) return fallback;
  if (Number.isNaN(n)) throw new BatcherOptionsError(name, `${name} must be a number (got "${String(raw)}")`);
  return n;
}

export interface NodeSettings {
  options: Omit<BatcherOptions, 'isBlocked' | 'now' | 'timers' | 'tracker'>;
  statsIntervalMs: number;
}

/** Throws BatcherOptionsError (naming the property) for values that are not numbers. */
export function settingsFromConfig(config: BatchNodeConfig): NodeSettings {
  const statsInterval = num('statsInterval', config.statsInterval, NODE_DEFAULTS.statsInterval);
  if (statsInterval < 0) throw new BatcherOptionsError('statsInterval', 'statsInterval must be >= 0');
  return {
    options: {
      size: num('size', config.size, NODE_DEFAULTS.size),
      intervalMs: num('interval', config.interval, NODE_DEFAULTS.interval),
      maxBytes: num('maxBytes', config.maxBytes, NODE_DEFAULTS.maxBytes),
      debounceMs: num('debounce', config.debounce, 0),
      deadband: num('deadband', config.deadband, 0),
      deadbandPercent: num('deadbandPercent', config.deadbandPercent, 0),
      dropRepeats: flag(config.dropRepeats, false),
      swingingDoor: flag(config.swingingDoor, false)
        ? {
            deviation: num('compDeviation', config.compDeviation, 0),
            maxIntervalMs: num('compMaxInterval', config.compMaxInterval, NODE_DEFAULTS.compMaxInterval),
          }
        : undefined,
      maxTags: num('maxTags', config.maxTags, NODE_DEFAULTS.maxTags),
      maxBuffered: num('maxBuffered', config.maxBuffered, NODE_DEFAULTS.maxBuffered),
      rules: rulesFromConfig(config.rules),
    },
    statsIntervalMs: statsInterval * 1000,
  };
}

/** The editor's rule rows → CompressionRule (validated by the batcher, which names the field). */
export function rulesFromConfig(rows: unknown): CompressionRule[] {
  if (rows === undefined || rows === null || rows === '') return [];
  if (!Array.isArray(rows)) throw new BatcherOptionsError('rules', 'rules must be a list');
  return rows.map((row: RuleConfig, i) => {
    const at = (field: string) => `rules[${i}].${field}`;
    const r = (row ?? {}) as RuleConfig;
    const deadband = num(at('deadband'), r.deadband, 0);
    const percent = r.deadbandUnit === 'percent';
    return {
      match: typeof r.match === 'string' ? r.match : '',
      matchType: r.matchType === 'regex' ? 'regex' : 'glob',
      deadband: percent ? 0 : deadband,
      deadbandPercent: percent ? deadband : 0,
      dropRepeats: flag(r.dropRepeats, false),
      minIntervalMs: num(at('minInterval'), r.minInterval, 0),
      deviation: readNumber(r.deviation) === undefined ? undefined : num(at('deviation'), r.deviation, 0),
      maxIntervalMs: num(at('maxInterval'), r.maxInterval, 0),
    };
  });
}
