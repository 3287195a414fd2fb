/**
 * API key check in constant time: both sides are hashed first, so neither the key's length nor
 * the position of the first wrong character shows in the response time.
 */
import { createHash, timingSafeEqual } from 'crypto';

export type ApiKeyCheck = (authorizationHeader: string | string[] | undefined) => boolean;

export function createApiKeyCheck(apiKey: string | undefined): ApiKeyCheck | undefined {
  if (!apiKey) return undefined;
  const expected = digest(apiKey);
  return (header) => {
    if (typeof header !== 'string') return false;
    const m = /^\s*Bearer\s+(.+?)\s*$/i.exec(header);
    // hash something even when the scheme is wrong, so that case costs the same time
    const given = digest(m ? m[1] : header);
    return timingSafeEqual(given, expected) && m !== null;
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
