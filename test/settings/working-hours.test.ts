import { describe, expect, it } from 'vitest';
import { effectiveAccount, validateAccountSettings } from '../../src/settings/account-settings.ts';
import { formatOpensAt, localToUtc, WorkingHours } from '../../src/settings/working-hours.ts';

const MOSCOW_SPLIT = effectiveAccount(
  validateAccountSettings({
    timeZone: 'Europe/Moscow',
    workingHours: {
      mon: [
        ['08:00', '12:00'],
        ['13:30', '18:00'],
      ],
      tue: [['08:00', '18:00']],
    },
    holidays: [
      { date: '2026-12-29', hours: [] },
      { date: '2026-12-31', hours: [['09:00', '15:00']] },
    ],
  }),
  null,
);
const hours = new WorkingHours(MOSCOW_SPLIT);
// Moscow is UTC+3 all year.
const msk = (iso: string): number => Date.parse(`${iso}+03:00`);

describe('working hours (Europe/Moscow, split shift 08:00–12:00 / 13:30–18:00 on Monday)', () => {
  it('12:30 on a Monday is the lunch break: closed since 12:00, opens 13:30 the same day', () => {
    const st = hours.state(msk('2026-11-30T12:30:00'));
    expect(st).toEqual({ open: false, periodStart: msk('2026-11-30T12:00:00'), opensAt: msk('2026-11-30T13:30:00'), closesAt: null });
    expect(formatOpensAt(st.opensAt, msk('2026-11-30T12:30:00'), 'Europe/Moscow', 'ru')).toBe('в 13:30');
    expect(formatOpensAt(st.opensAt, msk('2026-11-30T12:30:00'), 'Europe/Moscow', 'en')).toBe('at 13:30');
  });

  it('open inside a shift, with its start and end', () => {
    expect(hours.state(msk('2026-11-30T09:00:00'))).toEqual({
      open: true,
      periodStart: msk('2026-11-30T08:00:00'),
      opensAt: null,
      closesAt: msk('2026-11-30T12:00:00'),
    });
    // The end is exclusive: 12:00 itself is closed.
    expect(hours.state(msk('2026-11-30T12:00:00')).open).toBe(false);
  });

  it('Monday evening is one closed period until Tuesday 08:00', () => {
    const a = hours.state(msk('2026-11-30T19:00:00'));
    const b = hours.state(msk('2026-12-01T07:59:00'));
    expect(a.periodStart).toBe(msk('2026-11-30T18:00:00'));
    expect(b.periodStart).toBe(a.periodStart);
    expect(a.opensAt).toBe(msk('2026-12-01T08:00:00'));
    expect(formatOpensAt(a.opensAt, msk('2026-11-30T19:00:00'), 'Europe/Moscow', 'ru')).toBe('01.12 в 08:00');
    expect(formatOpensAt(a.opensAt, msk('2026-11-30T19:00:00'), 'Europe/Moscow', 'en')).toBe('on Dec 1 at 08:00');
  });

  it('a holiday closes a working day (Tuesday 2026-12-29): closed from Monday 18:00 to the special day 31.12', () => {
    const st = hours.state(msk('2026-12-29T10:00:00'));
    expect(st.open).toBe(false);
    expect(st.periodStart).toBe(msk('2026-12-28T18:00:00'));
    // Wednesday has no hours; Thursday 31.12 has special ones.
    expect(st.opensAt).toBe(msk('2026-12-31T09:00:00'));
    expect(formatOpensAt(st.opensAt, msk('2026-12-29T10:00:00'), 'Europe/Moscow', 'ru')).toBe('31.12 в 09:00');
    // After the short day: closed until Monday 2027-01-04 (the year is shown when it differs).
    const after = hours.state(msk('2026-12-31T16:00:00'));
    expect(after.opensAt).toBe(msk('2027-01-04T08:00:00'));
    expect(formatOpensAt(after.opensAt, msk('2026-12-31T16:00:00'), 'Europe/Moscow', 'ru')).toBe('04.01.2027 в 08:00');
  });

  it('special hours on a shortened day (Thursday 2026-12-31, 09:00–15:00) open a day without weekday hours', () => {
    expect(hours.state(msk('2026-12-31T10:00:00'))).toMatchObject({
      open: true,
      periodStart: msk('2026-12-31T09:00:00'),
      closesAt: msk('2026-12-31T15:00:00'),
    });
    expect(hours.state(msk('2026-12-31T16:00:00'))).toMatchObject({ open: false, periodStart: msk('2026-12-31T15:00:00') });
  });

  it('no working hours means always open', () => {
    const always = new WorkingHours({ timeZone: 'Europe/Moscow', workingHours: null, holidays: [] });
    expect(always.state(msk('2026-11-29T03:00:00')).open).toBe(true);
  });
});

