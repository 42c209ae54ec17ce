/**
 * Checks of the batch endpoints (onec-http-service.md, "Endpoints"): `POST /messages` with
 * every kind of message, the same ids again, 500 at once; `/statuses` and `/routing` with
 * their idempotency; one result per item in the order sent; a body the handler cannot
 * read. Each check judges its own rule only — results are matched by id here, and their
 * count and order are judged once, by `results-one-per-item`, over every batch of the run.
 */
import type { Answer } from './check-http.ts';
import { bigBatch, mixedBatch, routingBatch, statusBatch, type Item } from './check-fixtures.ts';
import { fail, firstLine, isObject, jsonOf, notRun, pass, type Check, type CheckContext, type Verdict } from './check-types.ts';

interface ItemResult {
  status: string;
  error?: string;
}

const LIST_KEY: Record<string, string> = { '/messages': 'messages', '/statuses': 'statuses', '/routing': 'events' };

function post(ctx: CheckContext, path: string, body: unknown): Promise<Answer> {
  return ctx.http.call({ method: 'POST', path, creds: ctx.service, cookie: ctx.mainSession as string, body });
}

/** The results of a 200 answer by id, or a sentence saying why there are none. */
function resultsOf(a: Answer): Map<string, ItemResult> | string {
  const j = jsonOf(a);
  if (!isObject(j) || !Array.isArray(j.results)) return 'the body is not {"results": [...]}';
  const map = new Map<string, ItemResult>();
  for (const [i, r] of j.results.entries()) {
    if (!isObject(r) || typeof r.id !== 'string' || typeof r.status !== 'string') return `results[${i}] has no string "id" and "status"`;
    map.set(r.id, { status: r.status, ...(typeof r.error === 'string' ? { error: r.error } : {}) });
  }
  return map;
}

/** Sends a batch and judges each item's status by id; `want` says which statuses are right for an item. */
async function judgeBatch(
  ctx: CheckContext,
  path: string,
  items: Item[],
  expected: string,
  want: (item: Item, r: ItemResult) => boolean,
): Promise<{ verdict: Verdict; results: Map<string, ItemResult> | null }> {
  const a = await post(ctx, path, { [LIST_KEY[path]]: items });
  if (a.status !== 200) return { verdict: fail(expected, a), results: null };
  const results = resultsOf(a);
  if (typeof results === 'string') return { verdict: fail(expected, a, results), results: null };
  const judged = items.filter((it) => results.has(it.id as string));
  if (judged.length === 0) return { verdict: fail(expected, a, 'no result names an id that was sent'), results };
  const wrong = judged.filter((it) => !want(it, results.get(it.id as string) as ItemResult));
  if (wrong.length) {
    const shown = wrong.slice(0, 3).map((it) => {
      const r = results.get(it.id as string) as ItemResult;
      return `${String(it.kind ?? it.type ?? it.status ?? '')} ${String(it.id)}: "${r.status}"${r.error ? ` (${r.error})` : ''}`.trim();
    });
    return {
      verdict: fail(expected, a, `${wrong.length} of ${items.length} wrong: ${shown.join('; ')}${wrong.length > 3 ? '; …' : ''}`),
      results,
    };
  }
  const missing = items.length - judged.length;
  return { verdict: pass(missing ? `${missing} result(s) missing (judged by results-one-per-item)` : undefined), results };
}

export const messagesAccepted: Check = {
  name: 'messages-accepted',
  proves: 'POST /messages takes every kind of message (text, photo with media, location, contact, edit, reply): all "accepted"',
  needsSession: true,
  async run(ctx) {
    const messages = mixedBatch(ctx.chatId);
    const { verdict, results } = await judgeBatch(
      ctx,
      '/messages',
      messages,
      '200 with "accepted" for each new message',
      (_, r) => r.status === 'accepted',
    );
    if (results) ctx.firstBatch = { body: { messages }, statusById: new Map([...results].map(([id, r]) => [id, r.status])) };
    return verdict;
  },
};

export const messagesDuplicate: Check = {
  name: 'messages-duplicate',
  proves: 'the same message ids again are answered "duplicate" (and not stored twice)',
  needsSession: true,
  async run(ctx) {
    const first = ctx.firstBatch;
    if (!first) return notRun('messages-accepted got no results to repeat');
    // Only what 1C stored can be a duplicate; a rejected message may be tried again.
    const stored = first.body.messages.filter((m) => first.statusById.get(m.id as string) === 'accepted');
    if (stored.length === 0) return notRun('messages-accepted stored nothing to repeat');
    return (
      await judgeBatch(ctx, '/messages', first.body.messages, '200 with "duplicate" for each message already stored', (m, r) =>
        first.statusById.get(m.id as string) === 'accepted' ? r.status === 'duplicate' : true,
      )
    ).verdict;
  },
};

