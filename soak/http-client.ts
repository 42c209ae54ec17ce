/** A tiny JSON HTTP client for the soak's calls to the connector instances (fetch with a timeout). */
/** `refused`: the connection was refused, so the request never reached the instance; `network`: it may have. */
export type HttpAnswer =
  | { kind: 'answer'; status: number; body: Record<string, unknown> }
  | { kind: 'network'; error: string }
  | { kind: 'refused'; error: string };

export async function call(
  url: string,
  method: string,
  path: string,
  bearer: string,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<HttpAnswer> {
  try {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { raw: text.slice(0, 200) };
    }
    return { kind: 'answer', status: res.status, body: parsed };
  } catch (err) {
    const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
    if (cause?.code === 'ECONNREFUSED') return { kind: 'refused', error: 'ECONNREFUSED' };
    return { kind: 'network', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

export function errorCode(a: HttpAnswer): string {
  if (a.kind !== 'answer') return a.kind;
  const e = a.body.error as { code?: unknown } | undefined;
  return typeof e?.code === 'string' ? e.code : `http_${a.status}`;
}
