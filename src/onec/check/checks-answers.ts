/**
 * Checks over every answer of the run: 200 answers are JSON labelled
 * `application/json; charset=utf-8`, and each call came back within the time budget.
 * They run last, so they see every call the other checks made.
 */
import { fail, jsonOf, pass, type Check } from './check-types.ts';

/** `application/json` with `charset=utf-8`, in any letter case and spacing. */
export function isJsonUtf8(contentType: string): boolean {
  const [type, ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  return type === 'application/json' && params.some((p) => p.replace(/\s+/g, '') === 'charset=utf-8');
}

export const jsonAnswers: Check = {
  name: 'json-answers',
  proves: 'every 200 answer is JSON, labelled Content-Type: application/json; charset=utf-8',
  async run(ctx) {
    const ok = ctx.http.answers.filter((x) => x.answer.status === 200);
    for (const { call, answer } of ok) {
      const expected = '200 answers labelled application/json; charset=utf-8 that parse as JSON';
      const where = `${call.method} ${call.path}`;
      if (!isJsonUtf8(answer.contentType)) return fail(expected, `200 on ${where} labelled "${answer.contentType || '(no Content-Type)'}"`);
      if (jsonOf(answer) === undefined) return fail(expected, answer, `${where} does not parse as JSON`);
    }
    return ok.length ? pass(`${ok.length} answers`) : fail('at least one 200 answer', 'none');
  },
};

export const responseTimes: Check = {
  name: 'response-times',
  proves: 'every call is answered within the time budget (half of ONEC_TIMEOUT_MS by default), so the connector keeps a margin',
  async run(ctx) {
    const calls = ctx.http.calls;
    const byPath = new Map<string, number[]>();
    for (const c of calls) byPath.set(c.path, [...(byPath.get(c.path) ?? []), c.ms]);
    const summary = [...byPath]
      .map(([path, ms]) => {
        const sorted = [...ms].sort((a, b) => a - b);
        return `${path} ${sorted.length}× median ${sorted[Math.floor((sorted.length - 1) / 2)]} ms, max ${sorted[sorted.length - 1]} ms`;
      })
      .join('; ');
    const slow = calls.filter((c) => c.ms > ctx.maxCallMs || c.status === 0);
    if (slow.length) {
      const worst = slow.reduce((a, b) => (b.ms > a.ms ? b : a));
      return fail(
        `every call within ${ctx.maxCallMs} ms`,
        `${worst.method} ${worst.path} (${worst.check}) took ${worst.ms} ms${worst.status ? ` (status ${worst.status})` : ` (${worst.error ?? 'no answer'})`}`,
        `${slow.length} slow call(s); ${summary}`,
      );
    }
    return pass(summary);
  },
};
