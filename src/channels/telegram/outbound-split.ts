/**
 * Splits a text above Telegram's 4096-character limit (UTF-16 code units, as the Bot API
 * counts) into parts cut at the most natural boundary found in the last three quarters of
 * each window: a paragraph break, a line break, a sentence end, a space; a hard cut only
 * when there is none, and never inside a surrogate pair. The separators stay at the end of
 * the part before the cut, so the parts joined give the text back exactly (parts that would
 * hold only whitespace, which Telegram refuses, are left out).
 */
export const TELEGRAM_TEXT_LIMIT = 4096;
export const TELEGRAM_CAPTION_LIMIT = 1024;

const BOUNDARIES: RegExp[] = [
  /\n[ \t]*\n+/g, // paragraph
  /\n/g, // line
  /[.!?…。][)"'»”]*\s+/g, // sentence end followed by space
  /\s+/g, // word
];

function cutAt(window: string, minCut: number): number {
  for (const re of BOUNDARIES) {
    let best = -1;
    re.lastIndex = 0;
    for (let m = re.exec(window); m; m = re.exec(window)) {
      const end = m.index + m[0].length;
      if (end <= window.length && end >= minCut) best = end;
      if (m[0].length === 0) re.lastIndex += 1;
    }
    if (best > 0) return best;
  }
  let cut = window.length;
  const code = window.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // do not split a surrogate pair
  return cut;
}

export function splitText(text: string, max = TELEGRAM_TEXT_LIMIT): string[] {
  if (max < 2) throw new Error('max must be at least 2');
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const cut = cutAt(rest.slice(0, max), Math.floor(max / 4));
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length) parts.push(rest);
  return parts.filter((p) => p.trim().length > 0);
}
