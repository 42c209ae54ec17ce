/**
 * Account and group settings (connector-api.md "Account and group settings"): the shape,
 * its validation (a 400 naming the field, e.g. `Field "workingHours.mon[1][0]" must be
 * HH:MM`), and inheritance from `_default` field by field.
 *
 * Presence matters: a field absent from an account's object is inherited from `_default`
 * (then from the built-in defaults below); a field present as `null` is the account's own
 * "off" and is NOT inherited. `autoReplies` is merged one reply at a time by the same rule,
 * so `_default` may hold the greeting while an account sets only its out-of-hours text.
 *
 * Additive to the spec: `greeting` and `outOfHours` may be `true` and `allBusy.text` may be
 * absent — "on, with the default text in the account's language" (see defaultTexts).
 */
import { ValidationError, type Language } from '../core/index.ts';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
/** `["08:00", "12:00"]`: local wall-clock times; the end may be `24:00`. */
export type Interval = [string, string];
export type { Language };

export interface Holiday {
  /** Local date `YYYY-MM-DD` in the account's time zone. */
  date: string;
  /** Special hours of that day; `[]` = closed all day. */
  hours: Interval[];
}

export interface AllBusyReply {
  afterMinutes: number;
  /** null/absent: the default text in the account's language. */
  text?: string | null;
}

export interface AutoReplies {
  greeting?: string | true | null;
  outOfHours?: string | true | null;
  allBusy?: AllBusyReply | null;
}

/** As stored and as PUT: every field optional (absent = inherit). */
export interface AccountSettings {
  timeZone?: string;
  workingHours?: Partial<Record<Weekday, Interval[]>> | null;
  holidays?: Holiday[];
  autoReplies?: AutoReplies | null;
  dutyOperator?: string | null;
  dutyGroup?: string | null;
  mayWriteFirst?: boolean;
  language?: Language;
}

/** What the connector acts on: inheritance resolved, texts resolved to strings or null (off). */
export interface EffectiveAccountSettings {
  timeZone: string;
  /** null: always open. */
  workingHours: Record<Weekday, Interval[]> | null;
  holidays: Holiday[];
  autoReplies: { greeting: string | null; outOfHours: string | null; allBusy: { afterMinutes: number; text: string } | null };
  dutyOperator: string | null;
  dutyGroup: string | null;
  mayWriteFirst: boolean;
  language: Language;
}

export type Assignment = 'manual' | 'round_robin';

export interface GroupSettings {
  assignment?: Assignment;
  maxOpenPerOperator?: number;
  returnAfterLogoutMinutes?: number;
}

export type EffectiveGroupSettings = Required<GroupSettings>;

/** The built-in defaults under `_default`. Moscow: the product serves 1C users, mostly in Russia. */
export const BUILTIN_ACCOUNT: Omit<EffectiveAccountSettings, 'autoReplies'> = {
  timeZone: 'Europe/Moscow',
  workingHours: null,
  holidays: [],
  dutyOperator: null,
  dutyGroup: null,
  mayWriteFirst: false,
  language: 'ru',
};

export const BUILTIN_GROUP: EffectiveGroupSettings = { assignment: 'manual', maxOpenPerOperator: 5, returnAfterLogoutMinutes: 10 };

/** The default auto-reply texts per language (used where a reply is on without its own text). */
export const DEFAULT_TEXTS: Record<Language, { greeting: string; outOfHours: string; allBusy: string }> = {
  ru: {
    greeting: 'Здравствуйте, {name}! Мы получили ваше сообщение и скоро ответим.',
    outOfHours: 'Сейчас мы не работаем. Мы откроемся {opens_at}. Оставьте сообщение — мы ответим.',
    allBusy: 'Все операторы сейчас заняты, вы в очереди. Мы ответим, как только освободимся.',
  },
  en: {
    greeting: 'Hello, {name}! We have your message and will answer soon.',
    outOfHours: 'We are closed now and open {opens_at}. Leave a message and we will answer.',
    allBusy: 'All our operators are busy; you are in the queue. We will answer as soon as we can.',
  },
};

/** The name under which the defaults of every account (or group) are stored. */
export const DEFAULT_NAME = '_default';
/** What may stand for an account or group name in the URL and the file. */
export const NAME_PATTERN = /^[A-Za-z0-9_.@+-]{1,128}$/;

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_TEXT = 4096;

const bad = (field: string, problem: string): ValidationError => new ValidationError(`Field "${field}" ${problem}.`);
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

