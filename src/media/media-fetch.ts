/**
 * The one fetch of an outbound media `url` from the connector host (issue 11 item 8, SSRF).
 *
 *   url ─▶ http(s) only ─▶ resolve (injectable) ─▶ every address checked (address-policy)
 *       ─▶ connect to THE checked address (the agent's `lookup` returns it: a second DNS
 *          answer cannot swap it — no rebinding) ─▶ 3xx: the same again for `Location`
 *          (at most 5) ─▶ body counted while streaming, aborted past MEDIA_MAX_BYTES
 *       ─▶ everything within MEDIA_FETCH_TIMEOUT_MS
 *
 * Refusals are `RemoteRefusedError`s (not retryable) with one sentence naming the URL (no
 * user info, no query: they may hold secrets) and what to do; an unreachable or failing
 * server is an `UnreachableError` (retryable), as for any other remote.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { describeError, RemoteRefusedError, UnreachableError } from '../core/index.ts';
import { forbiddenKind, MediaAllowList, unwrapMappedIpv4 } from './address-policy.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Name → addresses (default: the system resolver, every address). Tests inject their own. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface MediaFetchOptions {
  /** MEDIA_MAX_BYTES. */
  maxBytes: number;
  /** MEDIA_FETCH_TIMEOUT_MS: the whole fetch, redirects and body included. */
  timeoutMs: number;
  /** OUTBOUND_MEDIA_ALLOW entries. */
  allow?: readonly string[];
  resolver?: Resolver;
  /** Default 5. */
  maxRedirects?: number;
}

export interface FetchedMedia {
  bytes: Buffer;
  /** The server's Content-Type (parameters dropped), when it sent one. */
  mime: string | null;
}

const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** A URL as an error may show it: no user info, no query or fragment. */
export function shownUrl(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}

export class MediaFetcher {
  private readonly allow: MediaAllowList;
  private readonly resolver: Resolver;
  private readonly maxRedirects: number;

  constructor(private readonly opts: MediaFetchOptions) {
    this.allow = new MediaAllowList(opts.allow ?? []);
    this.resolver = opts.resolver ?? systemResolver;
    this.maxRedirects = opts.maxRedirects ?? 5;
  }

  async fetch(url: string): Promise<FetchedMedia> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    let current = parseUrl(url);
    for (let hop = 0; ; hop++) {
      const pinned = await this.checkedAddress(current);
      const res = await this.get(current, pinned, signal);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (hop >= this.maxRedirects) {
          throw refused('media_url_redirects', `media url ${shownUrl(parseUrl(url))} redirects more than ${this.maxRedirects} times.`);
        }
        current = parseUrl(new URL(res.headers.location, current).toString(), current);
        continue;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        const text = `media url ${shownUrl(current)} answered HTTP ${status}.`;
        if (status >= 500 || status === 429 || status === 408) throw new UnreachableError('media_url_unavailable', text);
        throw refused('media_url_failed', text);
      }
      return { bytes: await this.body(res, current, signal), mime: mimeOf(res.headers['content-type']) };
    }
  }

  /** Resolves and checks every address; returns the one to connect to. Throws before any connection when refused. */
  private async checkedAddress(u: URL): Promise<ResolvedAddress> {
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const byName = this.allow.allowsHost(host);
    let addresses: ResolvedAddress[];
    const literal = isIP(host);
    if (literal) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
    else {
      try {
        addresses = await this.resolver(host);
      } catch (e) {
        throw new UnreachableError(
          'media_url_unresolved',
          `media url ${shownUrl(u)}: the host ${host} does not resolve (${describeError(e)}).`,
        );
      }
      if (!addresses.length)
        throw new UnreachableError('media_url_unresolved', `media url ${shownUrl(u)}: the host ${host} has no address.`);
    }
    if (byName) return addresses[0];
    // Every address must pass: a name that also resolves to an inner address is refused as a whole.
    for (const a of addresses) {
      const kind = forbiddenKind(a.address);
      if (kind && !this.allow.allowsAddress(a.address)) {
        const shown = unwrapMappedIpv4(a.address);
        const article = /^[aeiou]/.test(kind) ? 'an' : 'a';
        throw refused(
          'media_url_forbidden',
          `media url ${shownUrl(u)} resolves to ${article} ${kind} address (${shown}); add the host to OUTBOUND_MEDIA_ALLOW to allow it.`,
        );
      }
    }
    return addresses[0];
  }

  private get(u: URL, pinned: ResolvedAddress, signal: AbortSignal): Promise<IncomingMessage> {
    // The connection goes to the address checked above, whatever a second DNS answer would say.
    const lookup: LookupFunction = (_host, options, cb) => {
      if ((options as { all?: boolean }).all) (cb as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
      else cb(null, pinned.address, pinned.family);
    };
    const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        u,
        { method: 'GET', lookup, signal, headers: { 'user-agent': 'chat-connector', accept: '*/*' }, agent: false },
        resolve,
      );
      req.on('error', (e) => reject(this.networkError(e, u, signal)));
      req.end();
    });
  }

  private async body(res: IncomingMessage, u: URL, signal: AbortSignal): Promise<Buffer> {
    const max = this.opts.maxBytes;
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      res.destroy();
      throw tooLarge(u, max);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res) {
        size += (chunk as Buffer).length;
        if (size > max) {
          res.destroy();
          throw tooLarge(u, max);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (e) {
      if (e instanceof RemoteRefusedError) throw e;
      throw this.networkError(e, u, signal);
    }
    return Buffer.concat(chunks);
  }

  private networkError(e: unknown, u: URL, signal: AbortSignal): Error {
    if (signal.aborted) {
      return refused(
        'media_url_timeout',
        `media url ${shownUrl(u)} did not deliver the file within ${this.opts.timeoutMs} ms (MEDIA_FETCH_TIMEOUT_MS).`,
      );
    }
    return new UnreachableError('media_url_unreachable', `media url ${shownUrl(u)} could not be fetched (${describeError(e)}).`, {
      cause: e,
    });
  }
}

function parseUrl(text: string, from?: URL): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw refused('invalid_media_url', 'A media url must be an absolute http or https URL.');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw refused(
      'invalid_media_url',
      from
        ? `media url ${shownUrl(from)} redirects to a ${u.protocol.replace(':', '')} URL; only http and https are fetched.`
        : 'A media url must be http or https.',
    );
  }
  return u;
}

function refused(code: string, message: string): RemoteRefusedError {
  return new RemoteRefusedError(code, message, { httpStatus: 400, retryable: false });
}

function tooLarge(u: URL, max: number): RemoteRefusedError {
  return new RemoteRefusedError(
    'media_too_large',
    `media url ${shownUrl(u)} serves a file larger than the ${max}-byte limit (MEDIA_MAX_BYTES).`,
    {
      httpStatus: 413,
      retryable: false,
    },
  );
}

function mimeOf(header: string | undefined): string | null {
  const m = header?.split(';')[0].trim().toLowerCase();
  return m && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(m) ? m : null;
}
