/**
 * Media on the local disk (core `MediaStore`). A file is streamed to a temp file while its
 * sha256 is computed and its size checked, then renamed into place; its metadata (the
 * MediaRef) is kept beside it as JSON so `open(id)` works after a restart. The same
 * (chat key, native id) saved again gives the same MediaRef without downloading again.
 *
 * Layout under `dir`: `files/<id>` (bytes), `files/<id>.json` (MediaRef),
 * `keys/<sha256(chatKey, nativeId)>` (the media id), `tmp/` (partial downloads).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { ConnectorError, type IncomingFile, type MediaRef, type MediaStore } from '../core/index.ts';

export interface FileMediaStoreOptions {
  /** Directory of the store (created when missing), e.g. MEDIA_DIR `./data/media`. */
  dir: string;
  /** Largest file accepted, in bytes (default 50 MB). */
  maxBytes?: number;
  /** How 1C and operators reach the connector (PUBLIC_URL); `url` = `${publicUrl}/api/v1/media/<id>`. */
  publicUrl: string;
}

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

  constructor(opts: FileMediaStoreOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? 50 * 1024 * 1024;
    this.publicUrl = opts.publicUrl.replace(/\/+$/, '');
  }

  private ensureDirs(): Promise<void> {
    this.ready ??= Promise.all(['files', 'keys', 'tmp'].map((d) => mkdir(join(this.dir, d), { recursive: true }))).then(() => undefined);
    return this.ready;
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
    const out = createWriteStream(tmp, { flags: 'wx' });
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
    await writeFile(metaTmp, JSON.stringify(ref));
    await rename(metaTmp, `${filePath}.json`);
    const keyTmp = join(this.dir, 'tmp', `${id}.key`);
    await writeFile(keyTmp, id);
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
