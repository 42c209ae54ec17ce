/**
 * MIME types as RFC 9110 defines them: `type "/" subtype *( OWS ";" OWS parameter )`, each
 * name a `token`, each parameter value a token or a quoted string of printable ASCII.
 * Anchored at both ends: a value that passes can go into a `Content-Type` header as it is
 * (no CR/LF, no second header smuggled behind it — issue 11 item 10).
 */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*"';
const MIME = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*$`);

export function isMimeType(value: string): boolean {
  return value.length <= 255 && MIME.test(value);
}

/** Media that browsers show without running code of its own (SVG is a document: it can hold scripts). */
export function isInlineSafeMedia(mime: string): boolean {
  const t = mime.split(';')[0].trim().toLowerCase();
  return /^(image|audio|video)\/[^/]+$/.test(t) && !t.startsWith('image/svg');
}

/** A lone UTF-16 surrogate (half of a pair): not text, and many encoders choke on it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string is not acceptable text, or null: NUL characters and lone surrogates. */
export function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode text (it holds a lone surrogate)';
  return null;
}