export const messages500: Check = {
  name: 'messages-500',
  proves: 'a batch of 500 messages (the most the connector sends) is taken in one request: all "accepted"',
  needsSession: true,
  async run(ctx) {
    const batch = bigBatch(ctx.chatId, 500, 6);
    return (await judgeBatch(ctx, '/messages', batch, '200 with "accepted" for each of 500 messages', (_, r) => r.status === 'accepted'))
      .verdict;
  },
};

export const statuses: Check = {
  name: 'statuses',
  proves: 'POST /statuses answers each status; the same ones again are "duplicate" ("unknown" allowed for ids 1C never sent)',
  needsSession: true,
  async run(ctx) {
    const items = statusBatch(ctx.chatId);
    // The checker cannot know an outbound id 1C really sent: "accepted" (stored anyway) and "unknown" are both right.
    const once = await judgeBatch(ctx, '/statuses', items, '200 with "accepted" or "unknown" for each new status', (_, r) =>
      ['accepted', 'unknown'].includes(r.status),
    );
    if (once.verdict.mark !== 'pass' || !once.results) return once.verdict;
    const first = once.results;
    const again = await judgeBatch(ctx, '/statuses', items, '200 with "duplicate" for each status 1C accepted before', (s, r) => {
      const before = first.get(s.id as string)?.status;
      return before === 'accepted' ? r.status === 'duplicate' : ['unknown', 'duplicate'].includes(r.status);
    });
    if (again.verdict.mark !== 'pass') return again.verdict;
    const unknown = [...first.values()].filter((r) => r.status === 'unknown').length;
    return pass(unknown === items.length ? 'every id "unknown" (1C never sent them): idempotency not provable here' : undefined);
  },
};

export const routing: Check = {
  name: 'routing',
  proves: 'POST /routing answers each event "accepted"; the same events again are "duplicate"',
  needsSession: true,
  async run(ctx) {
    const items = routingBatch(ctx.chatId);
    const once = await judgeBatch(ctx, '/routing', items, '200 with "accepted" for each new event', (_, r) => r.status === 'accepted');
    if (once.verdict.mark !== 'pass') return once.verdict;
    return (await judgeBatch(ctx, '/routing', items, '200 with "duplicate" for each event sent before', (_, r) => r.status === 'duplicate'))
      .verdict;
  },
};

export const resultsOnePerItem: Check = {
  name: 'results-one-per-item',
  proves: 'every batch answer has one result per item, in the order sent (all batches of this run)',
  needsSession: true,
  async run(ctx) {
    let judged = 0;
    for (const { spec, answer } of ctx.http.answers) {
      const key = LIST_KEY[spec.path];
      if (spec.method !== 'POST' || !key || answer.status !== 200 || !isObject(spec.body) || !Array.isArray(spec.body[key])) continue;
      const items = spec.body[key] as Item[];
      const j = jsonOf(answer);
      const results = isObject(j) && Array.isArray(j.results) ? (j.results as unknown[]) : null;
      if (!results) continue; // a body without results is its own check's failure
      judged++;
      const expected = `one result per item in the order sent (POST ${spec.path} with ${items.length})`;
      if (results.length !== items.length) return fail(expected, answer, `${results.length} results for ${items.length} items`);
      const i = items.findIndex((it, k) => !isObject(results[k]) || results[k].id !== it.id);
      if (i >= 0) {
        const r = results[i];
        return fail(expected, answer, `results[${i}] is ${JSON.stringify(isObject(r) ? r.id : r)}, item ${i} is "${String(items[i].id)}"`);
      }
    }
    return judged ? pass(`${judged} batches`) : fail('at least one batch answered 200 with results', 'none');
  },
};

export const errorBodies: Check = {
  name: 'error-bodies',
  proves: 'a body the handler cannot read gets 400 with a sentence (JSON or text), not a 500 or an HTML page the connector would retry',
  needsSession: true,
  async run(ctx) {
    const a = await post(ctx, '/messages', { messages: 'onec-check: not a list' });
    const expected = '400 with a readable error (JSON or a plain sentence)';
    if (a.status < 400 || a.status > 499 || [401, 403, 404].includes(a.status)) return fail(expected, a);
    if (/html/i.test(a.contentType) || /^\s*</.test(a.body)) return fail(expected, a, 'an HTML page');
    if (/json/i.test(a.contentType) && jsonOf(a) === undefined) return fail(expected, a, 'labelled JSON but does not parse');
    if (!firstLine(a)) return fail(expected, a, 'the body is empty');
    return pass();
  },
};
