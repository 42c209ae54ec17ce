import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
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
});
