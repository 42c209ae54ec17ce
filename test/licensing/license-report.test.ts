import { trustedKeysOf } from '../../src/licensing/trusted-keys.ts';
import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { cleanupPrefix, newRedis, uniquePrefix } from '../helpers/redis.ts';
import { verifyLicenseText } from '../../src/licensing/license-document.ts';
import { buildLicenseReport, licenseReporter, renderLicenseReport } from '../../src/licensing/license-report.ts';
import { SeatManager } from '../../src/licensing/seats.ts';
import { licenseRoutes } from '../../src/http/routes/license-routes.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { ConnectorError } from '../../src/core/index.ts';
import { doc, newKeys } from './license-fixtures.ts';

const HOST = 'H1-REPO-RTRE-PORT-AAAA';
const DAY = 86_400_000;
const keys = newKeys();
const conns: Redis[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const p of prefixes.splice(0)) await cleanupPrefix(p);
  for (const c of conns.splice(0)) c.disconnect();
});

function seatManager(now: () => number, ttlS = 300): SeatManager {
  const prefix = uniquePrefix('report');
  prefixes.push(prefix);
  const redis = newRedis();
  conns.push(redis);
  return new SeatManager({ redis, prefix, ttlS, now });
}

describe('license report', () => {
  it('counts seats, holders and the 7/30-day forecast from a scripted history', async () => {
    const today = Date.UTC(2026, 2, 20, 12);
    let t = today;
    const seats = seatManager(() => t, 3600);
    // Scripted history: who worked in the panel (49) and in 1C (48) how many days ago.
    const panel: Array<[string, number]> = [];
    for (let i = 0; i < 12; i++) panel.push([`CORP\\panel${i}`, i % 6]); // 12 users within the week
    for (let i = 0; i < 3; i++) panel.push([`CORP\\old${i}`, 20]); // 3 more within 30 days
    panel.push(['CORP\\ancient', 40]); // beyond the history window
    panel.push(['panel0@corp', 25]); // panel0 again, earlier: still one user
    const onec: Array<[string, number]> = [
      ['CORP\\a', 1],
      ['CORP\\b', 2],
      ['corp\\A', 3],
    ];
    for (const [list, feature, total] of [
      [panel, 49, 10],
      [onec, 48, 25],
    ] as const) {
      for (const [user, daysAgo] of [...list].sort((x, y) => y[1] - x[1])) {
        t = today - daysAgo * DAY;
        await seats.acquire(feature, user, total, { session: `${user}-${daysAgo}` });
        await seats.release(feature, user, `${user}-${daysAgo}`);
      }
    }
    t = today;
    // Two users hold panel seats right now.
    const live = ['CORP\\panel0', 'CORP\\panel1'];
    for (const u of live) {
      await seats.acquire(49, u, 10, { session: `live-${u}` });
      panel.push([u, 0]);
    }

    const check = verifyLicenseText(
      doc(keys, {
        hostId: HOST,
        id: 'LIC-7',
        licensee: 'ООО Ромашка',
        features: { 42: 1, 48: 25, 49: 10 },
        issuedAt: new Date(today - 100 * DAY),
        expiresAt: new Date(today + 10 * DAY),
      }),
      { trustedKeys: trustedKeysOf([keys.publicKeyPem]), hostId: HOST, now: new Date(today) },
    );
    const r = await buildLicenseReport({ check, seats, now: new Date(today) });

    const distinct = (list: Array<[string, number]>, days: number) =>
      new Set(list.filter(([, d]) => d < days).map(([u]) => seats.normalize(u))).size;
    const p7 = distinct(panel, 7);
    const p30 = distinct(panel, 30);
    const fc49 = r.forecast.find((f) => f.feature === 49)!;
    expect(fc49).toMatchObject({ client: 'panel', seats: 10, users7d: p7, users30d: p30, shortage7d: p7 - 10, shortage30d: p30 - 10 });
    expect(fc49.summary).toContain(`${p7} users worked in the external panel this week`);
    expect(fc49.summary).toContain('10 seats of 49');
    expect(fc49.summary).toContain(`${p7 - 10} short`);
    const fc48 = r.forecast.find((f) => f.feature === 48)!;
    expect(fc48).toMatchObject({ client: '1c', users7d: distinct(onec, 7), shortage7d: 0 });
    expect(fc49.daily).toHaveLength(30);
    expect(fc49.daily.at(-1)).toEqual({ day: '2026-03-20', users: distinct(panel, 1) });

    const f49 = r.features.find((f) => f.id === 49)!;
    expect(f49.name).toBe('Интеграция 1С и телефонии ПРОФ (сеанс в внешней панели)');
    expect(f49.seats).toMatchObject({ total: 10, used: 2, free: 8 });
    expect(f49.seats!.holders.map((h) => h.user).sort()).toEqual(['panel0@corp', 'panel1@corp']);
    expect(f49.seats!.holders[0].since).toBe(new Date(today).toISOString());
    expect(r.features.find((f) => f.id === 31)!.state).toBe('missing');
    expect(r.license).toMatchObject({ id: 'LIC-7', licensee: 'ООО Ромашка', expiresInDays: 10 });
    expect(r.chatsLicensed).toBe(true);
    expect(r.warnings.some((w) => w.includes('expires') && w.includes('10 days'))).toBe(true);
    expect(r.warnings).toContain(fc49.summary);

    const text = renderLicenseReport(r).join('\n');
    expect(text).toContain(`Host id: ${HOST}`);
    expect(text).toContain('49 Интеграция 1С и телефонии ПРОФ (сеанс в внешней панели): granted; seats 2/10 used, 8 free');
    expect(text).toContain('panel0@corp since');
    expect(text).toContain(fc49.summary);
  });

  it('grants no seats from a document for another host', async () => {
    const seats = seatManager(() => Date.now());
    const check = verifyLicenseText(doc(keys, { hostId: 'H1-OTHR-OTHR-OTHR-OTHR' }), {
      trustedKeys: trustedKeysOf([keys.publicKeyPem]),
      hostId: HOST,
    });
    const r = await buildLicenseReport({ check, seats });
    expect(r.chatsLicensed).toBe(false);
    expect(r.license.code).toBe('license_wrong_host');
    for (const f of r.features) expect(f.state).toBe('wrong_host');
    expect(r.features.find((f) => f.id === 48)!.seats).toMatchObject({ total: 0, used: 0, free: 0 });
    expect(renderLicenseReport(r).join('\n')).toContain('wrong host');
  });

  it('is served at GET /api/v1/licenses behind the API token, errors as {"error"}', async () => {
    const seats = seatManager(() => Date.now());
    const check = verifyLicenseText(doc(keys, { hostId: HOST }), { trustedKeys: trustedKeysOf([keys.publicKeyPem]), hostId: HOST });
    let fail: Error | null = null;
    const report = licenseReporter({ check: () => check, seats });
    const app = await buildHttpApp({
      apiToken: 'secret-token',
      plugins: [licenseRoutes({ report: () => (fail ? Promise.reject(fail) : report()) })],
    });
    try {
      const ok = await app.inject({ method: 'GET', url: '/api/v1/licenses', headers: { authorization: 'Bearer secret-token' } });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ hostId: HOST, chatsLicensed: true });
      const denied = await app.inject({ method: 'GET', url: '/api/v1/licenses' });
      expect(denied.statusCode).toBe(401);
      fail = new Error('boom');
      const broken = await app.inject({ method: 'GET', url: '/api/v1/licenses', headers: { authorization: 'Bearer secret-token' } });
      expect(broken.statusCode).toBe(500);
      expect(broken.json()).toEqual({ error: { code: 'license_report_failed', message: expect.stringContaining('boom') } });
      fail = new ConnectorError('redis_unreachable', 'Redis did not answer.', { httpStatus: 503 });
      const down = await app.inject({ method: 'GET', url: '/api/v1/licenses', headers: { authorization: 'Bearer secret-token' } });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toEqual({ error: { code: 'redis_unreachable', message: 'Redis did not answer.' } });
    } finally {
      await app.close();
    }
  });
});
