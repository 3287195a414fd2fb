import * as crypto from 'crypto';
import { EVENT_ID_NAMESPACE } from '../../../lib/tags/row';

/** UUID v5 of `name` in the event id namespace, computed the textbook way with a node:crypto Hash. */
export function referenceUuidV5(name: string): string {
  const ns = Buffer.from(EVENT_ID_NAMESPACE.replace(/-/g, ''), 'hex');
  const h = crypto.createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
