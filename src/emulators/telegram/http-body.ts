/**
 * Request bodies as the Bot API accepts them: JSON, application/x-www-form-urlencoded, or
 * multipart/form-data (grammY sends InputFile uploads that way: plain fields as parts, files
 * as parts named by a random id that a field references with `attach://<id>`), plus the
 * query string. Values of form fields that hold JSON (reply_parameters, entities, …) are
 * parsed when they look like JSON objects or arrays, as the real server does.
 */
import type { IncomingMessage } from 'node:http';

export interface UploadedFile {
  fileName: string | null;
  mime: string | null;
  bytes: Buffer;
}

export interface ParsedBody {
  params: Record<string, unknown>;
  /** Multipart file parts by part name. */
  files: Map<string, UploadedFile>;
}

export async function readAll(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw new BodyError(413, 'Request Entity Too Large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function formValue(v: string): unknown {
  const t = v.trim();
  if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return v;
    }
  }
  return v;
}

export function parseBody(contentType: string | undefined, raw: Buffer, query: URLSearchParams): ParsedBody {
  const params: Record<string, unknown> = {};
  const files = new Map<string, UploadedFile>();
  for (const [k, v] of query) params[k] = formValue(v);
  const ct = (contentType ?? '').toLowerCase();
  if (raw.length === 0) return { params, files };
  if (ct.startsWith('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new BodyError(400, "Bad Request: can't parse JSON");
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(params, parsed);
  } else if (ct.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) params[k] = formValue(v);
  } else if (ct.startsWith('multipart/form-data')) {
    const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
    const boundary = m?.[1] ?? m?.[2];
    if (!boundary) throw new BodyError(400, 'Bad Request: multipart boundary missing');
    for (const part of splitMultipart(raw, boundary)) {
      if (part.fileName !== null || part.mime === 'application/octet-stream') {
        files.set(part.name, { fileName: part.fileName, mime: part.mime, bytes: part.body });
      } else {
        params[part.name] = formValue(part.body.toString('utf8'));
      }
    }
  }
  return { params, files };
}

interface Part {
  name: string;
  fileName: string | null;
  mime: string | null;
  body: Buffer;
}

function splitMultipart(raw: Buffer, boundary: string): Part[] {
  const buf = Buffer.concat([Buffer.from('\r\n'), raw]);
  const delim = Buffer.from(`\r\n--${boundary}`);
  const parts: Part[] = [];
  let pos = buf.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (buf.subarray(start, start + 2).toString() === '--') break;
    const next = buf.indexOf(delim, start);
    if (next < 0) break;
    const chunk = buf.subarray(start, next);
    // chunk: "\r\n" headers "\r\n\r\n" body
    const headerEnd = chunk.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = chunk.subarray(0, headerEnd).toString('utf8').split('\r\n').filter(Boolean);
      let name = '';
      let fileName: string | null = null;
      let mime: string | null = null;
      for (const h of headers) {
        const colon = h.indexOf(':');
        const key = h.slice(0, colon).trim().toLowerCase();
        const value = h.slice(colon + 1).trim();
        if (key === 'content-disposition') {
          name =
            /(?:^|;)\s*name=(?:"([^"]*)"|([^;]*))/i
              .exec(value)
              ?.slice(1)
              .find((x) => x !== undefined) ?? '';
          const fn = /(?:^|;)\s*filename=(?:"([^"]*)"|([^;]*))/i.exec(value);
          if (fn) fileName = (fn[1] ?? fn[2] ?? '').trim() || null;
        } else if (key === 'content-type') {
          mime = value;
        }
      }
      parts.push({ name, fileName, mime, body: Buffer.from(chunk.subarray(headerEnd + 4)) });
    }
    pos = next;
  }
  return parts;
}
