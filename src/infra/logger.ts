/**
 * Logs: pino, JSON in production, readable in a terminal. Secrets never reach a log line:
 * structured fields with secret names are redacted by path, and every string is scrubbed of
 * bot tokens inside URLs, Basic/Bearer credentials, and every secret value the
 * configuration holds (tokens, passwords) wherever it appears.
 */
import { pino, type Logger as PinoLogger, type LoggerOptions } from 'pino';
import type { Logger } from '../core/index.ts';

export interface LoggerOptionsInput {
  level?: string;
  /** `json` (default when not a TTY) or `pretty`. */
  format?: 'json' | 'pretty';
  /** Exact secret values to scrub wherever they appear (API token, passwords, bot tokens…). */
  secrets?: (string | null | undefined)[];
  /** Where lines go (default stdout). */
  destination?: NodeJS.WritableStream;
  base?: Record<string, unknown>;
}

const SECRET_KEYS =
  /^(password|passwd|pass|pin|token|apitoken|api_token|secret|authorization|cookie|privatekey|private_key|licensekey|botToken|creds)$/i;
const BOT_TOKEN_IN_URL = /bot\d+:[A-Za-z0-9_-]{10,}/g;
const AUTH_HEADER = /\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{6,}/g;
const BARE_BOT_TOKEN = /\b\d{5,}:[A-Za-z0-9_-]{30,}\b/g;

export class SecretScrubber {
  private readonly values: string[];
  constructor(secrets: (string | null | undefined)[] = []) {
    // Longest first, so a token containing another secret is replaced whole.
    this.values = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort(
      (a, b) => b.length - a.length,
    );
  }

  add(secret: string | null | undefined): void {
    if (secret && secret.length >= 4 && !this.values.includes(secret)) {
      this.values.push(secret);
      this.values.sort((a, b) => b.length - a.length);
    }
  }

  string(s: string): string {
    let out = s
      .replace(BOT_TOKEN_IN_URL, 'bot<redacted>')
      .replace(AUTH_HEADER, '$1 <redacted>')
      .replace(BARE_BOT_TOKEN, '<redacted-token>');
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join('<redacted>');
    return out;
  }

  value(v: unknown, depth = 0): unknown {
    if (typeof v === 'string') return this.string(v);
    if (depth > 6 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => this.value(x, depth + 1));
    if (v instanceof Error) return this.string(v.message);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      out[k] = SECRET_KEYS.test(k) && x !== null && x !== undefined && x !== '' ? '<redacted>' : this.value(x, depth + 1);
    return out;
  }
}

export interface AppLogger extends Logger {
  readonly pino: PinoLogger;
  readonly scrubber: SecretScrubber;
}

export function createLogger(opts: LoggerOptionsInput = {}): AppLogger {
  const scrubber = new SecretScrubber(opts.secrets);
  const pretty = (opts.format ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty';
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: opts.base ?? { pid: process.pid },
    formatters: { log: (obj) => scrubber.value(obj) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubber.string(a) : a));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
    serializers: { err: (e: unknown) => (e instanceof Error ? scrubber.string(e.message) : scrubber.value(e)) },
  };
  let logger: PinoLogger;
  if (pretty && !opts.destination) {
    logger = pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  } else {
    logger = opts.destination ? pino(options, opts.destination) : pino(options);
  }
  return wrap(logger, scrubber);
}

function wrap(p: PinoLogger, scrubber: SecretScrubber): AppLogger {
  return {
    pino: p,
    scrubber,
    debug: p.debug.bind(p),
    info: p.info.bind(p),
    warn: p.warn.bind(p),
    error: p.error.bind(p),
    child: (bindings) => wrap(p.child(bindings), scrubber),
  };
}
