/**
 * Static checks of a 1C configuration extension in Designer's XML dump format, without the
 * platform (the extension in `onec/extension/`; `npm run onec-ext-check`).
 *
 * What it proves: every XML file parses and declares the platform namespace of its kind;
 * the objects listed in Configuration.xml and the files on disk match both ways (with the
 * companion files each kind needs); UUIDs are well-formed and unique; each object is the
 * extension's own, carries its prefix and refers to no type outside the extension; every
 * HTTP method's handler is `Функция <name>(Запрос)` in the service module; BSL blocks are
 * closed by their own keywords; calls across common modules reach exported methods, and
 * client code calls no server-only module; form events, commands and the scheduled job
 * name existing methods, form DataPaths name form attributes, role rights name objects of
 * the extension; the HTTP service offers
 * every endpoint of onec-http-service.md. What it cannot prove: that the platform loads it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { checkBlocks, lineAt, methodsOf, moduleCalls, type BslMethod } from './bsl-source.ts';

export interface ExtensionProblem {
  /** Path relative to the extension root, with `/`. */
  file: string;
  line: number;
  message: string;
}

/** The endpoints of onec-http-service.md (paths relative to the service root `…/hs/chats/v1`). */
export const ONEC_HTTP_ENDPOINTS: ReadonlyArray<{ method: string; path: string }> = [
  { method: 'GET', path: '/licenses' },
  { method: 'POST', path: '/messages' },
  { method: 'POST', path: '/statuses' },
  { method: 'POST', path: '/routing' },
  { method: 'POST', path: '/auth' },
];

const ROOT_NAMESPACES: Record<string, string> = {
  MetaDataObject: 'http://v8.1c.ru/8.3/MDClasses',
  Form: 'http://v8.1c.ru/8.3/xcf/logform',
  Rights: 'http://v8.1c.ru/8.2/roles',
  JobSchedule: 'http://v8.1c.ru/8.3/xcf/extrnprops',
};

/** Metadata kind → folder of the dump, and the companion files the kind needs. */
const KINDS: Record<string, { folder: string; needs: string[] }> = {
  Language: { folder: 'Languages', needs: [] },
  Role: { folder: 'Roles', needs: ['Ext/Rights.xml'] },
  CommonModule: { folder: 'CommonModules', needs: ['Ext/Module.bsl'] },
  HTTPService: { folder: 'HTTPServices', needs: ['Ext/Module.bsl'] },
  ScheduledJob: { folder: 'ScheduledJobs', needs: [] },
  Constant: { folder: 'Constants', needs: [] },
  CommonForm: { folder: 'CommonForms', needs: ['Ext/Form.xml', 'Ext/Form/Module.bsl'] },
  InformationRegister: { folder: 'InformationRegisters', needs: [] },
  Catalog: { folder: 'Catalogs', needs: [] },
  Subsystem: { folder: 'Subsystems', needs: [] },
  DataProcessor: { folder: 'DataProcessors', needs: [] },
  Enum: { folder: 'Enums', needs: [] },
};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => ['URLTemplate', 'Method', 'Event', 'Command', 'Attribute', 'Column', 'Dimension', 'Resource'].includes(name),
});

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

const asNode = (v: unknown): Node => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : {});
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null ? String((v as Node)['#text'] ?? '') : '';

/** 1-based line of the first occurrence of `needle` (after `from`), or 1. */
function lineOf(source: string, needle: string, from = 0): number {
  const at = source.indexOf(needle, from);
  return at < 0 ? 1 : lineAt(source, at);
}

