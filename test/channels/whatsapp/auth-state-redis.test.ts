import { afterAll, describe, expect, it } from 'vitest';
import { BufferJSON, initAuthCreds, proto, type SignalDataSet } from '@whiskeysockets/baileys';
import { useRedisAuthState } from '../../../src/channels/whatsapp/auth-state-redis.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../../helpers/redis.ts';

const prefix = uniquePrefix('wa-auth');
afterAll(async () => {
  await cleanupPrefix(prefix);
});

/** One value of every SignalDataTypeMap key type (Types/Auth.d.ts). */
function everyKeyType(): SignalDataSet {
  const creds = initAuthCreds();
  return {
    'pre-key': { '1': creds.signedIdentityKey },
    session: { '79991234567.0': new Uint8Array([1, 2, 3, 250]) },
    'sender-key': { 'g@g.us::79991234567::0': new Uint8Array([9, 8, 7]) },
    'sender-key-memory': { 'g@g.us': { '79991234567:0@s.whatsapp.net': true } },
    'app-state-sync-key': {
      AAAA: proto.Message.AppStateSyncKeyData.fromObject({ keyData: Buffer.from('secret-key-data'), timestamp: 1700 }),
    },
    'app-state-sync-version': {
      regular: { version: 3, hash: Buffer.alloc(128, 7), indexValueMap: { abc: { valueMac: Buffer.from([5, 6]) } } },
    },
    'lid-mapping': { '79991234567': '123456789012345', '123456789012345_reverse': '79991234567' },
    'device-list': { '79991234567': ['0', '2'] },
    tctoken: { '79991234567@s.whatsapp.net': { token: Buffer.from('tok'), timestamp: '1700000000' } },
    'identity-key': { '79991234567.0': new Uint8Array(33).fill(4) },
  };
}

const normalize = (v: unknown): unknown => JSON.parse(JSON.stringify(v, BufferJSON.replacer));

describe('Redis auth state', () => {
  it('round-trips initAuthCreds() and every key type through Redis and BufferJSON, across connections', async () => {
    const r1 = newRedis();
    const a = await useRedisAuthState({ redis: r1, prefix, account: 'rt' });
    const original = normalize(a.state.creds);
    await a.saveCreds();
    const data = everyKeyType();
    await a.state.keys.set(data);
    r1.disconnect();

    const r2 = newRedis(); // a new connection, as a new process would have
    try {
      const b = await useRedisAuthState({ redis: r2, prefix, account: 'rt' });
      expect(normalize(b.state.creds)).toEqual(original);
      expect(Buffer.isBuffer(b.state.creds.noiseKey.private)).toBe(true);
      for (const type of Object.keys(data) as (keyof SignalDataSet)[]) {
        const ids = Object.keys(data[type]!);
        const got = await b.state.keys.get(type, ids);
        expect(normalize(got), type).toEqual(normalize(data[type]));
      }
      const sync = await b.rawKeys.get('app-state-sync-key', ['AAAA']);
      expect(sync.AAAA).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
      expect(Buffer.from(sync.AAAA.keyData!).toString()).toBe('secret-key-data');
    } finally {
      r2.disconnect();
    }
  });

  it('creds updates are saved in order; null deletes a key', async () => {
    const redis = newRedis();
    try {
      const a = await useRedisAuthState({ redis, prefix, account: 'upd' });
      a.state.creds.me = { id: '79991234567:5@s.whatsapp.net', name: 'Shop' };
      void a.saveCreds();
      a.state.creds.me = { id: '79991234567:5@s.whatsapp.net', name: 'Shop 2' };
      void a.saveCreds();
      await a.flush();
      expect((await useRedisAuthState({ redis, prefix, account: 'upd' })).state.creds.me?.name).toBe('Shop 2');

      await a.state.keys.set({ session: { s1: new Uint8Array([1]), s2: new Uint8Array([2]) } });
      await a.state.keys.set({ session: { s1: null } });
      const fresh = await useRedisAuthState({ redis, prefix, account: 'upd' });
      const got = await fresh.rawKeys.get('session', ['s1', 's2']);
      expect(Object.keys(got)).toEqual(['s2']);
      // through Baileys' cache layer: it caches the deletion as null (falsy, as Baileys checks)
      const cached = await a.state.keys.get('session', ['s1', 's2']);
      expect(cached.s1 ?? null).toBeNull();
      expect(Buffer.from(cached.s2)).toEqual(Buffer.from([2]));
    } finally {
      redis.disconnect();
    }
  });

  it('clear() (logout) removes creds and every key of the account, and only of that account', async () => {
    const redis = newRedis();
    try {
      const gone = await useRedisAuthState({ redis, prefix, account: 'bye' });
      const kept = await useRedisAuthState({ redis, prefix, account: 'stay' });
      await gone.saveCreds();
      await kept.saveCreds();
      await gone.state.keys.set(everyKeyType());
      await kept.state.keys.set({ session: { x: new Uint8Array([1]) } });
      const oldNoise = normalize(gone.state.creds.noiseKey);
      await gone.clear();
      expect(await redis.exists(`${prefix}:wa:bye:auth:creds`, `${prefix}:wa:bye:auth:keys`)).toBe(0);
      expect(await gone.state.keys.get('lid-mapping', ['79991234567'])).toEqual({});
      expect(normalize(gone.state.creds.noiseKey)).not.toEqual(oldNoise); // fresh creds for the next pairing
      expect(Object.keys(await kept.rawKeys.get('session', ['x']))).toEqual(['x']);
    } finally {
      redis.disconnect();
    }
  });
});
