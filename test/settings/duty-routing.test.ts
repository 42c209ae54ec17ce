import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperatorStore } from '../../src/operators/operator-store.ts';
import { ChatRouting, type RoutingEvent } from '../../src/routing/chat-routing.ts';
import { dutyTarget } from '../../src/settings/duty-routing.ts';
import { SettingsStore } from '../../src/settings/settings-store.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../helpers/redis.ts';
import { first } from './first-message.ts';

const msk = (iso: string): number => Date.parse(`${iso}+03:00`);

describe('duty operator and duty group', () => {
  let prefix: string;
  let redis: Redis;
  let now: number;
  let ops: OperatorStore;
  let settings: SettingsStore;
  let routing: ChatRouting;
  let events: RoutingEvent[];

  const login = async (id: string, groups: string[]) => {
    const life = ops.newLifetime();
    await ops.save({
      tokenHash: `${id}-hash`,
      operator: { id, name: id, groups },
      workstationUser: `CORP\\${id}`,
      client: 'panel',
      feature: 49,
      seatSession: `${id}-seat`,
      ...life,
    });
  };

  beforeEach(async () => {
    prefix = uniquePrefix('duty');
    redis = newRedis();
    now = msk('2026-11-30T22:00:00'); // Monday night
    events = [];
    ops = new OperatorStore({ redis, prefix, ttlMs: 3_600_000, now: () => now });
    settings = new SettingsStore({ redis, prefix });
    routing = new ChatRouting({
      redis,
      prefix,
      onEvents: async (evs) => {
        events.push(...evs);
      },
      newChatTarget: dutyTarget(settings, ops, () => now),
    });
    await settings.put('account', 'acme_bot', {
      workingHours: { mon: [['08:00', '18:00']], tue: [['08:00', '18:00']] },
      dutyOperator: 'u-night',
    });
  });

  afterEach(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('at night a new chat is assigned to the duty operator at once (event "assigned", actor system)', async () => {
    const [route] = await routing.routeOf([first('1')]);
    expect(route).toEqual({ status: 'assigned', operatorId: 'u-night', group: 'default' });
    expect(events.map((e) => [e.type, e.operatorId, e.actor])).toEqual([['assigned', 'u-night', 'system']]);
    expect((await routing.state('tg:acme_bot:1'))?.owner).toBe('u-night');
    // The routing lane (1C) got the same event, in the same script.
    const lane = await redis.zrange(`${prefix}:lane:routing:q:tg:acme_bot:1`, '0', '-1');
    expect(lane.map((x) => (JSON.parse(x) as { type: string; actor: string }).type)).toEqual(['assigned']);
  });

  it('in working hours with an operator of the group online: the usual queue', async () => {
    now = msk('2026-12-01T10:00:00');
    await login('u-day', ['default']);
    expect((await routing.routeOf([first('2')]))[0]).toEqual({ status: 'queued', operatorId: null, group: 'default' });
  });

  it('in working hours with nobody of the group online: the duty group when the duty operator is away too', async () => {
    now = msk('2026-12-01T10:00:00');
    await settings.put('account', 'acme_bot', {
      workingHours: { mon: [['08:00', '18:00']], tue: [['08:00', '18:00']] },
      dutyOperator: 'u-night',
      dutyGroup: 'duty',
    });
    expect((await routing.routeOf([first('3')]))[0]).toEqual({ status: 'queued', operatorId: null, group: 'duty' });
    await login('u-night', ['duty']);
    expect((await routing.routeOf([first('4')]))[0]).toEqual({ status: 'assigned', operatorId: 'u-night', group: 'default' });
  });

  it('without duty settings nothing changes', async () => {
    await settings.put('account', 'acme_bot', { workingHours: { mon: [['08:00', '18:00']] } });
    expect((await routing.routeOf([first('5')]))[0]).toEqual({ status: 'queued', operatorId: null, group: 'default' });
  });
});