export function checkExtension(root: string): ExtensionProblem[] {
  const problems: ExtensionProblem[] = [];
  const files = walk(root).map((p) => relative(root, p).split(sep).join('/'));
  const sources = new Map<string, string>();
  const read = (rel: string): string => {
    let s = sources.get(rel);
    if (s === undefined) {
      s = readFileSync(join(root, rel), 'utf8').replace(/^\uFEFF/, '');
      sources.set(rel, s);
    }
    return s;
  };
  const add = (file: string, line: number, message: string): void => {
    problems.push({ file, line, message });
  };

  // 1. XML: well-formed, the platform namespace of its root, declared prefixes, one format version.
  const docs = new Map<string, Node>();
  for (const rel of files.filter((f) => f.endsWith('.xml'))) {
    const src = read(rel);
    const valid = XMLValidator.validate(src);
    if (valid !== true) {
      add(rel, valid.err.line, `XML does not parse: ${valid.err.msg}`);
      continue;
    }
    const doc = asNode(parser.parse(src));
    docs.set(rel, doc);
    const rootName = Object.keys(doc).find((k) => k !== '?xml') ?? '';
    const rootNode = asNode(doc[rootName]);
    const expected = ROOT_NAMESPACES[rootName];
    if (expected === undefined) add(rel, 1, `root element <${rootName}> is not a 1C dump element`);
    else if (rootNode['@_xmlns'] !== expected) add(rel, lineOf(src, `<${rootName}`), `<${rootName}> must declare xmlns="${expected}"`);
    const declared = new Set(
      Object.keys(rootNode)
        .filter((k) => k.startsWith('@_xmlns:'))
        .map((k) => k.slice(8)),
    );
    for (const m of src.matchAll(/<\/?([A-Za-z][\w.-]*):[\w.-]+|\s([A-Za-z][\w.-]*):[\w.-]+="/g)) {
      const prefix = m[1] ?? m[2];
      if (prefix !== 'xmlns' && prefix !== 'xml' && !declared.has(prefix)) {
        add(rel, lineAt(src, m.index ?? 0), `namespace prefix "${prefix}:" is not declared`);
        break;
      }
    }
  }

  const config = asNode(asNode(docs.get('Configuration.xml')?.MetaDataObject).Configuration);
  if (!docs.has('Configuration.xml')) {
    if (!files.includes('Configuration.xml')) add('Configuration.xml', 1, 'Configuration.xml is missing');
    return problems;
  }
  const configSrc = read('Configuration.xml');
  const version = String(asNode(docs.get('Configuration.xml')?.MetaDataObject)['@_version'] ?? '');
  for (const [rel, doc] of docs) {
    const rootName = Object.keys(doc).find((k) => k !== '?xml') ?? '';
    const v = String(asNode(doc[rootName])['@_version'] ?? '');
    if (v !== version) add(rel, lineOf(read(rel), 'version="'), `format version "${v}" differs from Configuration.xml's "${version}"`);
  }
  const props = asNode(config.Properties);
  const prefix = text(props.NamePrefix);
  if (text(props.ConfigurationExtensionPurpose) === '')
    add('Configuration.xml', 1, 'Configuration.xml is not an extension (no ConfigurationExtensionPurpose)');

  // 2. Objects listed ↔ files, each object's own file names it and is the extension's own.
  const listed = new Map<string, { kind: string; name: string }>();
  const children = asNode(config.ChildObjects);
  for (const [kind, value] of Object.entries(children)) {
    for (const item of asList(value)) {
      const name = text(item);
      const info = KINDS[kind];
      const line = lineOf(configSrc, `<${kind}>${name}</${kind}>`);
      if (!info) {
        add('Configuration.xml', line, `unsupported object kind ${kind}`);
        continue;
      }
      const file = `${info.folder}/${name}.xml`;
      listed.set(file, { kind, name });
      if (!files.includes(file)) {
        add('Configuration.xml', line, `${kind} ${name} is listed but ${file} does not exist`);
        continue;
      }
      for (const need of info.needs)
        if (!files.includes(`${info.folder}/${name}/${need}`)) add(file, 1, `${kind} ${name} has no ${info.folder}/${name}/${need}`);
      // A file that does not parse is reported once, by the XML check.
      if (!docs.has(file)) continue;
      const objSrc = read(file);
      const obj = asNode(asNode(docs.get(file)?.MetaDataObject)[kind]);
      const objProps = asNode(obj.Properties);
      if (Object.keys(obj).length === 0) add(file, 1, `${file} does not hold a <${kind}>`);
      else if (text(objProps.Name) !== name)
        add(file, lineOf(objSrc, '<Name>'), `object name "${text(objProps.Name)}" differs from the listed ${name}`);
      const belonging = text(objProps.ObjectBelonging);
      if (kind !== 'Language' && belonging !== '' && belonging !== 'Own')
        add(file, lineOf(objSrc, '<ObjectBelonging>'), `${kind} ${name} is ${belonging}, not the extension's own`);
      if (kind !== 'Language' && prefix !== '' && !name.startsWith(prefix))
        add(file, lineOf(objSrc, '<Name>'), `${kind} ${name} does not start with the prefix ${prefix}`);
    }
  }
  for (const file of files) {
    const parts = file.split('/');
    if (parts.length !== 2 || !file.endsWith('.xml')) continue;
    const isKnownFolder = Object.values(KINDS).some((k) => k.folder === parts[0]);
    if (isKnownFolder && !listed.has(file)) add(file, 1, `${file} is not listed in Configuration.xml's ChildObjects`);
  }

  // 3. UUIDs: well-formed and unique (ClassIds are platform constants and repeat by design).
  const seen = new Map<string, string>();
  for (const rel of files.filter((f) => f.endsWith('.xml'))) {
    const src = read(rel);
    for (const m of src.matchAll(/\buuid="([^"]*)"|<xr:(?:TypeId|ValueId|ObjectId)>([^<]*)</g)) {
      const id = (m[1] ?? m[2]).toLowerCase();
      const line = lineAt(src, m.index ?? 0);
      if (!UUID_RE.test(id)) add(rel, line, `malformed UUID "${id}"`);
      else if (seen.has(id)) add(rel, line, `UUID ${id} is used twice (first at ${seen.get(id)})`);
      else seen.set(id, `${rel}:${line}`);
    }
    // Must not depend on a particular configuration: a cfg: type names an object of the extension.
    for (const m of src.matchAll(/<v8:Type>cfg:\w+\.([^<]+)<\/v8:Type>/g))
      if (![...listed.values()].some((o) => o.name === m[1]))
        add(rel, lineAt(src, m.index ?? 0), `type cfg:…${m[1]} refers to an object outside the extension`);
  }

  // Rights of a role name objects of the extension (a typo would stop the load).
  for (const rel of files.filter((f) => /^Roles\/[^/]+\/Ext\/Rights\.xml$/.test(f))) {
    const src = read(rel);
    for (const m of src.matchAll(/<object>\s*<name>(\w+)\.([^<.]+)<\/name>/g)) {
      const info = KINDS[m[1]];
      if (info && !listed.has(`${info.folder}/${m[2]}.xml`))
        add(rel, lineAt(src, m.index ?? 0) + 1, `rights for ${m[1]}.${m[2]}, which the extension does not have`);
    }
  }

  // 4. BSL: blocks closed, methods known for the cross-module checks.
  const modules = new Map<string, BslMethod[]>();
  for (const rel of files.filter((f) => f.endsWith('.bsl'))) {
    for (const p of checkBlocks(read(rel))) add(rel, p.line, p.message);
    modules.set(rel, methodsOf(read(rel)));
  }
  const commonModules = new Map<string, string>();
  const serverOnly = new Set<string>();
  for (const { kind, name } of listed.values())
    if (kind === 'CommonModule') {
      commonModules.set(name, `CommonModules/${name}/Ext/Module.bsl`);
      const p = asNode(asNode(asNode(docs.get(`CommonModules/${name}.xml`)?.MetaDataObject).CommonModule).Properties);
      if (text(p.ClientManagedApplication) !== 'true' && text(p.ServerCall) !== 'true') serverOnly.add(name);
    }
  const exportedIn = (moduleName: string, method: string): 'ok' | 'missing' | 'not exported' => {
    const m = (modules.get(commonModules.get(moduleName) ?? '') ?? []).find((x) => x.name.toLowerCase() === method.toLowerCase());
    return m === undefined ? 'missing' : m.exported ? 'ok' : 'not exported';
  };
  if (prefix !== '')
    for (const rel of modules.keys())
      for (const call of moduleCalls(read(rel), prefix)) {
        if (!commonModules.has(call.module)) {
          add(rel, call.line, `${call.module}.${call.method}(…) calls a module the extension does not have`);
          continue;
        }
        // Client code may call only modules compiled on the client or offering server calls.
        const caller = (modules.get(rel) ?? []).filter((m) => m.line <= call.line).pop();
        const clientSide = caller?.annotation !== undefined && /^(НаКлиенте|AtClient)$/i.test(caller.annotation);
        if (clientSide && serverOnly.has(call.module)) {
          add(
            rel,
            call.line,
            `${call.module}.${call.method}(…) is called from client code (&${caller?.annotation}) but ${call.module} runs on the server only`,
          );
          continue;
        }
        const state = exportedIn(call.module, call.method);
        if (state !== 'ok')
          add(
            rel,
            call.line,
            `${call.module}.${call.method}(…): the method is ${state === 'missing' ? 'not in' : 'not exported by'} ${call.module}`,
          );
      }

  // 5. HTTP services: handlers, session settings, the contract's endpoints.
  for (const [file, { kind, name }] of listed) {
    const doc = docs.get(file);
    if (!doc) continue;
    const obj = asNode(asNode(doc.MetaDataObject)[kind]);
    const objSrc = read(file);
    if (kind === 'HTTPService') checkHttpService(file, name, obj, objSrc, modules, add);
    if (kind === 'ScheduledJob') {
      const method = text(asNode(obj.Properties).MethodName);
      const m = /^CommonModule\.([^.]+)\.([^.]+)$/.exec(method);
      const state = m ? exportedIn(m[1], m[2]) : 'missing';
      if (state !== 'ok')
        add(
          file,
          lineOf(objSrc, '<MethodName>'),
          `MethodName ${method} is ${state === 'missing' ? 'not a method of a common module of the extension' : 'not exported'}`,
        );
    }
    if (kind === 'CommonForm')
      checkForm(`CommonForms/${name}/Ext/Form.xml`, `CommonForms/${name}/Ext/Form/Module.bsl`, docs, read, modules, add);
  }
  return problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

function checkHttpService(
  file: string,
  name: string,
  obj: Node,
  src: string,
  modules: Map<string, BslMethod[]>,
  add: (file: string, line: number, message: string) => void,
): void {
  const props = asNode(obj.Properties);
  if (text(props.ReuseSessions) !== 'Use')
    add(file, lineOf(src, '<ReuseSessions>'), 'ReuseSessions must be Use (sessions only by the IBSession header)');
  if (text(props.SessionMaxAge) !== '20') add(file, lineOf(src, '<SessionMaxAge>'), 'SessionMaxAge must be 20');
  const moduleFile = `HTTPServices/${name}/Ext/Module.bsl`;
  const methods = modules.get(moduleFile) ?? [];
  const offered = new Set<string>();
  for (const t of asList(asNode(obj.ChildObjects).URLTemplate)) {
    const template = text(asNode(asNode(t).Properties).Template);
    for (const m of asList(asNode(asNode(t).ChildObjects).Method)) {
      const mp = asNode(asNode(m).Properties);
      const handler = text(mp.Handler);
      offered.add(`${text(mp.HTTPMethod)} ${template}`);
      const found = methods.find((x) => x.name.toLowerCase() === handler.toLowerCase());
      const line = lineOf(src, `<Handler>${handler}</Handler>`);
      if (!found) add(file, line, `handler ${handler} is not a function of ${moduleFile}`);
      else if (found.kind !== 'Функция' || found.params.length !== 1)
        add(moduleFile, found.line, `handler ${handler} must be Функция ${handler}(Запрос)`);
    }
  }
  if (text(props.RootURL) === 'chats')
    for (const e of ONEC_HTTP_ENDPOINTS)
      if (!offered.has(`${e.method} /v1${e.path}`))
        add(
          file,
          lineOf(src, '<RootURL>'),
          `the contract's ${e.method} ${e.path} has no URL template /v1${e.path} with method ${e.method}`,
        );
}

function checkForm(
  formFile: string,
  moduleFile: string,
  docs: Map<string, Node>,
  read: (rel: string) => string,
  modules: Map<string, BslMethod[]>,
  add: (file: string, line: number, message: string) => void,
): void {
  const doc = docs.get(formFile);
  if (!doc) return;
  const src = read(formFile);
  const methods = new Set((modules.get(moduleFile) ?? []).map((m) => m.name.toLowerCase()));
  const ids = new Map<string, number>();
  const visit = (node: unknown, tag: string): void => {
    for (const n of asList(node)) {
      const o = asNode(n);
      const value = text(n);
      if (tag === 'Event' && !methods.has(value.toLowerCase()))
        add(formFile, lineOf(src, `>${value}</Event>`), `event handler ${value} is not in ${moduleFile}`);
      if (tag === 'Action' && !methods.has(value.toLowerCase()))
        add(formFile, lineOf(src, `<Action>${value}</Action>`), `command action ${value} is not in ${moduleFile}`);
      const id = o['@_id'];
      if (typeof id === 'string' && !['Attribute', 'Column', 'Command'].includes(tag)) {
        ids.set(id, (ids.get(id) ?? 0) + 1);
        if (ids.get(id) === 2) add(formFile, lineOf(src, ` id="${id}"`), `form item id ${id} is used twice`);
      }
      if (tag === 'DataPath' && !dataPathKnown(value))
        add(formFile, lineOf(src, `<DataPath>${value}</DataPath>`), `DataPath ${value} names no attribute of the form`);
      for (const [k, v] of Object.entries(o)) if (!k.startsWith('@_') && k !== '#text') visit(v, k);
    }
  };
  // Form attributes and the columns of table attributes, for the DataPath check.
  const attributes = new Map<string, Set<string>>();
  for (const a of asList(asNode(asNode(doc.Form).Attributes).Attribute)) {
    const columns = asList(asNode(asNode(a).Columns).Column).map((c) => String(asNode(c)['@_name'] ?? ''));
    attributes.set(String(asNode(a)['@_name'] ?? ''), new Set(columns));
  }
  const dataPathKnown = (path: string): boolean => {
    if (path.startsWith('Items.')) return true;
    const [head, column] = path.split('.');
    const columns = attributes.get(head);
    return columns !== undefined && (column === undefined || columns.has(column) || columns.size === 0);
  };
  visit(doc.Form, 'Form');
}
