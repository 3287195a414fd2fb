/**
 * Per-tag filter state and the two stateless-looking filters (deadband, repeats) that compare
 * a value with the last value of the same tag that passed them.
 */
import { numericValueOf, sameValue, valueClassOf } from './event-fields';
import { SwingingDoor } from './swinging-door';

export class TagState<I> {
  /** set when the LRU cap removed this state: queued deadlines for it are stale */
  evicted = false;
  /** debounce: the newest value of the open window */
  pending: I | undefined = undefined;
  debounceGen = 0;
  deadbandRef: { v: number | undefined; cls: string } | undefined = undefined;
  repeatRef: { value: unknown; cls: string } | undefined = undefined;
  door: SwingingDoor<I> | undefined = undefined;
  holdGen = 0;
  holdScheduled = false;
}

/**
 * Deadband: a numeric value passes when it differs from the last value that passed by MORE
 * than the band, band = max(absolute, percent × |last| / 100). A quality or type change, or a
 * value that is not a finite number (now or last time), always passes.
 */
export function passDeadband(state: TagState<unknown>, event: unknown, absolute: number, percent: number): boolean {
  const v = numericValueOf(event);
  const cls = valueClassOf(event);
  const ref = state.deadbandRef;
  let pass = true;
  if (ref && v !== undefined && ref.v !== undefined && ref.cls === cls) {
    const band = Math.max(absolute, (percent * Math.abs(ref.v)) / 100);
    pass = Math.abs(v - ref.v) > band;
  }
  if (pass) state.deadbandRef = { v, cls };
  return pass;
}

/** Repeats: a value passes unless value, quality and type equal the last value that passed. */
export function passRepeat(state: TagState<unknown>, event: unknown): boolean {
  const value = (event as { value?: unknown }).value;
  const cls = valueClassOf(event);
  const ref = state.repeatRef;
  if (ref && ref.cls === cls && sameValue(ref.value, value)) return false;
  state.repeatRef = { value, cls };
  return true;
}
