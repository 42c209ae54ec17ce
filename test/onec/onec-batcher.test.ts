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
});
