/**
 * Deliberately broken variants of the 1C contract, one per rule of onec-http-service.md,
 * so that `chat-connector onec-check` can be proven to catch each of them (the emulator
 * keeps the contract when no fault is set). A fault bends exactly one rule and leaves
 * every other one intact; that is what lets a test demand that exactly one check fails.
 *
 * The emulator asks this module at a few points of a request (credentials, session
 * resolution, the answer of a handler); everything else about a variant lives here.
 */

/** A broken rule of the contract; `none` keeps the contract. */
export type ContractFault =
  | 'none'
  | 'ascii-basic-auth'
  | 'wrong-password-200'
  | 'no-www-authenticate'
  | 'cookie-not-kept'
  | 'finish-ignored'
  | 'sessions-never-end'
  | 'wrong-missing-header-text'
  | 'wrong-dead-session-text'
  | 'licenses-shape'
  | 'rejects-kinds'
  | 'no-duplicate'
  | 'results-out-of-order'
  | 'fewer-results'
  | 'batch-500-refused'
  | 'statuses-no-duplicate'
  | 'routing-no-duplicate'
  | 'auth-wrong-password-200'
  | 'wrong-pin-200'
  | 'html-error-page'
  | 'wrong-content-type'
  | 'slow-statuses';

/** The extra time of `slow-statuses`. */
export const SLOW_VARIANT_MS = 2_000;

/** What each fault breaks, in the words of the contract (shown by the emulator CLI and the docs). */
export const CONTRACT_FAULTS: Readonly<Record<Exclude<ContractFault, 'none'>, string>> = {
  'ascii-basic-auth': 'Basic credentials are decoded as Latin-1, not UTF-8: a Cyrillic user never logs in',
  'wrong-password-200': 'a known user with a wrong password is let in (every endpoint but /auth)',
  'no-www-authenticate': '401 comes without the WWW-Authenticate: Basic realm header',
  'cookie-not-kept': 'the first request with a session cookie runs in a new session (a new ibsession cookie)',
  'finish-ignored': 'the cookie of a finished session still runs requests (1C silently opens a new session) instead of 400',
  'sessions-never-end':
    'a finished session keeps its client license (the free count never comes back; the inspection shows it as taken by others)',
  'wrong-missing-header-text': 'a request with neither IBSession nor cookie gets 400 with another text',
  'wrong-dead-session-text': 'the cookie of a session that does not exist gets 400 with another text',
  'licenses-shape': 'GET /licenses answers "total" as a string',
  'rejects-kinds': 'messages of kind location and contact are rejected',
  'no-duplicate': 'a message id already stored is answered "accepted" again, not "duplicate"',
  'results-out-of-order': '/messages results come in reverse order',
  'fewer-results': '/messages answers one result fewer than it got messages',
  'batch-500-refused': '/messages refuses batches of more than 100 messages',
  'statuses-no-duplicate': 'a status already stored is answered "accepted" again, not "duplicate"',
  'routing-no-duplicate': 'a routing event already stored is answered "accepted" again, not "duplicate"',
  'auth-wrong-password-200': 'POST /auth logs an operator in with a wrong password',
  'wrong-pin-200': 'POST /auth logs an operator in with a wrong PIN',
  'html-error-page': 'a body the handler cannot read gets a 500 HTML exception page instead of a 400 sentence',
  'wrong-content-type': '200 answers are labelled text/plain instead of application/json; charset=utf-8',
  'slow-statuses': `POST /statuses takes ${SLOW_VARIANT_MS} ms more than it should`,
};

export const CONTRACT_FAULT_NAMES = Object.keys(CONTRACT_FAULTS) as Array<Exclude<ContractFault, 'none'>>;

export function isContractFault(v: unknown): v is ContractFault {
  return v === 'none' || (typeof v === 'string' && (CONTRACT_FAULT_NAMES as string[]).includes(v));
}

interface FaultReply {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
}

interface ItemResultLike {
  id: string;
  status: string;
  error?: string;
}

type BatchEndpoint = 'messages' | 'statuses' | 'routing';

const WRONG_TEXTS = {
  noSession: 'Не задан заголовок сеанса.',
  sessionGone: 'Сеанс не найден',
};

/** The hooks the emulator calls; each is the identity when the fault is `none`. */
export class ContractFaults {
  /** Session ids that got a request with their cookie (for `cookie-not-kept`: only the first). */
  private readonly cookieSeen = new Set<string>();
  /** Ids of sessions finished by the client (for `finish-ignored`). */
  private readonly finishedIds = new Set<string>();

  constructor(public fault: ContractFault = 'none') {}

