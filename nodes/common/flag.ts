/**
 * A checkbox property as a flow may hold it: a boolean from the editor, or text ("true"/"false")
 * in a flow written by hand or from a ${VAR}. Anything else (absent, blank) is the default.
 */
export function flag(value: unknown, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'true') return true;
    if (text === 'false') return false;
  }
  return fallback;
}
