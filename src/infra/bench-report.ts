/**
 * What `npm run bench` prints and draws: each figure beside its target (`{value, target,
 * met}`), and a hand-written SVG line chart (latency percentiles per offered rate, or any
 * series of points). Pure functions, no dependencies: tested in test/infra/bench-report.test.ts (here, not in bench/, so the test may import it).
 */

/** A target: `<=` / `>=` a bound, or `==` a value (true, 0…). */
export interface Target {
  op: '<=' | '>=' | '==';
  bound: number | boolean;
  unit?: string;
}

/** One figure as printed: the value, its target as text, and whether it is met (null: not measured). */
export interface Figure {
  value: number | boolean | null;
  target: string;
  met: boolean | null;
  unit?: string;
}

export function targetText(t: Target): string {
  return `${t.op} ${String(t.bound)}${t.unit ? ` ${t.unit}` : ''}`;
}

/** Does the value meet the target? null when there is no value (the part did not run, or failed). */
export function meets(value: number | boolean | null | undefined, t: Target): boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (t.op === '==') return value === t.bound;
  if (typeof value !== 'number' || typeof t.bound !== 'number') return null;
  return t.op === '<=' ? value <= t.bound : value >= t.bound;
}

export function figure(value: number | boolean | null | undefined, t: Target): Figure {
  const v = value === undefined || (typeof value === 'number' && !Number.isFinite(value)) ? null : value;
  return { value: v, target: targetText(t), met: meets(v, t), ...(t.unit ? { unit: t.unit } : {}) };
}

/** Every figure found in a result tree (objects with `target` and `met`), with its path. */
export function collectFigures(tree: unknown, path: string[] = []): { path: string; figure: Figure }[] {
  if (!tree || typeof tree !== 'object') return [];
  const o = tree as Record<string, unknown>;
  if ('target' in o && 'met' in o && 'value' in o) return [{ path: path.join('.'), figure: o as unknown as Figure }];
  return Object.entries(o).flatMap(([k, v]) => collectFigures(v, [...path, k]));
}

/** A Markdown table of the figures (docs/performance.md). */
export function markdownTable(rows: { path: string; figure: Figure }[]): string {
  const mark = (m: boolean | null) => (m === null ? '—' : m ? 'yes' : '**no**');
  const lines = ['| figure | measured | target | met |', '| --- | --- | --- | --- |'];
  for (const { path, figure: f } of rows) {
    const v = f.value === null ? 'not measured' : `${String(f.value)}${f.unit ? ` ${f.unit}` : ''}`;
    lines.push(`| ${path} | ${v} | ${f.target} | ${mark(f.met)} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- SVG

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Horizontal lines (targets), e.g. `{ y: 50, label: 'p99 target' }`. */
  rules?: { y: number; label: string }[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" step for about `n` ticks over `span`. */
function niceStep(span: number, n: number): number {
  const raw = span / Math.max(1, n);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(3)));
}

/** A standalone SVG document: axes with ticks, one polyline + markers per series, a legend. */
export function lineChartSvg(c: LineChart, size = { width: 640, height: 360 }): string {
  const { width: W, height: H } = size;
  const m = { left: 60, right: 150, top: 36, bottom: 46 };
  const pts = c.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const ys = [...pts.map((p) => p.y), ...(c.rules ?? []).map((r) => r.y)];
  const xMin = pts.length ? Math.min(...pts.map((p) => p.x)) : 0;
  let xMax = pts.length ? Math.max(...pts.map((p) => p.x)) : 1;
  if (xMax === xMin) xMax = xMin + 1;
  const yStep = niceStep(Math.max(1e-9, ys.length ? Math.max(...ys) : 1), 5);
  const yMax = Math.max(yStep, Math.ceil((ys.length ? Math.max(...ys) : 1) / yStep) * yStep);
  const px = (x: number) => m.left + ((x - xMin) / (xMax - xMin)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - (y / yMax) * (H - m.top - m.bottom);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(c.title)}</text>`);
  // Axes and ticks.
  out.push(
    `<line x1="${m.left}" y1="${H - m.bottom}" x2="${W - m.right}" y2="${H - m.bottom}" stroke="#000"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${H - m.bottom}" stroke="#000"/>`,
  );
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    out.push(
      `<line x1="${m.left}" y1="${py(y).toFixed(1)}" x2="${W - m.right}" y2="${py(y).toFixed(1)}" stroke="#e0e0e0"/>`,
      `<text x="${m.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${fmt(y)}</text>`,
    );
  }
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  for (const x of xs) out.push(`<text x="${px(x).toFixed(1)}" y="${H - m.bottom + 16}" text-anchor="middle">${fmt(x)}</text>`);
  out.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 8}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(
    `<text x="14" y="${(m.top + H - m.bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(m.top + H - m.bottom) / 2})">${esc(c.yLabel)}</text>`,
  );
  // Rule labels at least a line apart (two close targets would print over each other).
  let labelY = Number.NEGATIVE_INFINITY;
  for (const r of [...(c.rules ?? [])].sort((a, b) => b.y - a.y)) {
    labelY = Math.max(py(r.y) + 4, labelY + 13);
    out.push(
      `<line x1="${m.left}" y1="${py(r.y).toFixed(1)}" x2="${W - m.right}" y2="${py(r.y).toFixed(1)}" stroke="#888" stroke-dasharray="5,4"/>`,
      `<text x="${W - m.right + 4}" y="${labelY.toFixed(1)}" fill="#555">${esc(r.label)}</text>`,
    );
  }
  c.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const ok = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (ok.length > 1)
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${ok.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const p of ok) out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = m.top + 10 + i * 18;
    out.push(
      `<line x1="${W - m.right + 10}" y1="${ly}" x2="${W - m.right + 30}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - m.right + 36}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
