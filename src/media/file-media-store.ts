/**
 * Media on the local disk (core `MediaStore`). A file is streamed to a temp file while its
 * sha256 is computed and its size checked, then renamed into place; its metadata (the
 * MediaRef) is kept beside it as JSON so `open(id)` works after a restart. The same
 * (chat key, native id) saved again gives the same MediaRef without downloading again.
 *
 * Layout under `dir`: `files/<id>` (bytes), `files/<id>.json` (MediaRef),
 * `keys/<sha256(chatKey, nativeId)>` (the media id), `tmp/` (partial downloads).
 *
 * Customers' files are private: files are written 0600 and directories 0700 (only the
 * connector's user reads them; they are served through the token-protected API). They are
 * kept `retentionDays` (MEDIA_RETENTION_DAYS, by the time they were written) and then
 * removed by `sweep()`, which `startRetention()` runs periodically.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { ConnectorError, RemoteRefusedError, type IncomingFile, type MediaRef, type MediaStore } from '../core/index.ts';
import type { MediaFetcher } from './media-fetch.ts';

export interface FileMediaStoreOptions {
  /** Directory of the store (created when missing), e.g. MEDIA_DIR `./data/media`. */
  dir: string;
  /** Largest file accepted, in bytes (default 50 MB). */
  maxBytes?: number;
  /** How 1C and operators reach the connector (PUBLIC_URL); `url` = `${publicUrl}/api/v1/media/<id>`. */
  publicUrl: string;
  /** MEDIA_RETENTION_DAYS: files older than this are removed by `sweep()` (default 30; 0 keeps them forever). */
  retentionDays?: number;
  /** The guarded fetch of outbound media URLs (media-fetch.ts); without it `fetchUrl` refuses. */
  fetcher?: MediaFetcher;
}

const DAY_MS = 86_400_000;
/** A partial download older than this was abandoned by a crashed process. */
const TMP_MAX_AGE_MS = 3_600_000;

const ID_RE = /^[A-Za-z0-9_-]{16,64}$/;

export class MediaTooLargeError extends ConnectorError {
  constructor(size: number | null, limit: number, fileName: string | null) {
    const what = fileName ? `The file "${fileName}"` : 'The file';
    const sizeText = size === null ? 'is larger than' : `is ${formatBytes(size)}, above`;
    super('media_too_large', `${what} ${sizeText} the ${formatBytes(limit)} limit for media.`, { httpStatus: 413, retryable: false });
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export class FileMediaStore implements MediaStore {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly publicUrl: string;
  private readonly inFlight = new Map<string, Promise<MediaRef>>();
  private ready: Promise<void> | null = null;
  readonly retentionDays: number;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(opts: FileMediaStoreOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? 50 * 1024 * 1024;
    this.publicUrl = opts.publicUrl.replace(/\/+$/, '');
    this.retentionDays = opts.retentionDays ?? 30;
    this.fetcher = opts.fetcher ?? null;
  }

  private readonly fetcher: MediaFetcher | null;

  /** An outbound media url, fetched through the one guarded fetch (SSRF rules, size and time caps). */
  async fetchUrl(url: string): Promise<{ bytes: Buffer; mime: string | null }> {
    if (!this.fetcher)
      throw new RemoteRefusedError('invalid_media_url', 'Media urls are not fetched by this connector.', { httpStatus: 400 });
    return this.fetcher.fetch(url);
  }

  private ensureDirs(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      // chmod too: mkdir's mode is filtered by the umask and leaves existing directories as they were.
      await chmod(this.dir, 0o700);
      for (const d of ['files', 'keys', 'tmp']) {
        await mkdir(join(this.dir, d), { recursive: true, mode: 0o700 });
        await chmod(join(this.dir, d), 0o700);
      }
    })();
    return this.ready;
  }

