/**
 * A numeric editor property as a flow may hold it: a number from the editor, or text when a
 * user typed `${ENV}` or wrote the flow by hand. Blank (absent, null, only spaces) means "use
 * the default".
 */

/** The property's number: undefined when blank, NaN when it is not a finite number. */
export function readNumber(raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : NaN;
  if (typeof raw !== 'string') return NaN;
  const text = raw.trim();
  if (text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : NaN;
}

export interface NumberRule {
  /** smallest value taken; below it the fallback is used */
  min?: number;
  /** values must be greater than this; otherwise the fallback is used */
  above?: number;
  /** whole numbers: a fraction is rounded down (after the bounds are checked) */
  integer?: boolean;
}

/** The property's number, or `fallback` when it is blank, not a number or outside `rule`. */
export function numberProperty(raw: unknown, fallback: number, rule: NumberRule = {}): number {
  const n = readNumber(raw);
  if (n === undefined || Number.isNaN(n)) return fallback;
  if (rule.min !== undefined && n < rule.min) return fallback;
  if (rule.above !== undefined && n <= rule.above) return fallback;
  return rule.integer ? Math.floor(n) : n;
}
