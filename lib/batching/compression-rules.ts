/**
 * Per-tag compression rules: an ordered list of tag path patterns, each with its own filters
 * (deadband absolute or percent, drop repeats, minimum interval, swinging door, maximum
 * interval). A tag takes the first rule whose pattern matches its whole path, once, when its
 * state is made; a tag no rule matches takes the default rule (the batcher's own options).
 *
 * Patterns: a glob by default, where `*` matches within one path segment, `**` across
 * segments and `?` one character, everything else literally (the `[provider]` prefix
 * included), case-insensitively as Ignition compares tag paths; or a JavaScript regular
 * expression (`matchType: 'regex'`), matched against the whole path as written.
 */
import { BatcherOptionsError } from './options';

export interface CompressionRule {
  /** tag path pattern (see matchType) */
  match: string;
  matchType?: 'glob' | 'regex';
  /** absolute deadband: a numeric change must be larger than this to pass; 0 = off */
  deadband?: number;
  /** percent deadband, relative to the last value that passed; 0 = off */
  deadbandPercent?: number;
  /** drop a value equal (value, quality and type) to the last one that passed */
  dropRepeats?: boolean;
  /** drop a value less than this many ms (event time) after the last value of the tag that passed; 0 = off */
  minIntervalMs?: number;
  /** swinging-door compression deviation; undefined = no swinging door */
  deviation?: number;
  /**
   * heartbeat: a value arriving this many ms (event time) or more after the last value of the
   * tag that went on passes whatever the filters say; with the swinging door it is the door's
   * maximum interval (CompMax). 0 = off
   */
  maxIntervalMs?: number;
}

/** A rule ready to use, with the counters of the tags it governs. */
export interface ResolvedRule {
  /** position in the list; the default rule comes last */
  index: number;
  /** the pattern as written, or 'default' */
  match: string;
  matches: (tagPath: string) => boolean;
  deadband: number;
  deadbandPercent: number;
  dropRepeats: boolean;
  minIntervalMs: number;
  swingingDoor: { deviation: number; maxIntervalMs: number } | undefined;
  maxIntervalMs: number;
  /** the rule drops nothing: its tags need no per-tag state for it */
  passive: boolean;
  counters: RuleCounters;
}

export interface RuleCounters {
  /** values that reached the rule's filters */
  in: number;
  /** values that went on (for the swinging door: archived points) */
  out: number;
  /** values the rule's filters dropped */
  dropped: number;
  /** values that passed only as a heartbeat */
  heartbeats: number;
}

export interface RuleStats extends RuleCounters {
  match: string;
  /** dropped / (dropped + out), in percent with two decimals */
  reductionPercent: number;
}

/** The default rule: the filters of the batcher's own options. */
export interface DefaultFilters {
  deadband: number;
  deadbandPercent: number;
  dropRepeats: boolean;
  swingingDoor: { deviation: number; maxIntervalMs: number } | undefined;
}

export class CompressionRules {
  readonly all: readonly ResolvedRule[];

  constructor(rules: readonly CompressionRule[] | undefined, defaults: DefaultFilters) {
    const list = (rules ?? []).map((r, i) => resolveRule(r, i));
    list.push(
      finish({
        index: list.length,
        match: 'default',
        matches: () => true,
        deadband: defaults.deadband,
        deadbandPercent: defaults.deadbandPercent,
        dropRepeats: defaults.dropRepeats,
        minIntervalMs: 0,
        swingingDoor: defaults.swingingDoor,
        maxIntervalMs: 0,
      }),
    );
    this.all = list;
  }

  /** True when some rule filters at all (else no per-tag state is needed for them). */
  get active(): boolean {
    return this.all.some((r) => !r.passive);
  }

  /** The first rule matching the tag path; the default rule when none does. */
  ruleFor(tagPath: string): ResolvedRule {
    const rules = this.all;
    for (let i = 0; i < rules.length - 1; i++) if (rules[i].matches(tagPath)) return rules[i];
    return rules[rules.length - 1];
  }

  stats(): RuleStats[] {
    return this.all.map((r) => {
      const c = r.counters;
      const seen = c.dropped + c.out;
      return { match: r.match, ...c, reductionPercent: seen > 0 ? Math.round((10000 * c.dropped) / seen) / 100 : 0 };
    });
  }
}

function resolveRule(rule: CompressionRule, index: number): ResolvedRule {
  const at = (field: string) => `rules[${index}].${field}`;
  if (rule === null || typeof rule !== 'object') throw new BatcherOptionsError(`rules[${index}]`, `rules[${index}] must be an object`);
  const pattern = typeof rule.match === 'string' ? rule.match.trim() : '';
  if (pattern === '') throw new BatcherOptionsError(at('match'), `${at('match')}: give a tag path pattern`);
  const matchType = rule.matchType ?? 'glob';
  if (matchType !== 'glob' && matchType !== 'regex') throw new BatcherOptionsError(at('matchType'), `${at('matchType')} must be "glob" or "regex"`);
  const regex = matchType === 'regex' ? compileRegex(pattern, at('match')) : globToRegExp(pattern);
  const deviation = rule.deviation;
  return finish({
    index,
    match: pattern,
    matches: (tagPath) => regex.test(tagPath),
    deadband: nonNegative(at('deadband'), rule.deadband),
    deadbandPercent: nonNegative(at('deadbandPercent'), rule.deadbandPercent),
    dropRepeats: rule.dropRepeats === true,
    minIntervalMs: nonNegative(at('minIntervalMs'), rule.minIntervalMs),
    swingingDoor: deviation === undefined ? undefined : { deviation: nonNegative(at('deviation'), deviation), maxIntervalMs: nonNegative(at('maxIntervalMs'), rule.maxIntervalMs) },
    maxIntervalMs: nonNegative(at('maxIntervalMs'), rule.maxIntervalMs),
  });
}

function finish(r: Omit<ResolvedRule, 'passive' | 'counters'>): ResolvedRule {
  const passive = r.deadband === 0 && r.deadbandPercent === 0 && !r.dropRepeats && r.minIntervalMs === 0 && r.swingingDoor === undefined;
  return { ...r, passive, counters: { in: 0, out: 0, dropped: 0, heartbeats: 0 } };
}

function nonNegative(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new BatcherOptionsError(name, `${name} must be a number >= 0 (got ${String(value)})`);
  }
  return value;
}

function compileRegex(source: string, name: string): RegExp {
  try {
    // anchored: the whole tag path must match, as the successor module's rules do
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw new BatcherOptionsError(name, `${name} is not a valid regular expression: ${(err as Error).message}`);
  }
}

/** `**` any characters, `*` any within a segment, `?` one character; the rest literally. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else out += '[^/]*';
    } else if (ch === '?') out += '[^/]';
    else out += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 'i');
}
