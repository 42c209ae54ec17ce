/** Issue 15 item 9: `whatsapp pair` speaks sentences, gives up when WhatsApp stays unreachable, names the linked number. */
import { afterAll, describe, expect, it } from 'vitest';
import { runWhatsappCommand } from '../../../src/cli/whatsapp-command.ts';
import { createWhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { silentLogger } from '../../../src/core/index.ts';
import { cleanupPrefix, newRedis, uniquePrefix, until } from '../../helpers/redis.ts';
import { FakeSocketFactory, MemoryMediaStore, MemorySink, boom } from './fakes.ts';

const prefix = uniquePrefix('wa-paircli');
const redis = newRedis();
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

function setup(account: string) {
  const fake = new FakeSocketFactory();
  const c = createWhatsappConnector({
    accounts: [account],
    redis,
    prefix,
    mediaStore: new MemoryMediaStore(),
    logger: silentLogger,
    socketFactory: fake.factory,
    backoff: { baseMs: 20, maxMs: 40 },
  });
  let out = '';
  const io = { write: (s: string) => void (out += s) };
  return { fake, c, io, out: () => out };
}

describe('whatsapp pair, in sentences', () => {
  it('unreachable WhatsApp: one sentence per attempt with the wait, then a bounded give-up with exit 1', async () => {
    const { fake, c, io, out } = setup('nonet');
    let finished = false;
    const done = runWhatsappCommand(['pair', 'nonet'], {
      runner: (a) => c.runner(a),
      sink: new MemorySink(),
      stdout: io,
      stderr: io,
      unreachableMs: 60,
    }).finally(() => (finished = true));
    for (let i = 1; !finished; i++) {
      const s = await Promise.race([fake.nth(i), done.then(() => null)]);
      if (!s) break;
      // what Baileys reports when DNS fails (Socket/socket.js: WebSocket Error … (408))
      await s.end(boom(408, 'WebSocket Error (getaddrinfo ENOTFOUND web.whatsapp.com)'));
    }
    expect(await done).toBe(1);
    expect(out()).toContain('Cannot reach WhatsApp (web.whatsapp.com: DNS lookup failed) — retrying in 1 s; Ctrl-C to stop');
    expect(out()).toMatch(/giving up\. Check the network/);
    expect(out()).not.toContain('{"level"');
  });

  it('on success it says which number was linked', async () => {
    const { fake, c, io, out } = setup('ok');
    const done = runWhatsappCommand(['pair', 'ok'], { runner: (a) => c.runner(a), sink: new MemorySink(), stdout: io, stderr: io });
    const s = await fake.nth(1);
    s.qr('2@ref,noise,identity,adv');
    await until(() => out().includes('Link a device'));
    s.ev.emit('creds.update', { me: { id: '79995550011:9@s.whatsapp.net' }, account: { details: Buffer.from([1]) } });
    s.open();
    expect(await done).toBe(0);
    expect(out()).toContain('is paired with +79995550011 and connected');
  });
});
