/**
 * A small reader of 1C:Enterprise (BSL) module text, enough for static checks without the
 * platform: it blanks strings, comments, date literals and preprocessor/annotation lines
 * (keeping every line break, so offsets still map to the same line), finds the block
 * keywords and the procedure headers.
 *
 * It is not a parser: it knows only what the checks need. Keywords are matched as whole
 * words (Cyrillic letters count as word characters) and never after a `.` (a member).
 */

export interface BslProblem {
  line: number;
  message: string;
}

export interface BslMethod {
  name: string;
  kind: 'Процедура' | 'Функция';
  params: string[];
  exported: boolean;
  line: number;
  /** The compilation directive above the header (`НаКлиенте`, `НаСервере`…), if any. */
  annotation?: string;
}

/** The module text with string, comment, date and `#…`/`&…` line contents replaced by spaces. */
export function blankBsl(text: string): string {
  const src = text.replace(/^\uFEFF/, '');
  let out = '';
  let i = 0;
  let lineStart = true;
  while (i < src.length) {
    const c = src[i];
    if (lineStart) {
      // Preprocessor instructions (#Область, #Если Сервер Тогда) and annotations (&НаСервере).
      const rest = /^[ \t]*[#&][^\n]*/.exec(src.slice(i, i + 400));
      if (rest) {
        out += rest[0].replace(/[^\n]/g, ' ');
        i += rest[0].length;
        continue;
      }
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') {
        out += ' ';
        i++;
      }
      continue;
    }
    if (c === '"' || c === "'") {
      // A string ("" inside is a quote; it may continue on the next line after `|`) or a date literal.
      out += ' ';
      i++;
      while (i < src.length) {
        if (src[i] === c && c === '"' && src[i + 1] === '"') {
          out += '  ';
          i += 2;
          continue;
        }
        if (src[i] === c) break;
        out += src[i] === '\n' ? '\n' : ' ';
        i++;
      }
      out += ' ';
      i++;
      lineStart = false;
      continue;
    }
    out += c;
    lineStart = c === '\n';
    i++;
  }
  return out;
}

let cachedText = '';
let cachedStarts: number[] = [0];

/** 1-based line of an offset (line starts of the last text asked about are kept). */
export function lineAt(text: string, offset: number): number {
  if (text !== cachedText) {
    cachedStarts = [0];
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) cachedStarts.push(i + 1);
    cachedText = text;
  }
  let lo = 0;
  let hi = cachedStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cachedStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

const OPEN: Record<string, { kind: string; close: string }> = {
  процедура: { kind: 'Процедура', close: 'КонецПроцедуры' },
  procedure: { kind: 'Процедура', close: 'КонецПроцедуры' },
  функция: { kind: 'Функция', close: 'КонецФункции' },
  function: { kind: 'Функция', close: 'КонецФункции' },
  если: { kind: 'Если', close: 'КонецЕсли' },
  if: { kind: 'Если', close: 'КонецЕсли' },
  для: { kind: 'Для', close: 'КонецЦикла' },
  for: { kind: 'Для', close: 'КонецЦикла' },
  пока: { kind: 'Пока', close: 'КонецЦикла' },
  while: { kind: 'Пока', close: 'КонецЦикла' },
  попытка: { kind: 'Попытка', close: 'КонецПопытки' },
  try: { kind: 'Попытка', close: 'КонецПопытки' },
};
const CLOSE: Record<string, string> = {
  конецпроцедуры: 'КонецПроцедуры',
  endprocedure: 'КонецПроцедуры',
  конецфункции: 'КонецФункции',
  endfunction: 'КонецФункции',
  конецесли: 'КонецЕсли',
  endif: 'КонецЕсли',
  конеццикла: 'КонецЦикла',
  enddo: 'КонецЦикла',
  конецпопытки: 'КонецПопытки',
  endtry: 'КонецПопытки',
};
const WORD = /[\p{L}\p{N}_]+/gu;

/** Every block opened by Процедура/Функция/Если/Для/Пока/Попытка is closed by its own keyword. */
export function checkBlocks(text: string): BslProblem[] {
  const code = blankBsl(text);
  const problems: BslProblem[] = [];
  const stack: Array<{ kind: string; close: string; line: number }> = [];
  for (const m of code.matchAll(WORD)) {
    const at = m.index ?? 0;
    if (code[at - 1] === '.') continue;
    const w = m[0].toLowerCase();
    const open = OPEN[w];
    const close = CLOSE[w];
    if (!open && !close) continue;
    const line = lineAt(code, at);
    if (open) {
      const top = stack[stack.length - 1];
      if ((open.kind === 'Процедура' || open.kind === 'Функция') && top) {
        problems.push({
          line: top.line,
          message: `${top.kind} opened here is not closed by ${top.close} before ${open.kind} at line ${line}`,
        });
        stack.length = 0;
      }
      stack.push({ ...open, line });
      continue;
    }
    const top = stack.pop();
    if (!top) {
      problems.push({ line, message: `${close} closes nothing` });
    } else if (top.close !== close) {
      problems.push({
        line: top.line,
        message: `${top.kind} opened here is not closed by ${top.close} (found ${close} at line ${line})`,
      });
      // Resynchronise: drop openers until the one this keyword closes.
      while (stack.length > 0 && stack[stack.length - 1].close !== close) stack.pop();
      stack.pop();
    }
  }
  for (const open of stack) problems.push({ line: open.line, message: `${open.kind} opened here is never closed by ${open.close}` });
  return problems;
}

const HEADER =
  /(?<![\p{L}\p{N}_.])(Процедура|Функция|Procedure|Function)[ \t]+([\p{L}_][\p{L}\p{N}_]*)[ \t]*\(([^)]*)\)[ \t]*(Экспорт|Export)?/giu;

/** Procedure and function headers of a module, in order. */
export function methodsOf(text: string): BslMethod[] {
  const code = blankBsl(text);
  const raw = text.replace(/^\uFEFF/, '').split('\n');
  const out: BslMethod[] = [];
  for (const m of code.matchAll(HEADER)) {
    const word = m[1].toLowerCase();
    const params = m[3]
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    const line = lineAt(code, m.index ?? 0);
    let annotation: string | undefined;
    for (let i = line - 2; i >= 0; i--) {
      const l = raw[i].trim();
      if (l === '' || l.startsWith('//')) continue;
      if (l.startsWith('&')) annotation = /^&([\p{L}\p{N}_]+)/u.exec(l)?.[1];
      break;
    }
    out.push({
      name: m[2],
      kind: word === 'процедура' || word === 'procedure' ? 'Процедура' : 'Функция',
      params,
      exported: m[4] !== undefined,
      line,
      ...(annotation === undefined ? {} : { annotation }),
    });
  }
  return out;
}

/** Calls written as `<module>.<method>(` where the module name starts with `prefix`. */
export function moduleCalls(text: string, prefix: string): Array<{ module: string; method: string; line: number }> {
  const code = blankBsl(text);
  const esc = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(?<![\\p{L}\\p{N}_.])(${esc}[\\p{L}\\p{N}_]*)\\.([\\p{L}_][\\p{L}\\p{N}_]*)\\s*\\(`, 'gu');
  return [...code.matchAll(re)].map((m) => ({ module: m[1], method: m[2], line: lineAt(code, m.index ?? 0) }));
}
