/**
 * Per-tag filter state and the two stateless-looking filters (deadband, repeats) that compare
 * a value with the last value of the same tag that passed them.
 */
import type { ResolvedRule } from './compression-rules';
import { sameValue } from './event-fields';
import { SwingingDoor } from './swinging-door';

export class TagState<I> {
  /** set when the LRU cap removed this state: queued deadlines for it are stale */
  evicted = false;
  /** access sequence number when last seen, and when (re)inserted in the tag map (see stateFor) */
  seen = 0;
  queued = 0;
  /** debounce: the newest value of the open window */
  pending: I | undefined = undefined;
  debounceGen = 0;
  // references are fields, not objects: no allocation per passing value
  hasDeadbandRef = false;
  deadbandV: number | undefined = undefined;
  deadbandCls = '';
  hasRepeatRef = false;
  repeatValue: unknown = undefined;
  repeatCls = '';
  door: SwingingDoor<I> | undefined = undefined;
  /** the compression rule of this tag (first match, else the default) */
  rule!: ResolvedRule;
  /** event time and class of the last value that went on past the rule's filters */
  hasPass = false;
  passT = 0;
  passCls = '';
  holdGen = 0;
  holdScheduled = false;
}

/**
 * Deadband: a numeric value passes when it differs from the last value that passed by MORE
 * than the band, band = max(absolute, percent × |last| / 100). A quality or type change, or a
 * value that is not a finite number (now or last time), always passes.
 */
export function passDeadband(state: TagState<unknown>, v: number | undefined, cls: string, absolute: number, percent: number): boolean {
  const ref = state.deadbandV;
  if (state.hasDeadbandRef && v !== undefined && ref !== undefined && state.deadbandCls === cls) {
    const band = Math.max(absolute, (percent * Math.abs(ref)) / 100);
    if (!(Math.abs(v - ref) > band)) return false;
  }
  state.hasDeadbandRef = true;
  state.deadbandV = v;
  state.deadbandCls = cls;
  return true;
}

/** Repeats: a value passes unless value, quality and type equal the last value that passed. */
export function passRepeat(state: TagState<unknown>, value: unknown, cls: string): boolean {
  if (state.hasRepeatRef && state.repeatCls === cls && sameValue(state.repeatValue, value)) return false;
  state.hasRepeatRef = true;
  state.repeatValue = value;
  state.repeatCls = cls;
  return true;
}