  /**
   * Removes media written more than `retentionDays` ago (bytes, metadata and the dedup key
   * that points at them) and abandoned partial downloads. Returns how many media files went.
   * `now` is injectable so a test can prove it without waiting.
   */
  async sweep(now = Date.now()): Promise<{ removed: number }> {
    if (this.retentionDays <= 0) return { removed: 0 };
    await this.ensureDirs();
    const cutoff = now - this.retentionDays * DAY_MS;
    let removed = 0;
    const old = async (path: string, before: number): Promise<boolean> => {
      const st = await stat(path).catch(() => null);
      return st !== null && st.mtimeMs < before;
    };
    for (const name of await readdir(join(this.dir, 'files')).catch(() => [] as string[])) {
      const path = join(this.dir, 'files', name);
      if (name.endsWith('.json') || !(await old(path, cutoff))) continue;
      // Metadata first: without it `open()` no longer finds the file, so nothing serves a half-removed item.
      await rm(`${path}.json`, { force: true });
      await rm(path, { force: true });
      removed++;
    }
    for (const name of await readdir(join(this.dir, 'files')).catch(() => [] as string[])) {
      // Metadata whose bytes are gone (a sweep interrupted between the two removals).
      if (name.endsWith('.json') && (await old(join(this.dir, 'files', name), cutoff)))
        await rm(join(this.dir, 'files', name), { force: true });
    }
    for (const name of await readdir(join(this.dir, 'keys')).catch(() => [] as string[])) {
      const path = join(this.dir, 'keys', name);
      if (await old(path, cutoff)) await rm(path, { force: true });
    }
    for (const name of await readdir(join(this.dir, 'tmp')).catch(() => [] as string[])) {
      const path = join(this.dir, 'tmp', name);
      if (await old(path, now - TMP_MAX_AGE_MS)) await rm(path, { force: true });
    }
    return { removed };
  }

  /** Runs `sweep()` now and every `intervalMs` (default hourly) until `stopRetention()`. */
  startRetention(onError: (err: unknown) => void, intervalMs = 3_600_000): void {
    if (this.sweeper || this.retentionDays <= 0) return;
    const run = () => void this.sweep().catch(onError);
    run();
    this.sweeper = setInterval(run, intervalMs);
    this.sweeper.unref();
  }

  stopRetention(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  async save(chatKey: string, file: IncomingFile): Promise<MediaRef> {
    const key = createHash('sha256').update(chatKey).update('\0').update(file.nativeId).digest('hex');
    const running = this.inFlight.get(key);
    if (running) return running;
    const p = this.saveOnce(key, file).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private async saveOnce(key: string, file: IncomingFile): Promise<MediaRef> {
    await this.ensureDirs();
    const keyPath = join(this.dir, 'keys', key);
    const known = await readFile(keyPath, 'utf8').catch(() => null);
    if (known) {
      const existing = await this.open(known.trim());
      if (existing) return existing.ref;
    }
    if (file.declaredSize !== null && file.declaredSize > this.maxBytes) {
      throw new MediaTooLargeError(file.declaredSize, this.maxBytes, file.fileName);
    }
    const id = randomBytes(18).toString('base64url');
    const tmp = join(this.dir, 'tmp', `${id}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
    try {
      for await (const chunk of await file.open()) {
        size += chunk.length;
        if (size > this.maxBytes) throw new MediaTooLargeError(null, this.maxBytes, file.fileName);
        hash.update(chunk);
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
    } catch (err) {
      out.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
    const ref: MediaRef = {
      id,
      mime: file.mime,
      fileName: file.fileName,
      size,
      sha256: hash.digest('hex'),
      url: `${this.publicUrl}/api/v1/media/${id}`,
    };
    const filePath = join(this.dir, 'files', id);
    await rename(tmp, filePath);
    const metaTmp = join(this.dir, 'tmp', `${id}.json`);
    await writeFile(metaTmp, JSON.stringify(ref), { mode: 0o600 });
    await rename(metaTmp, `${filePath}.json`);
    const keyTmp = join(this.dir, 'tmp', `${id}.key`);
    await writeFile(keyTmp, id, { mode: 0o600 });
    await rename(keyTmp, keyPath);
    return ref;
  }

  async open(mediaId: string): Promise<{ ref: MediaRef; path: string } | null> {
    if (!ID_RE.test(mediaId)) return null;
    const path = join(this.dir, 'files', mediaId);
    const meta = await readFile(`${path}.json`, 'utf8').catch(() => null);
    if (meta === null) return null;
    try {
      const ref = JSON.parse(meta) as MediaRef;
      return { ref, path };
    } catch {
      return null;
    }
  }
}
