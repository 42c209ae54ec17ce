import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperatorStore, type OperatorLogin } from '../../src/operators/operator-store.ts';
import { ChatRouting, type RoutingEvent } from '../../src/routing/chat-routing.ts';
import { RoundRobin } from '../../src/settings/round-robin.ts';
import { SettingsStore } from '../../src/settings/settings-store.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../helpers/redis.ts';
import { first } from './first-message.ts';

describe('round robin among online operators with a cap', () => {
  let prefix: string;
  let redis: Redis;
  let now: number;
  let ops: OperatorStore;
  let routing: ChatRouting;
  let rr: RoundRobin;
  let events: RoutingEvent[];
  const logins = new Map<string, OperatorLogin>();

  const login = async (id: string) => {
    const l: OperatorLogin = {
      tokenHash: `${id}-hash`,
      operator: { id, name: id, groups: ['sales'] },
      workstationUser: `CORP\\${id}`,
      client: 'panel',
      feature: 49,
      seatSession: `${id}-seat`,
      ...ops.newLifetime(),
    };
    logins.set(id, l);
    await ops.save(l);
  };
  const owner = async (chat: string) => (await routing.state(`tg:acme_bot:${chat}`))?.owner ?? null;

  beforeEach(async () => {
    prefix = uniquePrefix('rr');
    redis = newRedis();
    now = Date.parse('2026-11-30T10:00:00Z');
    events = [];
    ops = new OperatorStore({ redis, prefix, ttlMs: 3_600_000, now: () => now });
    const settings = new SettingsStore({ redis, prefix });
    await settings.put('group', 'sales', { assignment: 'round_robin', maxOpenPerOperator: 1, returnAfterLogoutMinutes: 10 });
    routing = new ChatRouting({
      redis,
      prefix,
      defaultGroup: 'sales',
      onEvents: async (evs) => {
        events.push(...evs);
        await rr.onEvents(evs);
      },
    });
    rr = new RoundRobin({ redis, prefix, settings, presence: ops, routing, now: () => now });
    routing.newChatTarget = (_m, group) => rr.target(group);
  });

  afterEach(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('assigns to free operators in turn, queues the rest, fills on a close; an operator who left loses their chats after the grace period', async () => {
    await login('u-anna');
    await login('u-boris');
    await routing.routeOf([first('1')]);
    await routing.routeOf([first('2')]);
    await routing.routeOf([first('3')]);
    const [o1, o2] = [await owner('1'), await owner('2')];
    expect([o1, o2].sort()).toEqual(['u-anna', 'u-boris']); // one each: the cap is 1
    expect((await routing.state('tg:acme_bot:3'))?.status).toBe('queued');

    // Whoever has chat 1 closes it: chat 3 (waiting) goes to them at once.
    await routing.close('tg:acme_bot:1', { kind: 'operator', id: o1!, groups: ['sales'] });
    expect(await owner('3')).toBe(o1);
    expect(events.at(-1)).toMatchObject({ type: 'transferred', chatId: 'tg:acme_bot:3', operatorId: o1, actor: 'system' });

    // The owner of chat 2 logs out mid-chat: after 10 minutes chat 2 returns to the queue.
    await ops.remove(logins.get(o2!)!);
    await rr.tick();
    now += 9 * 60_000;
    expect(await rr.returnAbandoned()).toBe(0);
    expect(await owner('2')).toBe(o2);
    now += 2 * 60_000;
    expect(await rr.returnAbandoned()).toBe(1);
    const st = await routing.state('tg:acme_bot:2');
    expect(st).toMatchObject({ status: 'queued', owner: null, group: 'sales' });
    expect(events.find((e) => e.chatId === 'tg:acme_bot:2' && e.type === 'transferred')).toMatchObject({
      actor: 'system',
      operatorId: null,
    });

    // The one left online is at the cap (chat 3); when they close it, chat 2 is theirs.
    await routing.close('tg:acme_bot:3', { kind: 'api' });
    expect(await owner('2')).toBe(o1);
  });

  it('nobody online: queued, and assigned by the periodic check once someone logs in', async () => {
    await routing.routeOf([first('9')]);
    expect((await routing.state('tg:acme_bot:9'))?.status).toBe('queued');
    await login('u-anna');
    await rr.tick();
    expect(await owner('9')).toBe('u-anna');
  });

  it('manual groups are left alone', async () => {
    await new SettingsStore({ redis, prefix }).put('group', 'sales', { assignment: 'manual' });
    await login('u-anna');
    await routing.routeOf([first('5')]);
    expect((await routing.state('tg:acme_bot:5'))?.status).toBe('queued');
  });
});
