/**
 * Working hours in an account's IANA time zone: is it open at an instant, when did the
 * current open or closed period start, when does it open next.
 *
 * Hours are local wall-clock intervals per weekday (split shifts: several per day), and a
 * holiday calendar that replaces a date's hours (`[]` = closed; special hours for shortened
 * days). Each local interval is turned into UTC instants for its own date, so a DST change
 * moves nothing: 08:00 Berlin is 07:00Z in winter and 06:00Z in summer. A local time that
 * does not exist (the spring gap, 02:30 on the last Sunday of March in Berlin) is taken
 * as the same distance after the gap (03:30); an ambiguous one (autumn) as its later instant.
 *
 * Periods are merged across midnight (18:00–24:00 and 00:00–02:00 next day are one open
 * period), so a closed period has one start — the key that makes the out-of-hours reply
 * "once per closed period per chat".
 *
 * Only Intl.DateTimeFormat is used (no date library); formatters are cached per zone.
 */
import { minutesOf, WEEKDAYS, type Holiday, type Interval, type Language, type Weekday } from './account-settings.ts';

export interface HoursPolicy {
  timeZone: string;
  /** null: always open (holidays still apply). */
  workingHours: Record<Weekday, Interval[]> | null;
  holidays: Holiday[];
}

export interface HoursState {
  open: boolean;
  /** When the current open or closed period began (ms); null when not found within ~a year. */
  periodStart: number | null;
  /** Closed: the next opening (ms); null when none within ~a year. Open: null. */
  opensAt: number | null;
  /** Open: when this period ends (ms); null when not within ~a year. Closed: null. */
  closesAt: number | null;
}

type Ymd = [number, number, number];

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The local wall-clock of an instant in a zone. */
export function localParts(tz: string, ms: number): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const p: Record<string, number> = {};
  for (const x of formatter(tz).formatToParts(new Date(ms))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return { y: p.year, m: p.month, d: p.day, h: p.hour === 24 ? 0 : p.hour, mi: p.minute, s: p.second };
}

/** Local time minus UTC at an instant, ms. */
function offsetAt(tz: string, ms: number): number {
  const l = localParts(tz, ms);
  return Date.UTC(l.y, l.m - 1, l.d, l.h, l.mi, l.s) - Math.floor(ms / 1000) * 1000;
}

/** The instant of a local date + minutes after its midnight (minutes may be 1440). */
export function localToUtc(tz: string, [y, m, d]: Ymd, minutes: number): number {
  const guess = Date.UTC(y, m - 1, d, 0, minutes);
  const o1 = offsetAt(tz, guess);
  const t = guess - o1;
  const o2 = offsetAt(tz, t);
  // Equal offsets: an ordinary time. Different: near a change; guess - o2 lands on the
  // later instant of an ambiguous time, and after the gap for a missing one.
  return o1 === o2 ? t : guess - o2;
}

function addDays([y, m, d]: Ymd, n: number): Ymd {
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()];
}

const iso = ([y, m, d]: Ymd): string => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

export class WorkingHours {
  private readonly holidays: Map<string, Interval[]>;

  constructor(private readonly p: HoursPolicy) {
    this.holidays = new Map(p.holidays.map((h) => [h.date, h.hours]));
  }

  /** The local intervals of one date: its holiday entry, else its weekday's hours. */
  hoursOf(day: Ymd): Interval[] {
    const special = this.holidays.get(iso(day));
    if (special) return special;
    if (!this.p.workingHours) return [['00:00', '24:00']];
    const wd: Weekday = WEEKDAYS[new Date(Date.UTC(day[0], day[1] - 1, day[2])).getUTCDay()];
    return this.p.workingHours[wd];
  }

  /** Open periods (ms, merged when they touch) of the local dates from..to inclusive. */
  private periods(from: Ymd, days: number): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < days; i++) {
      const day = addDays(from, i);
      for (const [a, b] of this.hoursOf(day)) {
        const s = localToUtc(this.p.timeZone, day, minutesOf(a));
        const e = localToUtc(this.p.timeZone, day, minutesOf(b));
        if (e <= s) continue; // an interval swallowed by a DST gap
        const last = out[out.length - 1];
        if (last && s <= last[1]) last[1] = Math.max(last[1], e);
        else out.push([s, e]);
      }
    }
    return out;
  }

  state(now: number): HoursState {
    const l = localParts(this.p.timeZone, now);
    const today: Ymd = [l.y, l.m, l.d];
    // Widen the window until the answer cannot change by looking further (a long holiday).
    for (let k = 1; k <= 256; k *= 2) {
      const from = addDays(today, -k);
      const winStart = localToUtc(this.p.timeZone, from, 0);
      const winEnd = localToUtc(this.p.timeZone, addDays(today, k + 1), 0);
      const ps = this.periods(from, 2 * k + 1);
      const cur = ps.find(([s, e]) => s <= now && now < e);
      if (cur) {
        if (cur[0] > winStart && cur[1] < winEnd) return { open: true, periodStart: cur[0], opensAt: null, closesAt: cur[1] };
        if (k === 256)
          return { open: true, periodStart: cur[0] > winStart ? cur[0] : null, opensAt: null, closesAt: cur[1] < winEnd ? cur[1] : null };
        continue;
      }
      const prev = [...ps].reverse().find(([, e]) => e <= now);
      const next = ps.find(([s]) => s > now);
      if ((prev && next) || k === 256) return { open: false, periodStart: prev?.[1] ?? null, opensAt: next?.[0] ?? null, closesAt: null };
    }
    /* c8 ignore next */
    return { open: true, periodStart: null, opensAt: null, closesAt: null };
  }
}

/**
 * `{opens_at}` as a customer reads it, in the account's zone, made to follow "we open"
 * ("Мы откроемся …" / "We open …"): `в 13:30` / `at 13:30` later the same local day;
 * otherwise with the date, `31.12 в 09:00` / `on Dec 31 at 09:00` (the year only when it
 * differs). null (no opening within a year) gives `—`.
 */
export function formatOpensAt(at: number | null, now: number, tz: string, lang: Language): string {
  if (at === null) return '—';
  const a = localParts(tz, at);
  const n = localParts(tz, now);
  const hm = `${String(a.h).padStart(2, '0')}:${String(a.mi).padStart(2, '0')}`;
  if (a.y === n.y && a.m === n.m && a.d === n.d) return lang === 'ru' ? `в ${hm}` : `at ${hm}`;
  const year = a.y !== n.y ? (lang === 'ru' ? `.${a.y}` : ` ${a.y}`) : '';
  if (lang === 'ru') return `${String(a.d).padStart(2, '0')}.${String(a.m).padStart(2, '0')}${year} в ${hm}`;
  const mon = new Date(Date.UTC(2000, a.m - 1, 1)).toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  return `on ${mon} ${a.d}${year} at ${hm}`;
}
