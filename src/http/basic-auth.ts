import { secretEquals } from './secret-compare.ts';

/** `Authorization: Basic …` → user and password, or null. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return null;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

/** Both parts are always compared (no early exit on a wrong user name), in constant time. */
export function basicAuthorized(header: string | undefined, admin: { user: string; password: string }): boolean {
  const c = basicCredentials(header);
  const userOk = secretEquals(c?.user ?? '', admin.user);
  const passOk = secretEquals(c?.password ?? '', admin.password);
  return c !== null && userOk && passOk;
}
