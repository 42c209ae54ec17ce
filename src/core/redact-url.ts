/**
 * The one way a URL appears in logs, errors and reports: as written, with the password (if
 * any) replaced by `***`. Text, not `new URL()`, so an unparseable value is redacted too and
 * a parseable one is not rewritten.
 */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
}
