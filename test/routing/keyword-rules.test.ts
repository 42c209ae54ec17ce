import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeywordMatcher, loadRulesFile, normalizeForMatch, validateRules } from '../../src/routing/keyword-rules.ts';

describe('keyword rules', () => {
  const m = new KeywordMatcher([
    { id: 'bill', keywords: ['Счёт', 'invoice'], group: 'billing' },
    { keywords: ['жалоба'], operatorId: 'u-petrova' },
    { keywords: ['счет-фактура'], group: 'never' },
  ]);

  it('matches case-insensitively, ё as е, Cyrillic upper case, first rule wins', () => {
    expect(m.match('Пришлите СЧЕТ, пожалуйста')?.rule.group).toBe('billing');
    expect(m.match('где мой счёт')?.index).toBe(0);
    expect(m.match('Нужна СЧЕТ-ФАКТУРА')?.rule.group).toBe('billing');
    expect(m.match('INVOICE #12')?.rule.group).toBe('billing');
    expect(m.match('Это ЖАЛОБА на курьера')?.rule.operatorId).toBe('u-petrova');
    expect(m.match('Добрый день')).toBeNull();
    expect(m.match(null)).toBeNull();
  });

  it('normalizes Unicode (NFD input) and white space', () => {
    const nfd = 'Сч\u0435\u0308т'.normalize('NFD'); // е + combining diaeresis = ё
    expect(m.match(`мой ${nfd}`)?.rule.group).toBe('billing');
    expect(normalizeForMatch('  Ёлка \n  ЙОД ')).toBe('елка йод');
    expect(normalizeForMatch('И\u0306')).toBe('й');
  });

  it('validation names the bad field', () => {
    expect(() => validateRules({ rules: [{ keywords: [], group: 'g' }] })).toThrow(
      'Field "rules.0.keywords" must be a non-empty list of strings.',
    );
    expect(() => validateRules([{ keywords: ['a'] }])).toThrow('Field "rules.0" needs "group" or "operatorId".');
    expect(() => validateRules([{ keywords: ['a', 5], group: 'g' }])).toThrow('Field "rules.0.keywords.1" must be a non-empty string.');
    expect(() => validateRules('x')).toThrow('Field "rules" must be a list of rules.');
    // issue 11 item 11: a rule took 25 000 keywords.
    const many = Array.from({ length: 25_000 }, (_, i) => `k${i}`);
    expect(() =>
      validateRules([
        { keywords: ['a'], group: 'g' },
        { keywords: many, group: 'g' },
      ]),
    ).toThrow('Field "rules.1.keywords" may hold at most 200 keywords (it has 25000).');
    expect(validateRules([{ keywords: many.slice(0, 200), group: 'g' }])[0].keywords).toHaveLength(200);
    expect(() => validateRules(Array.from({ length: 1001 }, () => ({ keywords: ['a'], group: 'g' })))).toThrow(
      'Field "rules" may hold at most 1000 rules.',
    );
    expect(validateRules({ rules: [{ keywords: ['a'], group: ' g ' }] })).toEqual([{ keywords: ['a'], group: 'g' }]);
  });

  it('loads YAML and JSON files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    try {
      writeFileSync(join(dir, 'r.yaml'), 'rules:\n  - keywords: [оплата]\n    group: billing\n');
      writeFileSync(join(dir, 'r.json'), JSON.stringify([{ keywords: ['доставка'], group: 'logistics' }]));
      writeFileSync(join(dir, 'bad.yaml'), 'rules: [\n');
      expect((await loadRulesFile(join(dir, 'r.yaml'))).rules).toEqual([{ keywords: ['оплата'], group: 'billing' }]);
      expect((await loadRulesFile(join(dir, 'r.json'))).rules).toEqual([{ keywords: ['доставка'], group: 'logistics' }]);
      await expect(loadRulesFile(join(dir, 'bad.yaml'))).rejects.toThrow(/is not valid YAML/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
