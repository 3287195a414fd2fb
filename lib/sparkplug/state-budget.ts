/**
 * Estimates of the memory the host's per-edge state holds, for its byte budget
 * (HostOptions.maxStateBytes): estimated rather than measured, so that they cost little per value.
 */
import type { TagValue } from '../tags/event';
import type { RawTemplate } from './proto';
import { MAX_NESTING_DEPTH } from './limits';

/** Default of HostOptions.maxStateBytes. */
export const DEFAULT_MAX_STATE_BYTES = 256 * 1024 * 1024;
/** A metric definition's fixed cost (object, map entries, array slot), estimated. */
export const DEF_OVERHEAD_BYTES = 160;

export function holdsNoBytes(v: TagValue): boolean {
  return v === null || (typeof v !== 'string' && typeof v !== 'object');
}

/** Memory a value holds, estimated (strings two bytes per character, 16 per slot). */
export function valueBytes(v: TagValue): number {
  if (typeof v === 'string') return 16 + 2 * v.length;
  if (v === null || typeof v !== 'object') return 0;
  let n = 16;
  if (Array.isArray(v)) {
    for (const e of v) n += 8 + valueBytes(e);
  } else {
    for (const k in v) n += 16 + 2 * k.length + valueBytes(v[k]);
  }
  return n;
}

/** Memory a template definition holds (names, texts and the payload bytes it refers to), estimated. */
export function rawTemplateBytes(t: RawTemplate, depth: number): number {
  let n = 64;
  const held = (h: { name?: string; string_value?: string; bytes_value?: Uint8Array }): number =>
    64 + 2 * ((h.name?.length ?? 0) + (h.string_value?.length ?? 0)) + (h.bytes_value?.length ?? 0);
  for (const p of t.parameters ?? []) n += held(p);
  for (const m of t.metrics ?? []) {
    n += held(m);
    if (m.template_value && depth < MAX_NESTING_DEPTH) n += rawTemplateBytes(m.template_value, depth + 1);
  }
  return n;
}
