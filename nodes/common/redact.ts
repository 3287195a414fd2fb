/** Removes secrets and bearer tokens from a text that will be shown (status, log, Catch, sidebar). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***');
}

/** Secrets shorter than this are not searched for: "***" in place of every "ab" would ruin the text. */
const MIN_SECRET_CHARS = 4;

/** A redactor for the secrets among a config node's credentials (client secret, token). */
export function redactorFor(credentials: { clientSecret?: unknown; token?: unknown } | undefined): (text: string) => string {
  const c = credentials ?? {};
  const secrets = [c.clientSecret, c.token].filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_CHARS);
  return (text) => redact(text, secrets);
}
