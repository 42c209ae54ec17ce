/**
 * Workstation (computer / domain) user identity, the unit seats of 48 and 49 are counted by
 * (licensing.md, rule 2).
 *
 * Rule: trim surrounding white space (tabs and line ends included), reject control characters
 * inside, lower-case, and write every form as `user@domain`:
 *   `CORP\Ivanov`, `corp\ivanov`, `  CORP\IVANOV `, `ivanov@corp`, `ivanov@CORP` → `ivanov@corp`
 *   `ivanov@corp.local` → `ivanov@corp.local` (a UPN keeps its full DNS domain)
 *   `ivanov` → `ivanov` (no domain: a local user)
 * A NetBIOS domain (`CORP`) and a DNS domain (`corp.local`) are different strings and are
 * not guessed to be the same; `domainAliases` (e.g. `{ "corp.local": "corp" }`) maps one to
 * the other when a site's clients report both forms.
 */
import { ValidationError } from '../core/index.ts';

export class InvalidWorkstationUserError extends ValidationError {
  constructor(message: string) {
    super(message, 'invalid_workstation_user', 400);
  }
}

// C0 and C1 control characters and DEL.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function normalizeWorkstationUser(raw: string, domainAliases: Readonly<Record<string, string>> = {}): string {
  if (typeof raw !== 'string') throw new InvalidWorkstationUserError('The workstation user must be a string.');
  const s = raw.trim().toLowerCase();
  if (!s) throw new InvalidWorkstationUserError('The workstation user is empty.');
  if (CONTROL.test(s)) throw new InvalidWorkstationUserError('The workstation user contains control characters.');
  let user: string;
  let domain: string | null;
  const bs = s.indexOf('\\');
  if (bs >= 0) {
    domain = s.slice(0, bs).trim();
    user = s.slice(bs + 1).trim();
    if (!domain || !user || user.includes('\\') || user.includes('@')) {
      throw new InvalidWorkstationUserError(`The workstation user "${raw.trim()}" is not of the form DOMAIN\\user.`);
    }
  } else if (s.includes('@')) {
    const at = s.lastIndexOf('@');
    user = s.slice(0, at).trim();
    domain = s.slice(at + 1).trim();
    if (!domain || !user || user.includes('@')) {
      throw new InvalidWorkstationUserError(`The workstation user "${raw.trim()}" is not of the form user@domain.`);
    }
  } else {
    user = s;
    domain = null;
  }
  if (domain === null) return user;
  const aliased = domainAliases[domain];
  return `${user}@${aliased ? aliased.trim().toLowerCase() : domain}`;
}
