/**
 * Issue 11 item 1: the credential a request needs is decided by the route it reaches, not
 * by how its path is spelled. Every registered route (as fastify's onRoute hook lists
 * them, HEAD included) is called under many spellings of its path with no token, a wrong
 * token, the other kind of token and the dashboard login; wherever the route's own
 * credential is not given the answer must be 401 (the route was reached and refused) or
 * the generic 404 (the spelling is no route) — never a handler's answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, API_TOKEN, buildFullApp, OPERATOR_TOKEN, type FullApp } from './full-app.ts';

type Cred = 'none' | 'wrong' | 'api' | 'operator' | 'admin' | 'adminWrong';
const HEADERS: Record<Cred, string | undefined> = {
  none: undefined,
  wrong: 'Bearer not-the-token',
  api: `Bearer ${API_TOKEN}`,
  operator: `Bearer ${OPERATOR_TOKEN}`,
  admin: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`,
  adminWrong: `Basic ${Buffer.from(`${ADMIN.user}:${API_TOKEN}`).toString('base64')}`,
};
const ALL: Cred[] = ['none', 'wrong', 'api', 'operator', 'admin', 'adminWrong'];

/** What each route accepts, by the contract (connector-api.md), not by what the code declares. */
function accepted(method: string, url: string): Cred[] | 'public' {
  if (['/healthz', '/readyz', '/metrics', '/telegram/:account/webhook', '/api/v1/openapi.json'].includes(url)) return 'public';
  if (url === '/docs' || url.startsWith('/docs/')) return 'public';
  // The operator panel's page and its static files (the page logs in with the operator's credentials).
  if (url === '/panel' || url.startsWith('/panel/')) return 'public';
  // The operator's own credentials authenticate the login (connector-api.md); it is throttled.
  if (url === '/api/v1/operators/login') return 'public';
  if (url === '/admin/queues' || url.startsWith('/admin/queues/')) return ['admin'];
  if (/^\/api\/v1\/operators\/(heartbeat|logout|feed)$/.test(url)) return ['operator'];
  if (url.startsWith('/api/v1/chats/')) return ['api', 'operator'];
  // The panel writes and lists with the operator token (connector-api.md: outbound with an operator token).
  if (url === '/api/v1/messages' && method === 'POST') return ['api', 'operator'];
  if (url === '/api/v1/panel/chats') return ['api', 'operator'];
  void method;
  return ['api'];
}

const SAMPLE: Record<string, string> = {
  chatId: 'tg:bot:1',
  id: 'm1',
  account: 'main',
  queueName: 'inbound-dead',
  jobId: 'j1',
  queueStatus: 'failed',
  schedulerId: 's1',
};

function concrete(url: string, mediaId: string): string {
  return url
    .replace(/:(\w+)/g, (_m, name: string) => (url.startsWith('/api/v1/media/') ? mediaId : (SAMPLE[name] ?? 'x')))
    .replace(/\*/g, 'x');
}

/** Spellings of one path; `routes` says whether the router maps it to the same route. */
function spellings(path: string): { path: string; routes: boolean | 'maybe' }[] {
  const m = /^\/([^/]+)(.*)$/.exec(path);
  if (!m) return [{ path, routes: true }];
  const [, seg, rest] = m;
  const hex = (c: string) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  const out = [
    { path, routes: true },
    { path: `/${hex(seg[0])}${seg.slice(1)}${rest}`, routes: true },
    { path: `/${seg.slice(0, -1)}${hex(seg[seg.length - 1])}${rest}`, routes: true },
    { path: `/${hex(seg[0]).toUpperCase()}${seg.slice(1)}${rest}`, routes: true },
    { path: `//${seg}${rest}`, routes: false },
    { path: `/${seg.toUpperCase()}${rest}`, routes: seg.toUpperCase() === seg },
    // A trailing slash: no route of ours, but the dashboard's wildcard routes take it.
    { path: `${path}/`, routes: 'maybe' as const },
  ];
  // Spellings a router might or might not fold onto the route: an encoded slash, a dot
  // segment, a matrix parameter. Whatever they reach, they must not get past its credential.
  const slash = rest.indexOf('/', 1);
  if (slash > 0) out.push({ path: `/${seg}${rest.slice(0, slash)}%2F${rest.slice(slash + 1)}`, routes: 'maybe' as const });
  out.push({ path: `/${seg}/x/..${rest}`, routes: 'maybe' as const });
  out.push({ path: `/${seg};x=1${rest}`, routes: 'maybe' as const });
  // A letter of a later segment encoded too (the router decodes every segment).
  const later = /^(\/[^/]+\/)([a-z])(.*)$/.exec(path);
  if (later) out.push({ path: `${later[1]}${hex(later[2])}${later[3]}`, routes: true });
  return out;
}