  set(fault: ContractFault): void {
    this.fault = fault;
    this.cookieSeen.clear();
    this.finishedIds.clear();
  }

  /** The `user:password` of a Basic header. */
  decodeBasic(b64: string): string {
    return Buffer.from(b64, 'base64').toString(this.fault === 'ascii-basic-auth' ? 'latin1' : 'utf8');
  }

  /** A known user whose password did not match is let in anyway. */
  letsWrongPasswordIn(endpoint: string): boolean {
    if (this.fault === 'wrong-password-200') return endpoint !== 'auth';
    return this.fault === 'auth-wrong-password-200' && endpoint === 'auth';
  }

  challengeHeaders(): Record<string, string> {
    return this.fault === 'no-www-authenticate' ? {} : { 'WWW-Authenticate': 'Basic realm="1C"' };
  }

  noSessionText(right: string): string {
    return this.fault === 'wrong-missing-header-text' ? WRONG_TEXTS.noSession : right;
  }

  sessionGoneText(right: string): string {
    return this.fault === 'wrong-dead-session-text' ? WRONG_TEXTS.sessionGone : right;
  }

  /**
   * A request with a cookie and no `IBSession: start`: true when this variant runs it in a
   * new session instead (the emulator then opens one and sets its cookie). A `finish` is
   * never redirected: the variants break how a session runs requests, not how it ends.
   */
  opensNewSessionFor(cookieId: string, exists: boolean, finishing: boolean): boolean {
    if (finishing) return false;
    if (this.fault === 'finish-ignored') return !exists && this.finishedIds.has(cookieId);
    if (this.fault === 'cookie-not-kept' && exists && !this.cookieSeen.has(cookieId)) {
      this.cookieSeen.add(cookieId);
      return true;
    }
    return false;
  }

  /** After a session was finished by `IBSession: finish`; true → its license stays taken. */
  keepsLicenseAfterFinish(sessionId: string): boolean {
    this.finishedIds.add(sessionId);
    return this.fault === 'sessions-never-end';
  }

  extraLatencyMs(endpoint: string): number {
    return this.fault === 'slow-statuses' && endpoint === 'statuses' ? SLOW_VARIANT_MS : 0;
  }

  /** A refusal before the handler stores anything, or null. */
  refuseBatch(endpoint: string, size: number): FaultReply | null {
    if (this.fault === 'batch-500-refused' && endpoint === 'messages' && size > 100)
      return { status: 400, body: `Слишком много сообщений в пакете: ${size}, не более 100.`, contentType: 'text/plain; charset=utf-8' };
    return null;
  }

  results<R extends ItemResultLike>(endpoint: BatchEndpoint, items: Array<Record<string, unknown>>, results: R[]): R[] {
    const f = this.fault;
    if (endpoint === 'messages') {
      if (f === 'no-duplicate') return results.map((r) => (r.status === 'duplicate' ? { ...r, status: 'accepted' } : r));
      if (f === 'rejects-kinds')
        return results.map((r, i) =>
          items[i]?.kind === 'location' || items[i]?.kind === 'contact'
            ? { ...r, status: 'rejected', error: `Вид сообщения "${String(items[i].kind)}" не поддерживается.` }
            : r,
        );
      if (f === 'results-out-of-order' && results.length > 1) return [...results].reverse();
      if (f === 'fewer-results' && results.length > 1) return results.slice(0, -1);
    }
    if ((f === 'statuses-no-duplicate' && endpoint === 'statuses') || (f === 'routing-no-duplicate' && endpoint === 'routing'))
      return results.map((r) => (r.status === 'duplicate' ? { ...r, status: 'accepted' } : r));
    return results;
  }

  licenses(body: { total: number; used: number; free: number }): Record<string, unknown> {
    return this.fault === 'licenses-shape' ? { ...body, total: String(body.total) } : body;
  }

  acceptsAnyPin(): boolean {
    return this.fault === 'wrong-pin-200';
  }

  /** The answer to a body the handler cannot read (by contract: 400 with a sentence). */
  badBody(right: FaultReply, exceptionPage: (detail: string) => string): FaultReply {
    if (this.fault !== 'html-error-page') return right;
    return {
      status: 500,
      body: exceptionPage('Ошибка при вызове метода контекста (ПрочитатьJSON): Ошибка разбора JSON'),
      contentType: 'text/html; charset=utf-8',
    };
  }

  /** Every answer on its way out. */
  answer<R extends FaultReply>(r: R): R {
    if (this.fault === 'wrong-content-type' && r.status === 200 && r.contentType.startsWith('application/json'))
      return { ...r, contentType: 'text/plain; charset=utf-8' };
    return r;
  }
}
