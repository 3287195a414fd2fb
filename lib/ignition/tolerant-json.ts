/**
 * JSON parsing that also understands the bare `NaN`, `Infinity` and `-Infinity` tokens a Jython
 * `system.util.jsonEncode` may write for non-finite floats (docs/DESIGN.md §12 B1): refusing them would
 * make the 8.1 script resend the batch forever. Normal bodies take the fast native path; only a
 * body that JSON.parse refuses is scanned again.
 */
import { randomBytes } from 'crypto';

export class JsonBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonBodyError';
  }
}

export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    const rewritten = replaceNonFiniteTokens(text);
    if (rewritten) {
      try {
        return rewritten.revive(JSON.parse(rewritten.text));
      } catch {
        // fall through: report the original error, it points at the real problem
      }
    }
    throw new JsonBodyError(`body is not valid JSON: ${shorten((first as Error).message)}`);
  }
}

/** Native parser messages quote the input; keep them short. */
function shorten(message: string): string {
  return message.length > 160 ? `${message.slice(0, 160)}…` : message;
}

const TOKENS: [string, number][] = [
  ['-Infinity', -Infinity],
  ['Infinity', Infinity],
  ['NaN', NaN],
];

/**
 * Replaces the non-finite tokens that stand outside strings by marker strings (random per call,
 * so no real string can collide) and returns a function that turns the markers of the parsed
 * value back into numbers. Returns undefined when there is no such token (simply malformed).
 */
function replaceNonFiniteTokens(text: string): { text: string; revive: (parsed: unknown) => unknown } | undefined {
  const marker = `\u0000nf-${randomBytes(6).toString('hex')}:`;
  const parts: string[] = [];
  let from = 0;
  let inString = false;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    if (c !== 0x2d /* - */ && c !== 0x49 /* I */ && c !== 0x4e /* N */) continue;
    for (const [token] of TOKENS) {
      if (text.startsWith(token, i) && !isIdentChar(text.charCodeAt(i + token.length)) && !isIdentChar(text.charCodeAt(i - 1))) {
        parts.push(text.slice(from, i), JSON.stringify(marker + token));
        i += token.length - 1;
        from = i + 1;
        found = true;
        break;
      }
    }
  }
  if (!found) return undefined;
  parts.push(text.slice(from));
  const values = new Map(TOKENS.map(([token, value]) => [marker + token, value]));
  const restore = (v: unknown): unknown => (typeof v === 'string' && v.startsWith(marker) ? values.get(v) : v);
  return { text: parts.join(''), revive: (parsed) => reviveIteratively(parsed, restore) };
}

/** JSON.parse's reviver recurses and overflows on deep nesting; this walk does not. */
function reviveIteratively(root: unknown, restore: (v: unknown) => unknown): unknown {
  const top = restore(root);
  const stack: unknown[] = [top];
  while (stack.length) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    const obj = node as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if (typeof v === 'string') obj[key] = restore(v);
      else if (v !== null && typeof v === 'object') stack.push(v);
    }
  }
  return top;
}

function isIdentChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2e;
}
