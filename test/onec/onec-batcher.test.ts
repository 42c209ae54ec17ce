/**
 * The batcher keeps the 1C session busy (issue 19): when an answer comes, the next queued
 * batch's request is sent before the answered batch's callers go on with their own work,
 * and the body leaves exactly as the items were encoded when they were queued.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/index.ts';
import { OnecBatcher } from '../../src/onec/onec-batcher.ts';
import { OnecSessionPool } from '../../src/onec/onec-session-pool.ts';
import { OnecTransport, type OnecRequest, type OnecResponse } from '../../src/onec/onec-transport.ts';
import { LocalSessionPermits } from '../../src/onec/session-permits.ts';

/** A transport whose answers the test gives by hand, one request at a time. */
class HandTransport extends OnecTransport {
  readonly sent: { req: OnecRequest; answer: (ids: string[]) => void }[] = [];
  constructor() {
    super({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 1_000 });
  }
  override send(req: OnecRequest): Promise<OnecResponse> {
    return new Promise((resolve) => {
      this.sent.push({
        req,
        answer: (ids) =>
          resolve({
            status: 200,
            body: JSON.stringify({ results: ids.map((id) => ({ id, status: 'accepted' })) }),
            contentType: 'application/json',
            sessionId: req.session.mode === 'start' ? 'sess-1' : null,
          }),
      });
    });
  }
}

function setup(batchMax = 10) {
  const transport = new HandTransport();
  const pool = new OnecSessionPool({
    transport,
    credentials: { login: 'svc', password: 'x' },
    maxSessions: 1,
    idleFinishMs: 60_000,
    permits: new LocalSessionPermits(1),
    logger: silentLogger,
  });
  const batcher = new OnecBatcher<{ id: string; text: string }>({ endpoint: 'messages', key: 'messages', batchMax, pool, transport });
  return { transport, pool, batcher };
}

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setImmediate(r));
};

describe('OnecBatcher', () => {
  it("sends the next queued batch before the answered batch's caller goes on", async () => {
    const { transport, batcher } = setup(2);
    const a = batcher.submit([
      { id: 'a1', text: 'x' },
      { id: 'a2', text: 'y' },
    ]);
    await until(() => transport.sent.length === 1);
    // Queued while the session is busy with a: it cannot join a's call (batchMax 2).
    const b = batcher.submit([{ id: 'b1', text: 'z' }]);
    let sentWhenAHeard = -1;
    const heard = a.then((r) => {
      sentWhenAHeard = transport.sent.length;
      return r;
    });
    transport.sent[0].answer(['a1', 'a2']);
    expect((await heard).map((r) => r.id)).toEqual(['a1', 'a2']);
    expect(sentWhenAHeard).toBe(2);
    transport.sent[1].answer(['b1']);
    expect((await b).map((r) => r.status)).toEqual(['accepted']);
  });

  it('sends the items as they were encoded, all queued callers in one body, results matched by id', async () => {
    const { transport, batcher } = setup(10);
    const first = batcher.submit([{ id: 'p0', text: 'first' }]);
    await until(() => transport.sent.length === 1);
    const p = batcher.submit([
      { id: 'p1', text: 'кириллица "quoted"' },
      { id: 'p2', text: 'two' },
    ]);
    const q = batcher.submit([{ id: 'q1', text: 'three' }]);
    transport.sent[0].answer(['p0']);
    await first;
    await until(() => transport.sent.length === 2);
    const req = transport.sent[1].req;
    expect(JSON.parse(req.json ?? '')).toEqual({
      messages: [
        { id: 'p1', text: 'кириллица "quoted"' },
        { id: 'p2', text: 'two' },
        { id: 'q1', text: 'three' },
      ],
    });
    transport.sent[1].answer(['q1', 'p2', 'p1']);
    expect((await p).map((r) => r.id)).toEqual(['p1', 'p2']);
    expect((await q).map((r) => r.id)).toEqual(['q1']);
  });

  describe('side traffic (lingerWhenBusyMs)', () => {
    function sideSetup(lingerWhenBusyMs: number) {
      const { transport, pool, batcher: messages } = setup(10);
      const routing = new OnecBatcher<{ id: string }>({
        endpoint: 'routing',
        key: 'events',
        batchMax: 10,
        pool,
        transport,
        lingerWhenBusyMs,
      });
      return { transport, messages, routing };
    }
    const paths = (t: HandTransport) => t.sent.map((s) => s.req.path);

    it('waits while the session is busy, so events queued one by one share one call after the messages', async () => {
      const { transport, messages, routing } = sideSetup(60_000);
      const m1 = messages.submit([{ id: 'm1', text: 'x' }]);
      await until(() => transport.sent.length === 1);
      // The session is busy with m1: three events come one by one, and then more messages.
      const events = [routing.submit([{ id: 'e1' }]), routing.submit([{ id: 'e2' }]), routing.submit([{ id: 'e3' }])];
      const m2 = messages.submit([{ id: 'm2', text: 'y' }]);
      transport.sent[0].answer(['m1']);
      await m1;
      await until(() => transport.sent.length === 2);
      // The messages go next; the events do not take a call of their own each.
      expect(paths(transport)).toEqual(['/messages', '/messages']);
      // Full batch: ten events make it leave at once although the session is busy.
      const more = Array.from({ length: 7 }, (_, i) => routing.submit([{ id: `f${i}` }]));
      transport.sent[1].answer(['m2']);
      await m2;
      await until(() => transport.sent.length === 3);
      expect(paths(transport)).toEqual(['/messages', '/messages', '/routing']);
      const body = JSON.parse(transport.sent[2].req.json ?? '{}') as { events: { id: string }[] };
      expect(body.events.map((e) => e.id)).toEqual(['e1', 'e2', 'e3', 'f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
      transport.sent[2].answer(body.events.map((e) => e.id));
      expect((await Promise.all([...events, ...more])).flat()).toHaveLength(10);
    });

    it('leaves at once when a session is free; queued while it was busy, it waits out the linger', async () => {
      const { transport, messages, routing } = sideSetup(40);
      // Free session: no wait.
      const e0 = routing.submit([{ id: 'e0' }]);
      await until(() => transport.sent.length === 1);
      transport.sent[0].answer(['e0']);
      await e0;
      // Queued while a message call is in flight: the session frees at once, yet the event
      // keeps to its linger (more events may come) and then goes by itself — no more traffic needed.
      const m = messages.submit([{ id: 'm1', text: 'x' }]);
      await until(() => transport.sent.length === 2);
      const queuedAt = performance.now();
      const e1 = routing.submit([{ id: 'e1' }]);
      transport.sent[1].answer(['m1']);
      await m;
      await until(() => transport.sent.length === 3);
      expect(performance.now() - queuedAt).toBeGreaterThanOrEqual(39);
      expect(transport.sent[2].req.path).toBe('/routing');
      transport.sent[2].answer(['e1']);
      expect((await e1).map((r) => r.id)).toEqual(['e1']);
    });
  });
});
