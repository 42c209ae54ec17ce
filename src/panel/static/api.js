// The connector's HTTP API as the panel uses it: JSON calls with the operator token, and
// the operator feed (SSE) read through fetch — EventSource cannot send an Authorization
// header, so this reader sends the bearer and the Last-Event-ID itself and resumes from
// the last event it saw after any drop (the server then sends exactly what came after it).

export class ApiError extends Error {
  constructor(status, code, message, retryAfterS) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}

export async function call(method, path, { token, body, signal, keepalive } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, keepalive });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', navigator.onLine === false ? 'No network connection.' : 'The connector did not answer.', 3);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const ra = Number(res.headers.get('Retry-After'));
    const err = json?.error;
    throw new ApiError(
      res.status,
      err?.code ?? 'http_' + res.status,
      err?.message ?? `HTTP ${res.status}`,
      Number.isFinite(ra) && ra > 0 ? ra : null,
    );
  }
  return json;
}

/** A UUID for an outbound message: crypto.randomUUID needs a secure context (https), getRandomValues does not. */
export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Reads the operator feed until stop(): onEvent(type, data, id) for each event, in order;
 * onState('online' | 'offline'); onEnded(reason) when the login is over (401, `logout`).
 * After a drop it reconnects with the id of the last event it handed out.
 */
export function openFeed(token, { onEvent, onState, onEnded, lastEventId = null }) {
  let lastId = lastEventId;
  let stopped = false;
  let ctl = null;
  let retryMs = 1000;

  const run = async () => {
    while (!stopped) {
      ctl = new AbortController();
      try {
        const headers = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
        if (lastId) headers['Last-Event-ID'] = lastId;
        const res = await fetch('/api/v1/operators/feed', { headers, signal: ctl.signal, cache: 'no-store' });
        if (res.status === 401) {
          stopped = true;
          onEnded('unauthorized');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState('online');
        retryMs = 1000;
        const ended = await readEvents(res.body, (ev) => {
          if (ev.type === 'logout') return true;
          if (ev.id) lastId = ev.id;
          onEvent(ev.type, ev.data, ev.id);
          return false;
        });
        if (ended) {
          stopped = true;
          onEnded('logout');
          return;
        }
      } catch {
        if (stopped) return;
      }
      if (stopped) return;
      onState('offline');
      await new Promise((r) => setTimeout(r, retryMs));
      retryMs = Math.min(retryMs * 2, 15_000);
    }
  };
  void run();
  return {
    stop() {
      stopped = true;
      ctl?.abort();
    },
    /** Drops the current connection (the reader reconnects and resumes): for tests and the "reconnect" button. */
    drop() {
      ctl?.abort();
    },
    get lastEventId() {
      return lastId;
    },
  };
}

/** Parses an SSE body; onEvent returns true to stop. Resolves true when stopped so, false at the end of the body. */
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buf += value;
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const ev = { id: null, type: 'message', data: '' };
      let hasData = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'id') ev.id = val;
        else if (field === 'event') ev.type = val;
        else if (field === 'data') {
          ev.data += (hasData ? '\n' : '') + val;
          hasData = true;
        }
      }
      if (!hasData) continue;
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        continue;
      }
      if (onEvent({ ...ev, data })) {
        await reader.cancel().catch(() => undefined);
        return true;
      }
    }
  }
}

/** Fetches a media item with the bearer and gives an object URL (cached per page). */
const blobs = new Map();
export async function mediaUrl(token, chatId, mediaId) {
  const key = `${chatId}|${mediaId}`;
  if (!blobs.has(key)) {
    blobs.set(
      key,
      fetch(`/api/v1/chats/${encodeURIComponent(chatId)}/media/${encodeURIComponent(mediaId)}`, {
        headers: { Authorization: `Bearer ${token}` },
      }).then(async (r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return URL.createObjectURL(await r.blob());
      }),
    );
  }
  return blobs.get(key);
}
