/** Most characters of an answer quoted in an error. */
const EXCERPT_CHARACTERS = 200;
const REDACTED = '[redacted]';

/**
 * Every form in which a target's credentials could come back in an answer that echoes the
 * request (a proxy's error page, a debugging endpoint): the Authorization header, its base64
 * token, the user:password it decodes to and the password alone, each as sent, URL-encoded
 * and base64-encoded. Longest first, so that a longer form is removed whole.
 */
export function targetSecrets(authorization: string | undefined): string[] {
  if (!authorization) return [];
  const token = authorization.replace(/^Basic\s+/i, '');
  const credentials = Buffer.from(token, 'base64').toString('utf8');
  const password = credentials.slice(credentials.indexOf(':') + 1);
  const forms = new Set<string>();
  for (const secret of [authorization, token, credentials, password]) {
    if (secret === '') continue;
    const base64 = Buffer.from(secret).toString('base64');
    for (const form of [secret, encodeURIComponent(secret), base64, base64.replace(/=+$/, '')]) forms.add(form);
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * `text` from an answer made fit to quote in a log line, on the status page or in the API:
 * `secrets` removed, control and format characters and runs of whitespace made one space, at
 * most `characters` long.
 */
export function answerExcerpt(text: string, secrets: readonly string[], characters = EXCERPT_CHARACTERS): string {
  let clean = text;
  for (const secret of secrets) clean = clean.replace(new RegExp(escapeRegExp(secret), 'gi'), REDACTED);
  clean = clean.replace(/[\p{Cc}\p{Cf}\s]+/gu, ' ').trim();
  const chars = [...clean];
  return chars.length > characters ? `${chars.slice(0, characters).join('')}…` : clean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
