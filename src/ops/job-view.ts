/**
 * What people see of a job (dashboard, queue CLI): a readable name — channel, account, chat,
 * message id — and its data with no secret in it.
 *
 * A lane's kick job carries `{ key, seq }` (the chat key and the first pending seq); a
 * dead-letter job carries `{ key, seq, id, body, reason, parked }` where `body` is the
 * rejected message as the lane stored it. Neither is meant to hold secrets, but a body is
 * whatever a producer put there (an outbound message may carry a media URL with
 * credentials, or base64 bytes), so data is scrubbed before it is shown.
 */
import { parseChatKey } from '../core/index.ts';
import { SecretScrubber } from '../infra/logger.ts';

/** `tg:acme_bot:123` → `telegram acme_bot chat 123`; anything else as is. */
export function describeChat(key: string): string {
  const p = parseChatKey(key);
  return p ? `${p.channel} ${p.account} chat ${p.native}` : key;
}

/** The native message id part of `<chat key>:<native id>` when the id has that form. */
function nativeMessageId(chatKey: string, id: string): string {
  return id.startsWith(`${chatKey}:`) ? id.slice(chatKey.length + 1) : id;
}

interface JobLike {
  name?: string;
  data?: unknown;
}

function field(o: unknown, k: string): unknown {
  return o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
}

/**
 * A job's readable name: `telegram acme_bot chat 123 · message 42 · #17` for a dead letter,
 * `telegram acme_bot chat 123 · from #17` for a kick; the stored name otherwise.
 */
export function readableJobName(job: JobLike): string {
  const d = job.data;
  const key = field(d, 'key');
  const seq = field(d, 'seq');
  if (typeof key !== 'string') return job.name ?? '';
  const chat = describeChat(key);
  const id = field(d, 'id');
  if (typeof id === 'string') return `${chat} · message ${nativeMessageId(key, id)} · #${String(seq)}`;
  return `${chat} · from #${String(seq)}`;
}

/** The chat key of a lane job, or null. */
export function chatOfJob(job: JobLike): string | null {
  const key = field(job.data, 'key');
  return typeof key === 'string' ? key : null;
}

/** The message id of a dead-letter job, or null for a kick. */
export function messageIdOfJob(job: JobLike): string | null {
  const id = field(job.data, 'id');
  return typeof id === 'string' ? id : null;
}

const LONG_BASE64 = /^[A-Za-z0-9+/=_-]{200,}$/;
const URL_CREDENTIALS = /\/\/([^/@\s:]+):([^/@\s]+)@/g;
const SECRET_QUERY = /([?&](?:token|access_token|key|sig|signature|password|secret)=)[^&\s#]+/gi;

/**
 * Scrubs job data for display: secret-named fields, the configuration's secret values, bot
 * tokens and Authorization values anywhere, URL credentials and secret query parameters;
 * long base64 strings (media bytes) are replaced by their length.
 */
export class JobDataScrubber {
  private readonly scrubber: SecretScrubber;
  constructor(secrets: (string | null | undefined)[] = []) {
    this.scrubber = new SecretScrubber(secrets);
  }

  value(v: unknown): unknown {
    return this.walk(this.scrubber.value(v, 0), 0);
  }

  private walk(v: unknown, depth: number): unknown {
    if (typeof v === 'string') {
      if (LONG_BASE64.test(v)) return `<${v.length} characters of encoded data>`;
      return v.replace(URL_CREDENTIALS, '//$1:<redacted>@').replace(SECRET_QUERY, '$1<redacted>');
    }
    if (depth > 8 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => this.walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = this.walk(x, depth + 1);
    return out;
  }

  string(s: string): string {
    return this.walk(this.scrubber.string(s), 0) as string;
  }
}
