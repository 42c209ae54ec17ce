/**
 * The panel history's batch write (a delivered batch in one round trip per chat) leaves
 * exactly what writing the messages one by one leaves: items, order, trimming, media,
 * the recent-chats list; a redelivered batch adds nothing.
 */
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InboundMessage } from '../../src/core/index.ts';
import { PanelHistory } from '../../src/panel/panel-history.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../helpers/redis.ts';

const T0 = Date.parse('2026-11-30T10:00:00Z');

function message(chat: number, n: number, media: string[] = []): InboundMessage {
  const chatId = `tg:acme_bot:${chat}`;
  const at = new Date(T0 + chat * 1000 + n).toISOString();
  return {
    id: `${chatId}:${n}`,
    seq: n,
    chatId,
    channel: 'telegram',
    account: 'acme_bot',
    chat: { type: 'private', title: `Customer ${chat}` },
    sender: { id: `tg:${chat}`, name: `Customer ${chat}`, username: null, phone: null },
    kind: media.length ? 'photo' : 'text',
    text: `message ${n}`,
    media: media.map((id) => ({ id, mime: 'image/jpeg', fileName: null, size: 1, sha256: '00', url: `/media/${id}` })),
    replyTo: null,
    target: null,
    sentAt: at,
    receivedAt: at,
    route: null,
  };
}

describe('PanelHistory.addInboundMany', () => {
  let redis: Redis;
  let prefixes: string[];

  beforeEach(() => {
    redis = newRedis();
    prefixes = [];
  });
  afterEach(async () => {
    for (const p of prefixes) await cleanupPrefix(p);
    redis.disconnect();
  });

  function history(maxItems: number): PanelHistory {
    const prefix = uniquePrefix('panel-hist');
    prefixes.push(prefix);
    return new PanelHistory({ redis, prefix, maxItems, days: 30, now: () => T0 + 60_000 });
  }

  async function snapshot(h: PanelHistory, chats: number[]) {
    const out: Record<string, unknown> = {};
    for (const c of chats) {
      const chatId = `tg:acme_bot:${c}`;
      const page = await h.page(chatId, null, 100);
      out[chatId] = { ids: page.items.map((i) => i.id), media: await h.hasMedia(chatId, `m${c}`) };
    }
    out.recent = await h.recentChats(10);
    return out;
  }

  it('stores a batch of several chats as one-by-one writes do, trimmed to the newest items', async () => {
    const batch = [message(1, 1), message(1, 2), message(2, 1, ['m2']), message(1, 3), message(1, 4), message(2, 2)];
    const one = history(3);
    for (const m of batch) await one.addInbound(m);
    const many = history(3);
    // Four runs of one chat ([1:1, 1:2], [2:1], [1:3, 1:4], [2:2]), each added something.
    expect(await many.addInboundMany(batch)).toBe(4);
    expect(await snapshot(many, [1, 2])).toEqual(await snapshot(one, [1, 2]));
    expect((await many.page('tg:acme_bot:1', null, 10)).items.map((i) => i.id)).toEqual([
      'tg:acme_bot:1:2',
      'tg:acme_bot:1:3',
      'tg:acme_bot:1:4',
    ]);
    expect(await many.hasMedia('tg:acme_bot:2', 'm2')).toBe(true);
  });

  it('adds nothing when the same batch is delivered again', async () => {
    const h = history(50);
    const batch = [message(5, 1), message(5, 2)];
    await h.addInboundMany(batch);
    expect(await h.addInboundMany(batch)).toBe(0);
    expect((await h.page('tg:acme_bot:5', null, 10)).items).toHaveLength(2);
  });
});
