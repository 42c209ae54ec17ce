/**
 * Auto-replies with a controllable clock, accepted by two real OutboundService instances
 * (two connections, one Redis, one prefix: what two connector instances share).
 */
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InboundMessage, NewInboundMessage, OutboundMessage } from '../../src/core/index.ts';
import { InboundPipeline } from '../../src/lanes/inbound-pipeline.js';
import { OutboundService } from '../../src/outbound/outbound-service.ts';
import { ChatRouting } from '../../src/routing/chat-routing.ts';
import { AllBusyWatch } from '../../src/settings/all-busy.ts';
import { AutoReplies } from '../../src/settings/auto-replies.ts';
import { SettingsStore } from '../../src/settings/settings-store.ts';
import { cleanupPrefix, newRedis, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

const msk = (iso: string): number => Date.parse(`${iso}+03:00`);
const CHAT = 'tg:acme_bot:1001';

let seqOf = 0;
function message(chatId: string, seq: number, over: Partial<InboundMessage> = {}): InboundMessage {
  seqOf++;
  return {
    id: `${chatId}:${seq}`,
    seq,
    chatId,
    channel: 'telegram',
    account: 'acme_bot',
    chat: { type: 'private', title: 'Ivan Petrov' },
    sender: { id: 'tg:1001', name: 'Иван', username: 'ivan', phone: null },
    kind: 'text',
    text: `hello ${seqOf}`,
    media: [],
    replyTo: null,
    target: null,
    sentAt: new Date().toISOString(),
    receivedAt: new Date().toISOString(),
    route: null,
    ...over,
  } as InboundMessage;
}

interface Instance {
  redis: Redis;
  pipeline: InboundPipeline;
  service: OutboundService;
  replies: AutoReplies;
  store: SettingsStore;
}

describe('auto-replies', () => {
  let prefix: string;
  let now: number;
  let instances: Instance[];
  let accepted: OutboundMessage[];
  /** What the inbound lanes took as new (the auto-replies shown to 1C), across both instances. */
  let echoed: NewInboundMessage[];

  beforeEach(async () => {
    prefix = uniquePrefix('autoreply');
    accepted = [];
    echoed = [];
    now = msk('2026-11-30T12:30:00'); // a Monday, the lunch break
    instances = [0, 1].map(() => {
      const redis = newRedis();
      const service = new OutboundService({
        redis,
        bullConnection: { url: REDIS_URL },
        prefix,
        senders: new Map(),
        chatType: async () => 'private',
        deliverStatuses: async () => [],
      });
      const store = new SettingsStore({ redis, prefix });
      const pipeline = new InboundPipeline({
        redis,
        bullConnection: { url: REDIS_URL },
        prefix,
        deliverer: {
          deliverMessages: async () => {
            throw new Error('not delivered in this test');
          },
        },
        observer: { ingested: (fresh) => echoed.push(...fresh) },
      });
      const replies = new AutoReplies({
        redis,
        prefix,
        store,
        now: () => now,
        echo: (m) => pipeline.ingest([m]),
        submit: async (m) => {
          const r = await service.submit(m);
          if (r.created) accepted.push(m);
        },
      });
      return { redis, pipeline, service, replies, store };
    });
    await instances[0].store.put('account', '_default', {
      timeZone: 'Europe/Moscow',
      workingHours: {
        mon: [
          ['08:00', '12:00'],
          ['13:30', '18:00'],
        ],
        tue: [['08:00', '18:00']],
      },
      holidays: [
        { date: '2026-12-29', hours: [] },
        { date: '2026-12-31', hours: [['09:00', '15:00']] },
      ],
      autoReplies: { greeting: 'Здравствуйте, {name}!', outOfHours: 'Мы откроемся {opens_at}.' },
    });
  });

  afterEach(async () => {
    for (const i of instances) {
      await i.service.close();
      await i.pipeline.close();
      i.redis.disconnect();
    }
    await cleanupPrefix(prefix);
  });

  const [a, b] = [0, 1];

  it('12:30 in 08:00–12:00/13:30–18:00: one out-of-hours reply per closed period, as system, in the outbound lane', async () => {
    await instances[a].replies.onDelivered([message(CHAT, 3)]);
    expect(accepted.map((m) => [m.text, m.operatorId])).toEqual([['Мы откроемся в 13:30.', 'system']]);
    expect(accepted[0].id).toBe(`${CHAT}:auto:closed:${new Date(msk('2026-11-30T12:00:00')).toISOString()}`);
    // In the lane of the chat, in order, like any reply.
    expect((await instances[a].service.find(accepted[0].id))?.status).toBe('queued');

    now = msk('2026-11-30T13:10:00');
    await instances[b].replies.onDelivered([message(CHAT, 4), message(CHAT, 5)]);
    expect(accepted).toHaveLength(1);

    now = msk('2026-11-30T13:40:00'); // open again: nothing
    await instances[a].replies.onDelivered([message(CHAT, 6)]);
    expect(accepted).toHaveLength(1);

    now = msk('2026-11-30T21:00:00'); // the next closed period
    await instances[b].replies.onDelivered([message(CHAT, 7)]);
    expect(accepted.map((m) => m.text)).toEqual(['Мы откроемся в 13:30.', 'Мы откроемся 01.12 в 08:00.']);
  });

  it('a redelivered message gives no second reply', async () => {
    const m = message(CHAT, 3);
    await instances[a].replies.onDelivered([m]);
    await instances[b].replies.onDelivered([m]);
    await instances[a].replies.onDelivered([m]);
    expect(accepted).toHaveLength(1);
  });

  it('a holiday is closed until the special-hours day, which is open 09:00–15:00', async () => {
    now = msk('2026-12-29T11:00:00'); // a Tuesday, but a holiday
    await instances[a].replies.onDelivered([message(CHAT, 3)]);
    expect(accepted.map((m) => m.text)).toEqual(['Мы откроемся 31.12 в 09:00.']);
    now = msk('2026-12-31T10:00:00');
    await instances[a].replies.onDelivered([message(CHAT, 4)]);
    expect(accepted).toHaveLength(1);
    now = msk('2026-12-31T15:30:00');
    await instances[a].replies.onDelivered([message(CHAT, 5)]);
    expect(accepted.map((m) => m.text)[1]).toBe('Мы откроемся 04.01.2027 в 08:00.');
  });

  it('concurrent first messages of one new chat on two instances: one greeting', async () => {
    now = msk('2026-11-30T09:00:00');
    const first = message('tg:acme_bot:2002', 1);
    await Promise.all([instances[a].replies.onDelivered([first]), instances[b].replies.onDelivered([first])]);
    await instances[b].replies.onDelivered([first, message('tg:acme_bot:2002', 2)]);
    expect(accepted.map((m) => [m.id, m.text])).toEqual([['tg:acme_bot:2002:auto:greeting', 'Здравствуйте, Иван!']]);
    // 1C sees it in the chat once: one new item in the chat's inbound lane, as the connector's own message
    expect(echoed).toHaveLength(1);
    expect(echoed[0]).toMatchObject({
      id: 'tg:acme_bot:2002:auto:greeting',
      chatId: 'tg:acme_bot:2002',
      outgoing: true,
      sender: { id: 'system' },
      kind: 'text',
      text: 'Здравствуйте, Иван!',
    });
    // an echo is not a customer writing: no reply to it
    // (as the first message of another chat it would otherwise call for a greeting)
    await instances[a].replies.onDelivered([
      { ...(echoed[0] as InboundMessage), id: 'x', chatId: 'tg:acme_bot:2003', seq: 1, route: null },
    ]);
    expect(accepted).toHaveLength(1);
  });

  it('a first message out of hours gets the out-of-hours reply instead of the greeting; groups and reactions get none', async () => {
    await instances[a].replies.onDelivered([message('tg:acme_bot:3003', 1)]);
    expect(accepted.map((m) => m.text)).toEqual(['Мы откроемся в 13:30.']);
    await instances[a].replies.onDelivered([
      message('tg:acme_bot:-100', 1, { chat: { type: 'group', title: 'Team' } }),
      message('tg:acme_bot:4004', 2, { kind: 'reaction' }),
    ]);
    expect(accepted).toHaveLength(1);
  });

  it('follows the account language and the settings as changed on another instance', async () => {
    await instances[b].store.put('account', 'acme_bot', { language: 'en', autoReplies: { outOfHours: true } });
    await instances[a].replies.onDelivered([message(CHAT, 3)]);
    expect(accepted.map((m) => m.text)).toEqual(['We are closed now and open at 13:30. Leave a message and we will answer.']);
  });

  it('"all busy" once after N minutes in the queue (two instances checking), not for a chat someone took, not out of hours', async () => {
    await instances[a].store.put('account', 'acme_bot', { autoReplies: { allBusy: { afterMinutes: 5, text: 'Все операторы заняты.' } } });
    now = msk('2026-11-30T09:00:00');
    const watches = instances.map((i) => new AllBusyWatch({ redis: i.redis, prefix, store: i.store, replies: i.replies, now: () => now }));
    const routing = new ChatRouting({ redis: instances[a].redis, prefix, onEvents: (evs) => watches[a].onEvents(evs) });
    await routing.routeOf([message('tg:acme_bot:5005', 1), message('tg:acme_bot:6006', 1)]);
    await routing.routeOf([message('tg:acme_bot:7007', 1)]);
    expect(accepted).toEqual([]); // routing itself sends nothing
    await routing.claim('tg:acme_bot:6006', 'u-ivanov');

    now = msk('2026-11-30T09:04:00');
    expect(await watches[b].check()).toBe(0);
    now = msk('2026-11-30T09:06:00');
    await Promise.all(watches.map((w) => w.check()));
    expect(accepted.map((m) => [m.id, m.text, m.operatorId])).toEqual([
      ['tg:acme_bot:5005:auto:busy:1', 'Все операторы заняты.', 'system'],
      ['tg:acme_bot:7007:auto:busy:1', 'Все операторы заняты.', 'system'],
    ]);
    expect(await watches[a].check()).toBe(0);

    // Queued at 11:58, due at 12:03 — the lunch break: no "all busy" (the out-of-hours reply covers it).
    now = msk('2026-11-30T11:58:00');
    await routing.routeOf([message('tg:acme_bot:8008', 1)]);
    now = msk('2026-11-30T12:04:00');
    expect(await watches[a].check()).toBe(0);
  });
});
