import { murmur128 } from '../../../lib/ignition/dedup-key';

/** Keys for `names` as the receiver holds them: four words each. */
export function keys(...names: string[]): Int32Array {
  const out = new Int32Array(4 * names.length);
  names.forEach((name, i) => {
    const bytes = Buffer.from(name);
    murmur128(bytes, bytes.length, out, 4 * i);
  });
  return out;
}
