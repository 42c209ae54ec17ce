/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests:
 * every line must be a HELP, a TYPE or a sample of a declared family; label values use the
 * format's escapes; histogram buckets are cumulative and end with `le="+Inf"` = `_count`.
 * Throws on the first line that breaks the format, naming it.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(s: string, line: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`bad value "${s}" in: ${line}`);
  return Number(s);
}

function parseLabels(src: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    if (src[i] === '}') return { labels, rest: src.slice(i + 1) };
    const eq = src.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = src.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (src[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let j = eq + 2;
    let v = '';
    for (;;) {
      const c = src[j];
      if (c === undefined || c === '\n') throw new Error(`unterminated label value in: ${line}`);
      if (c === '\\') {
        const n = src[j + 1];
        if (n === 'n') v += '\n';
        else if (n === '\\') v += '\\';
        else if (n === '"') v += '"';
        else throw new Error(`bad escape \\${n} in: ${line}`);
        j += 2;
        continue;
      }
      if (c === '"') break;
      v += c;
      j++;
    }
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    labels[name] = v;
    i = j + 1;
    if (src[i] === ',') i++;
    else if (src[i] !== '}') throw new Error(`expected , or } in: ${line}`);
  }
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sample.endsWith(suffix)) {
      const f = families.get(sample.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

export function parsePromText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      const f = families.get(name) ?? { name, type: 'untyped' as MetricType, help: '', samples: [] };
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type in: ${line}`);
        if (f.samples.length) throw new Error(`TYPE after samples in: ${line}`);
        f.type = rest as MetricType;
      } else f.help = rest;
      families.set(name, f);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const name = m[1];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (m[2]) ({ labels, rest } = parseLabels(rest.slice(1), line));
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`bad sample value part in: ${line}`);
    const value = parseValue(parts[0], line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp in: ${line}`);
    const f = familyOf(name, families);
    if (!f) throw new Error(`sample of an undeclared family: ${line}`);
    f.samples.push({ name, labels, value });
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}_bucket without le`);
      g.buckets.push([parseValue(le, le), s.value]);
    } else if (s.name === `${f.name}_count`) g.count = s.value;
    groups.set(key, g);
  }
  for (const [key, g] of groups) {
    let prev = -1;
    let prevLe = -Infinity;
    for (const [le, v] of g.buckets) {
      if (le <= prevLe || v < prev) throw new Error(`${f.name}${key}: buckets not cumulative`);
      prev = v;
      prevLe = le;
    }
    const last = g.buckets[g.buckets.length - 1];
    if (!last || last[0] !== Infinity || last[1] !== g.count)
      throw new Error(`${f.name}${key}: +Inf bucket missing or not equal to _count`);
  }
}

/** The value of one series (labels must match exactly), or undefined. */
export function valueOf(families: Map<string, Family>, sample: string, labels: Record<string, string> = {}): number | undefined {
  const f = familyOf(sample, families);
  const want = JSON.stringify(Object.entries(labels).sort());
  return f?.samples.find((s) => s.name === sample && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}