export function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function intervals(v: unknown, field: string): Interval[] {
  if (!Array.isArray(v)) throw bad(field, 'must be a list of ["HH:MM", "HH:MM"] intervals');
  if (v.length > 24) throw bad(field, 'may hold at most 24 intervals');
  const out = v.map((iv, i): Interval => {
    if (!Array.isArray(iv) || iv.length !== 2) throw bad(`${field}[${i}]`, 'must be a pair ["HH:MM", "HH:MM"]');
    for (const j of [0, 1]) {
      if (typeof iv[j] !== 'string' || !HHMM.test(iv[j])) throw bad(`${field}[${i}][${j}]`, 'must be HH:MM');
    }
    const [a, b] = iv as [string, string];
    if (minutesOf(a) >= minutesOf(b)) throw bad(`${field}[${i}]`, `must end after it starts (${a}–${b})`);
    return [a, b];
  });
  const sorted = [...out].sort((x, y) => minutesOf(x[0]) - minutesOf(y[0]));
  for (let i = 1; i < sorted.length; i++) {
    if (minutesOf(sorted[i][0]) < minutesOf(sorted[i - 1][1]))
      throw bad(field, `has overlapping intervals (${sorted[i - 1].join('–')} and ${sorted[i].join('–')})`);
  }
  return sorted;
}

function validDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function optText(v: unknown, field: string, allowTrue: boolean): string | true | null {
  if (v === null) return null;
  if (allowTrue && v === true) return true;
  if (typeof v !== 'string' || !v.trim())
    throw bad(field, allowTrue ? 'must be a non-empty text, true or null' : 'must be a non-empty text or null');
  if (v.length > MAX_TEXT) throw bad(field, `must be at most ${MAX_TEXT} characters long`);
  return v;
}

function optName(v: unknown, field: string): string | null {
  if (v === null) return null;
  if (typeof v !== 'string' || !NAME_PATTERN.test(v)) throw bad(field, 'must be an id (letters, digits, _ . @ + -) or null');
  return v;
}

function validateAutoReplies(v: unknown): AutoReplies | null {
  if (v === null) return null;
  if (!isObj(v)) throw bad('autoReplies', 'must be an object or null');
  const out: AutoReplies = {};
  for (const k of Object.keys(v))
    if (!['greeting', 'outOfHours', 'allBusy'].includes(k)) throw bad(`autoReplies.${k}`, 'is not a known setting');
  if ('greeting' in v) out.greeting = optText(v.greeting, 'autoReplies.greeting', true);
  if ('outOfHours' in v) out.outOfHours = optText(v.outOfHours, 'autoReplies.outOfHours', true);
  if ('allBusy' in v) {
    const b = v.allBusy;
    if (b === null) out.allBusy = null;
    else {
      if (!isObj(b)) throw bad('autoReplies.allBusy', 'must be {"afterMinutes", "text"} or null');
      const n = b.afterMinutes;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 10_080)
        throw bad('autoReplies.allBusy.afterMinutes', 'must be a whole number of minutes from 1 to 10080');
      const text = b.text === undefined ? null : optText(b.text, 'autoReplies.allBusy.text', false);
      out.allBusy = { afterMinutes: n, text: text === true ? null : text };
    }
  }
  return out;
}

/** Checks a PUT body (or a file entry); throws ValidationError naming the first bad field. */
export function validateAccountSettings(input: unknown): AccountSettings {
  if (!isObj(input)) throw new ValidationError('The settings must be a JSON object.');
  const known = ['timeZone', 'workingHours', 'holidays', 'autoReplies', 'dutyOperator', 'dutyGroup', 'mayWriteFirst', 'language'];
  for (const k of Object.keys(input)) if (!known.includes(k)) throw bad(k, 'is not a known setting');
  const out: AccountSettings = {};
  if ('timeZone' in input) {
    const tz = input.timeZone;
    if (typeof tz !== 'string' || !isValidTimeZone(tz)) throw bad('timeZone', 'must be an IANA time zone such as "Europe/Moscow"');
    out.timeZone = tz;
  }
  if ('workingHours' in input) {
    const wh = input.workingHours;
    if (wh === null) out.workingHours = null;
    else {
      if (!isObj(wh)) throw bad('workingHours', 'must be an object of weekdays (mon … sun) or null');
      const days: Partial<Record<Weekday, Interval[]>> = {};
      for (const [k, v] of Object.entries(wh)) {
        if (!(WEEKDAYS as readonly string[]).includes(k))
          throw bad(`workingHours.${k}`, 'is not a weekday (mon, tue, wed, thu, fri, sat, sun)');
        days[k as Weekday] = intervals(v, `workingHours.${k}`);
      }
      out.workingHours = days;
    }
  }
  if ('holidays' in input) {
    const hs = input.holidays;
    if (!Array.isArray(hs)) throw bad('holidays', 'must be a list of {"date", "hours"}');
    if (hs.length > 1000) throw bad('holidays', 'may hold at most 1000 dates');
    const seen = new Set<string>();
    out.holidays = hs.map((h, i): Holiday => {
      if (!isObj(h)) throw bad(`holidays[${i}]`, 'must be {"date": "YYYY-MM-DD", "hours": [...]}');
      if (typeof h.date !== 'string' || !validDate(h.date)) throw bad(`holidays[${i}].date`, 'must be a date YYYY-MM-DD');
      if (seen.has(h.date)) throw bad(`holidays[${i}].date`, `repeats ${h.date}`);
      seen.add(h.date);
      return { date: h.date, hours: h.hours === undefined ? [] : intervals(h.hours, `holidays[${i}].hours`) };
    });
  }
  if ('autoReplies' in input) out.autoReplies = validateAutoReplies(input.autoReplies);
  if ('dutyOperator' in input) out.dutyOperator = optName(input.dutyOperator, 'dutyOperator');
  if ('dutyGroup' in input) out.dutyGroup = optName(input.dutyGroup, 'dutyGroup');
  if ('mayWriteFirst' in input) {
    if (typeof input.mayWriteFirst !== 'boolean') throw bad('mayWriteFirst', 'must be true or false');
    out.mayWriteFirst = input.mayWriteFirst;
  }
  if ('language' in input) {
    if (input.language !== 'ru' && input.language !== 'en') throw bad('language', 'must be "ru" or "en"');
    out.language = input.language;
  }
  return out;
}