let full: FullApp;
beforeAll(async () => {
  full = await buildFullApp();
});
afterAll(async () => {
  await full?.close();
});

function bodyFor(method: string, url: string): string | undefined {
  if (!['POST', 'PUT', 'PATCH'].includes(method)) return undefined;
  if (url === '/api/v1/messages') return JSON.stringify({ id: 'm1', chatId: 'tg:bot:1', text: 'hi' });
  if (url.endsWith('/transfer')) return JSON.stringify({ group: 'sales' });
  if (url.endsWith('/pairing-code')) return JSON.stringify({ phone: '79991234567' });
  if (url.endsWith('/login') && url.startsWith('/api/v1/telegram/')) return JSON.stringify({ phone: '+79991234567' });
  if (url === '/api/v1/routing/rules') return JSON.stringify({ rules: [] });
  if (url === '/api/v1/operators/login')
    return JSON.stringify({ workstationUser: 'CORP\\petrova', client: 'panel', login: 'petrova', password: 'secret-password' });
  return '{}';
}

describe('route credentials do not depend on the spelling of the path', () => {
  it('lists the routes it checks (every plugin of the connector is there)', () => {
    const urls = new Set(full.routes.map((r) => r.url));
    for (const u of [
      '/api/v1/messages',
      '/api/v1/media/:id',
      '/api/v1/accounts',
      '/api/v1/whatsapp/:account/qr',
      '/api/v1/telegram/:account/login',
      '/telegram/:account/webhook',
      '/api/v1/operators/feed',
      '/admin/queues',
      '/metrics',
    ])
      expect(urls).toContain(u);
    expect(full.routes.some((r) => r.method === 'HEAD')).toBe(true);
  });

  it('every route, every spelling, every credential that is not the route’s own: 401 or the generic 404', async () => {
    const leaks: string[] = [];
    let checked = 0;
    for (const r of full.routes) {
      const want = accepted(r.method, r.url);
      if (want === 'public') continue;
      const path = concrete(r.url, full.mediaId);
      for (const sp of spellings(path)) {
        for (const cred of ALL) {
          const ok = want.includes(cred);
          const h = HEADERS[cred];
          const payload = bodyFor(r.method, r.url);
          const res = await full.app.inject({
            method: r.method as 'GET',
            url: sp.path,
            headers: { ...(h ? { authorization: h } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
            payload,
          });
          checked++;
          const where = `${r.method} ${sp.path} with ${cred}: ${res.statusCode} ${res.body.slice(0, 120)}`;
          if (sp.routes === 'maybe') {
            const refused =
              res.statusCode === 401 ||
              (res.statusCode === 404 && (r.method === 'HEAD' || res.json<{ error?: { code: string } }>().error?.code === 'not_found'));
            if (!ok && !refused) leaks.push(where);
            continue;
          }
          if (!sp.routes) {
            if (res.statusCode !== 404 || (r.method !== 'HEAD' && res.json<{ error?: { code: string } }>().error?.code !== 'not_found'))
              leaks.push(where);
            continue;
          }
          if (!ok && res.statusCode !== 401) leaks.push(where);
          // The route's own credential gets past authentication (so the check above can fail).
          const generic404 = res.statusCode === 404 && (r.method === 'HEAD' ? !res.headers['content-type'] : /"not_found"/.test(res.body));
          // (A static-file wildcard with a made-up file name is a 404 of the file server.)
          if (ok && !r.url.includes('*') && (res.statusCode === 401 || generic404 || res.statusCode >= 500))
            leaks.push(`refused: ${where}`);
        }
      }
    }
    expect(leaks).toEqual([]);
    expect(checked).toBeGreaterThan(1000);
  });

  it('OPTIONS and unknown methods on every path reach nothing', async () => {
    for (const r of full.routes) {
      const path = concrete(r.url, full.mediaId);
      for (const method of ['OPTIONS', 'TRACE', 'DELETE'] as const) {
        if (full.routes.some((x) => x.method === method && x.url === r.url)) continue;
        const res = await full.app.inject({ method, url: path.replace(/^\/api\//, '/%61pi/') });
        expect([401, 404, 405], `${method} ${path}`).toContain(res.statusCode);
      }
    }
  });

  it('an unknown path is a bare 404 that echoes nothing back', async () => {
    const res = await full.app.inject({ url: '/%61pi/v1/nothing-here?token=abc' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'No such endpoint.' } });
  });
});
