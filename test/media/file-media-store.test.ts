import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectorError, type IncomingFile } from '../../src/core/index.ts';
import { FileMediaStore } from '../../src/media/file-media-store.ts';

function incoming(bytes: Buffer, o: Partial<IncomingFile> & { chunk?: number } = {}): IncomingFile & { opened: number } {
  const f = {
    nativeId: o.nativeId ?? 'AgADxyz',
    mime: o.mime ?? 'image/jpeg',
    fileName: o.fileName ?? null,
    declaredSize: o.declaredSize ?? null,
    opened: 0,
    async open() {
      f.opened += 1;
      const size = o.chunk ?? 1000;
      return (async function* () {
        for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
      })();
    },
  };
  return f;
}

describe('FileMediaStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'media-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores a file with its sha256 and size and opens it again after a restart', async () => {
    const bytes = randomBytes(10_000);
    const store = new FileMediaStore({ dir, publicUrl: 'http://127.0.0.1:8080/', maxBytes: 1_000_000 });
    const ref = await store.save('tg:acme_bot:1', incoming(bytes, { fileName: 'cat.jpg' }));
    expect(ref.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(ref.size).toBe(bytes.length);
    expect(ref.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(ref.url).toBe(`http://127.0.0.1:8080/api/v1/media/${ref.id}`);
    expect(ref).toMatchObject({ mime: 'image/jpeg', fileName: 'cat.jpg' });
    const reopened = await new FileMediaStore({ dir, publicUrl: 'http://x' }).open(ref.id);
    expect(reopened?.ref).toEqual(ref);
    expect((await readFile(reopened!.path)).equals(bytes)).toBe(true);
    expect(await store.open('../../etc/passwd')).toBeNull();
    expect(await store.open('AAAAAAAAAAAAAAAAAAAAAAAA')).toBeNull();
  });

  it('gives the same MediaRef for the same chat and native id without reading the file again', async () => {
    const store = new FileMediaStore({ dir, publicUrl: 'http://h' });
    const bytes = randomBytes(3000);
    const first = incoming(bytes);
    const a = await store.save('tg:acme_bot:1', first);
    const second = incoming(bytes);
    const b = await store.save('tg:acme_bot:1', second);
    expect(b).toEqual(a);
    expect(second.opened).toBe(0);
    const other = await store.save('tg:acme_bot:2', incoming(bytes));
    expect(other.id).not.toBe(a.id);
    const [x, y] = await Promise.all([store.save('tg:acme_bot:3', incoming(bytes)), store.save('tg:acme_bot:3', incoming(bytes))]);
    expect(x).toEqual(y);
  });

  it('refuses a file above maxBytes while streaming and removes the partial file', async () => {
    const store = new FileMediaStore({ dir, publicUrl: 'http://h', maxBytes: 5000 });
    const err = await store.save('tg:acme_bot:1', incoming(randomBytes(12_000), { fileName: 'big.mp4' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe('media_too_large');
    expect((err as ConnectorError).retryable).toBe(false);
    expect((err as ConnectorError).message).toMatch(/big\.mp4.*4\.9 KB limit/);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    expect(await readdir(join(dir, 'files'))).toEqual([]);
    const declared = incoming(randomBytes(10), { declaredSize: 9000 });
    const early = (await store.save('tg:acme_bot:1', declared).then(
      () => new ConnectorError('x', 'unexpectedly saved'),
      (e: unknown) => e,
    )) as ConnectorError;
    expect(early.code).toBe('media_too_large');
    expect(early.message).toContain('8.8 KB');
    expect(declared.opened).toBe(0);
  });

  it('writes files 0600 and directories 0700 (issue 11 item 13: they were 0644)', async () => {
    const store = new FileMediaStore({ dir: join(dir, 'store'), publicUrl: 'http://h' });
    const ref = await store.save('tg:acme_bot:1', incoming(randomBytes(100)));
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    expect(await mode(join(dir, 'store'))).toBe(0o700);
    for (const d of ['files', 'keys', 'tmp']) expect(await mode(join(dir, 'store', d))).toBe(0o700);
    expect(await mode(join(dir, 'store', 'files', ref.id))).toBe(0o600);
    expect(await mode(join(dir, 'store', 'files', `${ref.id}.json`))).toBe(0o600);
    for (const k of await readdir(join(dir, 'store', 'keys'))) expect(await mode(join(dir, 'store', 'keys', k))).toBe(0o600);
  });

  it('MEDIA_RETENTION_DAYS: the sweep removes media written before the cutoff and keeps the rest', async () => {
    const store = new FileMediaStore({ dir, publicUrl: 'http://h', retentionDays: 30 });
    const oldRef = await store.save('tg:acme_bot:1', incoming(randomBytes(100), { nativeId: 'old' }));
    const newRef = await store.save('tg:acme_bot:1', incoming(randomBytes(100), { nativeId: 'new' }));
    // Age the first item by 31 days (and a stale partial download by 2 hours) instead of waiting.
    const past = new Date(Date.now() - 31 * 86_400_000);
    await utimes(join(dir, 'files', oldRef.id), past, past);
    await utimes(join(dir, 'files', `${oldRef.id}.json`), past, past);
    for (const k of await readdir(join(dir, 'keys'))) {
      if ((await readFile(join(dir, 'keys', k), 'utf8')) === oldRef.id) await utimes(join(dir, 'keys', k), past, past);
    }
    await writeFile(join(dir, 'tmp', 'crashed.part'), 'x');
    const twoHours = new Date(Date.now() - 7_200_000);
    await utimes(join(dir, 'tmp', 'crashed.part'), twoHours, twoHours);

    expect(await store.sweep()).toEqual({ removed: 1 });
    expect(await store.open(oldRef.id)).toBeNull();
    expect((await store.open(newRef.id))?.ref).toEqual(newRef);
    expect((await readdir(join(dir, 'files'))).sort()).toEqual([newRef.id, `${newRef.id}.json`].sort());
    expect(await readdir(join(dir, 'keys'))).toHaveLength(1);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    // The same clock 29 days later takes the second one too; retention 0 keeps everything.
    expect(await store.sweep(Date.now() + 31 * 86_400_000)).toEqual({ removed: 1 });
    const keep = new FileMediaStore({ dir, publicUrl: 'http://h', retentionDays: 0 });
    await keep.save('tg:acme_bot:1', incoming(randomBytes(10), { nativeId: 'kept' }));
    expect(await keep.sweep(Date.now() + 3650 * 86_400_000)).toEqual({ removed: 0 });
  });
});
