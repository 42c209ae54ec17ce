/**
 * The static checker of the 1C extension: the shipped extension passes, and each broken
 * fixture (an overlay of a few files on a copy of the extension) fails with the file and
 * line of its defect. No 1C platform is involved.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blankBsl, checkBlocks, methodsOf } from '../../src/onec/extension-check/bsl-source.ts';
import { checkExtension, ONEC_HTTP_ENDPOINTS } from '../../src/onec/extension-check/extension-check.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const extension = join(repo, 'onec', 'extension');
const fixtures = join(repo, 'test', 'fixtures', 'onec-ext-broken');
const temps: string[] = [];

/** A copy of the extension with the fixture's files laid over it. */
function broken(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `onec-ext-${name}-`));
  temps.push(dir);
  cpSync(extension, dir, { recursive: true });
  cpSync(join(fixtures, name), dir, { recursive: true, force: true });
  return dir;
}

afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('onec-ext-check on the shipped extension', () => {
  it('finds no problem in onec/extension', () => {
    expect(checkExtension(extension)).toEqual([]);
  });

  it('the extension is the own objects of an 8.3.20 AddOn extension with the cc_ prefix', () => {
    const config = readFileSync(join(extension, 'Configuration.xml'), 'utf8');
    expect(config).toContain('<ConfigurationExtensionPurpose>AddOn</ConfigurationExtensionPurpose>');
    expect(config).toContain('<NamePrefix>cc_</NamePrefix>');
    expect(config).toContain('<ConfigurationExtensionCompatibilityMode>Version8_3_20</ConfigurationExtensionCompatibilityMode>');
    expect(config).toMatch(/version="2\.13">/);
    const job = readFileSync(join(extension, 'ScheduledJobs', 'cc_ЗагрузкаОбновленийЧатов.xml'), 'utf8');
    expect(job).toContain('<Use>false</Use>');
  });
});

describe('the generator', () => {
  it('writes exactly the committed XML (no hand edits drift from scripts/onec-ext-model.ts)', () => {
    const out = mkdtempSync(join(tmpdir(), 'onec-ext-gen-'));
    temps.push(out);
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'scripts', 'onec-ext-generate.ts'), out], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    const xml = (dir: string): string[] => (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.xml')).sort();
    expect(xml(out)).toEqual(xml(extension));
    for (const f of xml(out)) expect(readFileSync(join(out, f), 'utf8'), f).toBe(readFileSync(join(extension, f), 'utf8'));
  });
});

describe('onec-ext-check fails each broken fixture with the file and line', () => {
  const cases: Array<{ fixture: string; file: string; line: number; message: RegExp }> = [
    {
      fixture: 'missing-handler',
      file: 'HTTPServices/cc_ЧатыAPI.xml',
      line: 158,
      message: /handler АвторизацияPOST is not a function/,
    },
    {
      fixture: 'unclosed-if',
      file: 'HTTPServices/cc_ЧатыAPI/Ext/Module.bsl',
      line: 17,
      message: /Если opened here is not closed by КонецЕсли/,
    },
    {
      fixture: 'duplicate-uuid',
      file: 'Constants/cc_ДлинаПИН.xml',
      line: 3,
      message: /is used twice \(first at Constants\/cc_ВсегоЛицензий\.xml:3\)/,
    },
    {
      fixture: 'object-not-listed',
      file: 'CommonModules/cc_Лишний.xml',
      line: 1,
      message: /not listed in Configuration\.xml's ChildObjects/,
    },
    {
      fixture: 'unexported-call',
      file: 'HTTPServices/cc_ЧатыAPI/Ext/Module.bsl',
      line: 20,
      message: /cc_ЧатыСервер\.ПринятьСобытиеМаршрутизации\(…\): the method is not exported/,
    },
    {
      fixture: 'missing-endpoint',
      file: 'HTTPServices/cc_ЧатыAPI.xml',
      line: 13,
      message: /POST \/statuses has no URL template \/v1\/statuses/,
    },
    {
      fixture: 'role-unknown-object',
      file: 'Roles/cc_СервисЧатов/Ext/Rights.xml',
      line: 7,
      message: /rights for InformationRegister\.cc_Чатыы, which the extension does not have/,
    },
    {
      fixture: 'client-calls-server',
      file: 'CommonForms/cc_РабочееМестоОператора/Ext/Form/Module.bsl',
      line: 52,
      message: /called from client code \(&НаКлиенте\) but cc_ЧатыСервер runs on the server only/,
    },
    {
      fixture: 'unknown-data-path',
      file: 'CommonForms/cc_РабочееМестоОператора/Ext/Form.xml',
      line: 58,
      message: /DataPath Чаты\.Тема names no attribute of the form/,
    },
    {
      fixture: 'malformed-xml',
      file: 'Constants/cc_РежимОбмена.xml',
      line: 15,
      message: /XML does not parse/,
    },
  ];

  for (const c of cases)
    it(c.fixture, () => {
      const problems = checkExtension(broken(c.fixture));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ file: c.file, line: c.line });
      expect(problems[0].message).toMatch(c.message);
    });

  it('the npm script prints file:line and exits 1', () => {
    const dir = broken('unclosed-if');
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'scripts', 'onec-ext-check.ts'), dir], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('HTTPServices/cc_ЧатыAPI/Ext/Module.bsl:17: Если opened here');
  });
});

describe('the BSL reader', () => {
  it('ignores keywords in strings, multi-line strings, comments and members', () => {
    const src = [
      'Процедура П() Экспорт',
      '\tТекст = "Если ""КонецЕсли"" Пока',
      '\t|Попытка";',
      '\t// Если в комментарии',
      '\tЗначение = Объект.Если;',
      '\tДля Каждого Э Из М Цикл',
      '\tКонецЦикла;',
      'КонецПроцедуры',
    ].join('\n');
    expect(checkBlocks(src)).toEqual([]);
    expect(blankBsl(src).split('\n')).toHaveLength(8);
    expect(methodsOf(src)).toEqual([{ name: 'П', kind: 'Процедура', params: [], exported: true, line: 1 }]);
  });

  it('reports a closing keyword of the wrong block at the opener', () => {
    const src = 'Функция Ф(А)\n\tПопытка\n\t\tВозврат А;\n\tКонецЕсли;\nКонецФункции\n';
    expect(checkBlocks(src)[0]).toMatchObject({ line: 2, message: expect.stringContaining('Попытка') });
  });

  it('reports a procedure that starts inside an unclosed one', () => {
    const src = 'Процедура А()\n\nПроцедура Б()\nКонецПроцедуры\n';
    expect(checkBlocks(src)[0]).toMatchObject({ line: 1 });
  });
});

const spec = '/work/shared/spec/onec-http-service.md';
describe('the endpoint list', () => {
  it.skipIf(!existsSync(spec))('matches the endpoint headings of onec-http-service.md', () => {
    const headings = [...readFileSync(spec, 'utf8').matchAll(/^### `(GET|POST|PUT|DELETE) (\/[a-z/]+)`/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(headings).toEqual(ONEC_HTTP_ENDPOINTS.map((e) => `${e.method} ${e.path}`));
  });
});