describe('working hours across DST (Europe/Berlin)', () => {
  const berlin = new WorkingHours(
    effectiveAccount(
      validateAccountSettings({
        timeZone: 'Europe/Berlin',
        workingHours: {
          sat: [['08:00', '18:00']],
          sun: [
            ['01:00', '04:00'],
            ['08:00', '18:00'],
          ],
          mon: [['08:00', '18:00']],
        },
      }),
      null,
    ),
  );

  it('08:00 local is 07:00Z in winter and 06:00Z in summer, on both sides of the March change (2026-03-29)', () => {
    expect(berlin.state(Date.parse('2026-03-28T07:30:00Z')).open).toBe(true); // Sat 08:30 CET
    expect(berlin.state(Date.parse('2026-03-28T06:30:00Z')).open).toBe(false); // Sat 07:30 CET
    const sunMorning = berlin.state(Date.parse('2026-03-29T05:00:00Z')); // Sun 07:00 CEST
    expect(sunMorning.open).toBe(false);
    expect(sunMorning.opensAt).toBe(Date.parse('2026-03-29T06:00:00Z')); // 08:00 CEST
    expect(berlin.state(Date.parse('2026-03-29T06:00:00Z')).open).toBe(true);
  });

  it('the night shift 01:00–04:00 on the March change is two hours long (02:00–03:00 does not exist)', () => {
    const st = berlin.state(Date.parse('2026-03-29T00:30:00Z')); // 01:30 CET
    expect(st.open).toBe(true);
    expect(st.periodStart).toBe(Date.parse('2026-03-29T00:00:00Z')); // 01:00 CET
    expect(st.closesAt).toBe(Date.parse('2026-03-29T02:00:00Z')); // 04:00 CEST
    // A missing local time is taken after the gap: 02:30 → 03:30 CEST.
    expect(localToUtc('Europe/Berlin', [2026, 3, 29], 150)).toBe(Date.parse('2026-03-29T01:30:00Z'));
  });

  it('the night shift on the October change (2026-10-25) is four hours long, and 08:00 is 07:00Z again', () => {
    const st = berlin.state(Date.parse('2026-10-24T23:30:00Z')); // Sun 01:30 CEST
    expect(st.open).toBe(true);
    expect(st.periodStart).toBe(Date.parse('2026-10-24T23:00:00Z')); // 01:00 CEST
    expect(st.closesAt).toBe(Date.parse('2026-10-25T03:00:00Z')); // 04:00 CET
    const closed = berlin.state(Date.parse('2026-10-25T05:00:00Z')); // 06:00 CET
    expect(closed).toMatchObject({
      open: false,
      periodStart: Date.parse('2026-10-25T03:00:00Z'),
      opensAt: Date.parse('2026-10-25T07:00:00Z'),
    });
  });
});

describe('settings validation names the field', () => {
  const cases: [unknown, string][] = [
    [
      {
        workingHours: {
          mon: [
            ['08:00', '12:00'],
            ['13:3', '18:00'],
          ],
        },
      },
      'Field "workingHours.mon[1][0]" must be HH:MM.',
    ],
    [{ workingHours: { mon: [['12:00', '08:00']] } }, 'Field "workingHours.mon[0]" must end after it starts (12:00–08:00).'],
    [
      {
        workingHours: {
          mon: [
            ['08:00', '12:00'],
            ['11:00', '13:00'],
          ],
        },
      },
      'Field "workingHours.mon" has overlapping intervals (08:00–12:00 and 11:00–13:00).',
    ],
    [{ workingHours: { monday: [] } }, 'Field "workingHours.monday" is not a weekday (mon, tue, wed, thu, fri, sat, sun).'],
    [{ timeZone: 'Mars/Olympus' }, 'Field "timeZone" must be an IANA time zone such as "Europe/Moscow".'],
    [{ holidays: [{ date: '2026-02-30', hours: [] }] }, 'Field "holidays[0].date" must be a date YYYY-MM-DD.'],
    [
      { autoReplies: { allBusy: { afterMinutes: 0 } } },
      'Field "autoReplies.allBusy.afterMinutes" must be a whole number of minutes from 1 to 10080.',
    ],
    [{ language: 'de' }, 'Field "language" must be "ru" or "en".'],
    [{ mayWriteFirst: 'yes' }, 'Field "mayWriteFirst" must be true or false.'],
    [{ colour: 'red' }, 'Field "colour" is not a known setting.'],
  ];
  it.each(cases)('%j', (input, message) => {
    expect(() => validateAccountSettings(input)).toThrow(message);
  });

  it('inherits from _default field by field; null is the account\'s own "off"', () => {
    const d = validateAccountSettings({
      timeZone: 'Asia/Yekaterinburg',
      language: 'en',
      autoReplies: { greeting: true, outOfHours: 'Closed till {opens_at}' },
    });
    const a = validateAccountSettings({ language: 'ru', autoReplies: { greeting: null } });
    const e = effectiveAccount(a, d);
    expect(e.timeZone).toBe('Asia/Yekaterinburg');
    expect(e.language).toBe('ru');
    expect(e.autoReplies).toEqual({ greeting: null, outOfHours: 'Closed till {opens_at}', allBusy: null });
    // `true` takes the default text in the account's language.
    expect(effectiveAccount(null, d).autoReplies.greeting).toMatch(/^Hello, \{name\}/);
    expect(effectiveAccount(validateAccountSettings({ language: 'ru' }), d).autoReplies.greeting).toMatch(/^Здравствуйте/);
    expect(effectiveAccount(null, null)).toMatchObject({
      timeZone: 'Europe/Moscow',
      language: 'ru',
      mayWriteFirst: false,
      workingHours: null,
    });
  });
});