export function validateGroupSettings(input: unknown): GroupSettings {
  if (!isObj(input)) throw new ValidationError('The settings must be a JSON object.');
  for (const k of Object.keys(input))
    if (!['assignment', 'maxOpenPerOperator', 'returnAfterLogoutMinutes'].includes(k)) throw bad(k, 'is not a known setting');
  const out: GroupSettings = {};
  if ('assignment' in input) {
    if (input.assignment !== 'manual' && input.assignment !== 'round_robin') throw bad('assignment', 'must be "manual" or "round_robin"');
    out.assignment = input.assignment;
  }
  const int = (k: 'maxOpenPerOperator' | 'returnAfterLogoutMinutes', min: number, max: number): void => {
    if (!(k in input)) return;
    const v = input[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(k, `must be a whole number from ${min} to ${max}`);
    out[k] = v;
  };
  int('maxOpenPerOperator', 1, 1000);
  int('returnAfterLogoutMinutes', 0, 1440);
  return out;
}

function pick<T>(own: T | undefined, inherited: T | undefined, builtin: T): T {
  return own !== undefined ? own : inherited !== undefined ? inherited : builtin;
}

/** Resolves an account's settings over `_default` over the built-ins. */
export function effectiveAccount(own: AccountSettings | null, defaults: AccountSettings | null): EffectiveAccountSettings {
  const a = own ?? {};
  const d = defaults ?? {};
  const language = pick(a.language, d.language, BUILTIN_ACCOUNT.language);
  const texts = DEFAULT_TEXTS[language];
  // `autoReplies: null` on the account turns all of them off; absent inherits each one.
  const ar = a.autoReplies === null ? { greeting: null, outOfHours: null, allBusy: null } : (a.autoReplies ?? {});
  const dr = d.autoReplies ?? {};
  const text = (v: string | true | null | undefined, dflt: string): string | null => (v === true ? dflt : (v ?? null));
  const busy = pick<AllBusyReply | null>(ar.allBusy, dr.allBusy, null);
  const wh = pick(a.workingHours, d.workingHours, BUILTIN_ACCOUNT.workingHours);
  return {
    timeZone: pick(a.timeZone, d.timeZone, BUILTIN_ACCOUNT.timeZone),
    workingHours: wh ? (Object.fromEntries(WEEKDAYS.map((w) => [w, wh[w] ?? []])) as Record<Weekday, Interval[]>) : null,
    holidays: pick(a.holidays, d.holidays, BUILTIN_ACCOUNT.holidays),
    autoReplies: {
      greeting: text(pick(ar.greeting, dr.greeting, null), texts.greeting),
      outOfHours: text(pick(ar.outOfHours, dr.outOfHours, null), texts.outOfHours),
      allBusy: busy ? { afterMinutes: busy.afterMinutes, text: busy.text ?? texts.allBusy } : null,
    },
    dutyOperator: pick(a.dutyOperator, d.dutyOperator, BUILTIN_ACCOUNT.dutyOperator),
    dutyGroup: pick(a.dutyGroup, d.dutyGroup, BUILTIN_ACCOUNT.dutyGroup),
    mayWriteFirst: pick(a.mayWriteFirst, d.mayWriteFirst, BUILTIN_ACCOUNT.mayWriteFirst),
    language,
  };
}

export function effectiveGroup(own: GroupSettings | null, defaults: GroupSettings | null): EffectiveGroupSettings {
  const a = own ?? {};
  const d = defaults ?? {};
  return {
    assignment: pick(a.assignment, d.assignment, BUILTIN_GROUP.assignment),
    maxOpenPerOperator: pick(a.maxOpenPerOperator, d.maxOpenPerOperator, BUILTIN_GROUP.maxOpenPerOperator),
    returnAfterLogoutMinutes: pick(a.returnAfterLogoutMinutes, d.returnAfterLogoutMinutes, BUILTIN_GROUP.returnAfterLogoutMinutes),
  };
}
