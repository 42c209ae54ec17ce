/**
 * The feature contract: a feature is built from the services it names and nothing else (at
 * run time too, inside a real connector), and channels are asked for capabilities, not by name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { supportsAccountDiscovery, type ChannelConnector } from '../../src/core/index.ts';
import { contextFor, defineFeature, observed, type FeatureServices } from '../../src/features/feature-contract.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

let ts: TestStack | null = null;
afterEach(async () => {
  await ts?.stop();
  ts = null;
});

describe('feature contract', () => {
  it('contextFor hands over exactly the named services, frozen', () => {
    const services = { instanceId: 'host-1', roles: new Set(), accounts: () => [] } as unknown as FeatureServices;
    const ctx = contextFor(services, ['instanceId', 'accounts']);
    expect(Object.keys(ctx).sort()).toEqual(['accounts', 'instanceId']);
    expect(ctx.instanceId).toBe('host-1');
    expect(Object.getOwnPropertyDescriptor(ctx, 'accounts')?.value).toBe(Object.getOwnPropertyDescriptor(services, 'accounts')?.value);
    expect('roles' in ctx).toBe(false);
    expect(Object.isFrozen(ctx)).toBe(true);
  });

  it('a feature in a running connector sees only what it named; observed() hands over what it built', async () => {
    let seen: string[] = [];
    let built: { name: string } | null = null;
    const probe = defineFeature(['config', 'bus', 'channels'], (ctx) => {
      seen = Object.keys(ctx).sort();
      return { name: 'probe' };
    });
    ts = await startTestStack({
      connector: {
        features: [
          observed(probe, (f) => {
            built = f;
          }),
        ],
      },
      start: false,
    });
    expect(seen).toEqual(['bus', 'channels', 'config']);
    expect(built).toEqual({ name: 'probe' });
    // The composition root keeps every service (tests, the CLI); the feature got three.
    expect(Object.keys(ts.connector.ctx).length).toBeGreaterThan(10);
  });

  it('the Telegram channel declares account discovery; a channel without the method does not', async () => {
    ts = await startTestStack({ start: false });
    const telegram = ts.connector.ctx.channels.find((c) => c.channel === 'telegram');
    expect(telegram && supportsAccountDiscovery(telegram)).toBe(true);
    const plain: ChannelConnector = { channel: 'whatsapp', runners: () => [] };
    expect(supportsAccountDiscovery(plain)).toBe(false);
  });
});
