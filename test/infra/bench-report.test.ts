/**
 * `npm run bench`'s report: targets are judged right (bounds inclusive, booleans, missing
 * values not judged) and the hand-written SVG chart is a well-formed SVG document that
 * carries every series (no timed assertions: sample figures only).
 */
import { describe, expect, it } from 'vitest';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { collectFigures, figure, lineChartSvg, markdownTable, meets } from '../../src/infra/bench-report.ts';

describe('bench targets', () => {
  it('judges <=, >= and == with inclusive bounds', () => {
    expect(meets(10, { op: '<=', bound: 10 })).toBe(true);
    expect(meets(10.1, { op: '<=', bound: 10 })).toBe(false);
    expect(meets(28, { op: '>=', bound: 28 })).toBe(true);
    expect(meets(27.9, { op: '>=', bound: 28 })).toBe(false);
    expect(meets(true, { op: '==', bound: true })).toBe(true);
    expect(meets(false, { op: '==', bound: true })).toBe(false);
    expect(meets(1, { op: '==', bound: 0 })).toBe(false);
  });

  it('does not judge a figure that was not measured', () => {
    expect(figure(null, { op: '<=', bound: 10, unit: 's' })).toEqual({ value: null, target: '<= 10 s', met: null, unit: 's' });
    expect(figure(Number.NaN, { op: '>=', bound: 1 }).met).toBeNull();
    expect(meets(true, { op: '<=', bound: 1 })).toBeNull();
  });

  it('finds every figure in a result tree and tabulates it', () => {
    const tree = {
      pull: { drain: figure(12.5, { op: '<=', bound: 10, unit: 's' }), pages: 200 },
      outbound: { perBot: figure(28.4, { op: '>=', bound: 28 }) },
    };
    const rows = collectFigures(tree);
    expect(rows.map((r) => [r.path, r.figure.met])).toEqual([
      ['pull.drain', false],
      ['outbound.perBot', true],
    ]);
    const md = markdownTable(rows);
    expect(md).toContain('| pull.drain | 12.5 s | <= 10 s | **no** |');
    expect(md).toContain('| outbound.perBot | 28.4 | >= 28 | yes |');
  });
});

describe('bench chart', () => {
  const chart = {
    title: 'Latency <per> rate & "cores"',
    xLabel: 'offered rate, msg/s',
    yLabel: 'ms',
    series: [
      {
        name: 'p50',
        points: [
          { x: 200, y: 8 },
          { x: 1000, y: 15 },
          { x: 1500, y: 40 },
        ],
      },
      {
        name: 'p99',
        points: [
          { x: 200, y: 30 },
          { x: 1000, y: Number.NaN },
          { x: 1500, y: 180 },
        ],
      },
    ],
    rules: [{ y: 50, label: 'target' }],
  };

  it('writes a well-formed SVG document with a line and a legend entry per series', () => {
    const svg = lineChartSvg(chart);
    expect(XMLValidator.validate(svg)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false }).parse(svg) as { svg: Record<string, unknown> };
    expect(doc.svg['@_xmlns']).toBe('http://www.w3.org/2000/svg');
    const lines = doc.svg.polyline as { '@_points': string }[];
    expect(lines).toHaveLength(2);
    // The unmeasured point is left out, not drawn at NaN.
    expect(lines[1]['@_points'].split(' ')).toHaveLength(2);
    expect(svg).not.toContain('NaN');
    const texts = JSON.stringify(doc.svg.text);
    expect(texts).toContain('p50');
    expect(texts).toContain('p99');
    expect(svg).toContain('Latency &lt;per&gt; rate &amp; &quot;cores&quot;');
  });

  it('keeps every point inside the drawing area', () => {
    const svg = lineChartSvg(chart, { width: 640, height: 360 });
    for (const m of svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)) {
      expect(Number(m[1])).toBeGreaterThanOrEqual(0);
      expect(Number(m[1])).toBeLessThanOrEqual(640);
      expect(Number(m[2])).toBeGreaterThanOrEqual(0);
      expect(Number(m[2])).toBeLessThanOrEqual(360);
    }
  });
});
