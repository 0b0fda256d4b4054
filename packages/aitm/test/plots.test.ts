// The SVG plots: the writer emits well-formed XML with escaped text, puts points and bars
// where the axes say, bins [0, 1] with both ends counted; the charts build from a report and a
// compare result; and `aitm train` writes learning-curves.svg and attention.svg.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { trainCommand } from '../src/commands/train.js';
import { attentionHistogram, aucByModel, learningCurves } from '../src/plots/charts.js';
import { barPanel, binCounts, esc, figure, histogramPanel, linePanel, MARGIN, niceTicks, num, type Box } from '../src/plots/svg.js';

/**
 * A tiny XML well-formedness check: one root, every tag closed in order, attributes quoted,
 * and no raw `<` or `&` outside tags and entities.
 */
function checkXml(xml: string): void {
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const m of xml.matchAll(token)) {
    const [, close, name, , selfClose, text, stray] = m;
    if (stray) throw new Error(`stray '<' at ${m.index}: ${xml.slice(m.index, m.index + 30)}`);
    if (text !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) throw new Error(`raw '&' in text: ${text}`);
      if (text.includes('>')) throw new Error(`raw '>' in text: ${text}`);
      continue;
    }
    if (close) {
      if (stack.pop() !== name) throw new Error(`</${name}> does not close the open tag`);
    } else {
      if (stack.length === 0) roots++;
      if (!selfClose) stack.push(name!);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

const attr = (tag: string, name: string) => tag.match(new RegExp(`\\s${name}="([^"]*)"`))![1]!;
const tags = (svg: string, name: string) => svg.match(new RegExp(`<${name}\\s[^>]*>`, 'g')) ?? [];
/** Data bars carry a <title> tooltip; legend swatches do not. */
const bars = (svg: string) => svg.match(/<rect\s[^>]*><title>/g) ?? [];
const box: Box = { x: 0, y: 0, width: 400, height: 300 };

describe('svg writer', () => {
  it('writes well-formed XML and escapes text', () => {
    const nasty = 'a<b & "c" > d\'s';
    expect(esc(nasty)).toBe('a&lt;b &amp; &quot;c&quot; &gt; d&apos;s');
    const svg = figure({
      title: nasty,
      panels: [
        linePanel({ title: nasty, xLabel: nasty, yLabel: nasty, series: [{ name: nasty, x: [1, 2], y: [0.5, 0.7] }] }),
        histogramPanel({ title: nasty, xLabel: nasty, values: [0, 0.5, 1] }),
        barPanel({ title: nasty, yLabel: nasty, categories: [nasty], groups: [{ name: nasty, values: [0.6], errors: [0.01] }], reference: { name: nasty, values: [0.7] } }),
      ],
    });
    expect(() => checkXml(svg)).not.toThrow();
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).not.toContain(nasty);
    expect(svg).toContain('a&lt;b &amp; &quot;c&quot;');
    // The checker itself rejects what it should.
    expect(() => checkXml('<svg><g></svg>')).toThrow();
    expect(() => checkXml('<svg><text>a < b</text></svg>')).toThrow();
    expect(() => checkXml('<svg><text>a & b</text></svg>')).toThrow();
  });

  it('formats numbers at two decimals and is deterministic', () => {
    expect([num(1), num(12.5), num(1 / 3), num(-0.001), num(2.346)]).toEqual(['1', '12.5', '0.33', '0', '2.35']);
    expect(() => num(NaN)).toThrow(/non-finite/);
    const make = () => figure({ title: 't', panels: [linePanel({ title: 'p', xLabel: 'x', yLabel: 'y', series: [{ name: 's', x: [1, 2, 3], y: [0.1, 0.2, 0.3] }] })] });
    expect(make()).toBe(make());
  });

  it('picks round ticks that cover the data', () => {
    expect(niceTicks(0, 1).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.53, 0.71)).toMatchObject({ ticks: [0.5, 0.55, 0.6, 0.65, 0.7, 0.75], decimals: 2 });
    expect(niceTicks(1, 2, 5, 1).ticks).toEqual([1, 2]);
  });

  it('places a polyline at the hand-computed coordinates', () => {
    // Plot area: x from 60 to 400 - 120 = 280 (220 wide), y from 28 down to 300 - 44 = 256 (228 tall).
    expect(MARGIN).toEqual({ top: 28, right: 120, bottom: 44, left: 60 });
    const svg = linePanel({ title: 't', xLabel: 'x', yLabel: 'y', xDomain: [0, 10], yDomain: [0, 1], series: [{ name: 's', x: [0, 5, 10], y: [0, 0.5, 1] }] })(box);
    // x: 60 + x/10 * 220; y: 256 - y * 228.
    expect(attr(tags(svg, 'polyline')[0]!, 'points')).toBe('60,256 170,142 280,28');
    // A non-finite value is left out of the line.
    const gap = linePanel({ title: 't', xLabel: 'x', yLabel: 'y', xDomain: [0, 4], yDomain: [0, 1], series: [{ name: 's', x: [0, 1, 2], y: [0.25, NaN, 0.75] }] })(box);
    expect(attr(tags(gap, 'polyline')[0]!, 'points')).toBe('60,199 170,85');
  });

  it('counts values in bins over [0, 1], 0 and 1 included', () => {
    expect(binCounts([0, 0.05, 0.1, 0.3, 0.5, 0.99, 1], 10)).toEqual([2, 1, 0, 1, 0, 1, 0, 0, 0, 2]);
    expect(binCounts([-0.1, 1.1, NaN, 0.5], 2)).toEqual([0, 1]);
    expect(() => binCounts([0.5], 0)).toThrow(/positive integer/);
    // Bars: four values in bin 0 and one in bin 3 of 4; the y axis runs 0..4 in steps of 1.
    const svg = histogramPanel({ title: 'h', xLabel: 'w', values: [0, 0.1, 0.2, 0.24, 1], bins: 4 })(box);
    const hist = bars(svg);
    expect(hist).toHaveLength(2);
    expect(hist.map((b) => [attr(b, 'x'), attr(b, 'width'), attr(b, 'height')])).toEqual([
      ['60', '55', '228'],
      ['225', '55', '57'],
    ]);
  });

  it('draws bars with heights proportional to their values, error bars and a dashed reference', () => {
    const svg = barPanel({
      title: 'b',
      yLabel: 'v',
      categories: ['a', 'b'],
      groups: [
        { name: 'g1', values: [1, 2], errors: [0.5, 0] },
        { name: 'g2', values: [3, NaN] },
      ],
      reference: { name: 'oracle', values: [4, 4] },
    })(box);
    const drawn = bars(svg);
    expect(drawn).toHaveLength(3); // the NaN gets no bar
    const heights = drawn.map((b) => Number(attr(b, 'height')));
    expect(heights[1]! / heights[0]!).toBeCloseTo(2, 2);
    expect(heights[2]! / heights[0]!).toBeCloseTo(3, 2);
    // Every bar stands on the zero line.
    for (const b of drawn) expect(Number(attr(b, 'y')) + Number(attr(b, 'height'))).toBeCloseTo(256, 1);
    expect(tags(svg, 'path')).toHaveLength(1); // one error bar (the other is 0)
    expect(tags(svg, 'line').filter((l) => l.includes('stroke-dasharray'))).toHaveLength(3); // 2 references + legend swatch
  });
});

describe('charts', () => {
  it('learning curves, attention histogram and AUC by model are well-formed SVG', () => {
    const report = {
      labels: ['click', 'purchase'],
      bestEpoch: 1,
      epochs: [
        { loss: 0.6, valAuc: [0.6, 0.55], valLogloss: [0.5, 0.2], seconds: 1 },
        { loss: 0.5, valAuc: [0.65, NaN], valLogloss: [0.45, 0.2], seconds: 1 },
      ],
    };
    const lc = learningCurves(report);
    checkXml(lc);
    expect(tags(lc, 'polyline')).toHaveLength(3); // two tasks + the loss
    const att = attentionHistogram([new Float32Array([0.1, 0.9, 1])], report.labels);
    checkXml(att);
    expect(att).toContain('purchase reads click: mean 0.667, n = 3');
    const compare = {
      labels: ['click', 'purchase'],
      seeds: 2,
      oracleAuc: [0.7, 0.72],
      models: [
        { model: 'aitm' as const, auc: [0.66, 0.68], aucStd: [0.01, 0.02], logloss: [0, 0], loglossStd: [0, 0], params: 1, samplesPerSecond: 1 },
        { model: 'esmm' as const, auc: [0.64, 0.67], aucStd: [0.01, 0.01], logloss: [0, 0], loglossStd: [0, 0], params: 1, samplesPerSecond: 1 },
      ],
    };
    const auc = aucByModel(compare);
    checkXml(auc);
    expect(bars(auc)).toHaveLength(4);
    expect(bars(auc).filter((r) => r.includes('fill="#4e79a7"'))).toHaveLength(2); // aitm's, one per task
    expect(auc).toContain('>oracle</text>');
  });
});

describe('aitm train writes its plots', () => {
  it('learning-curves.svg and attention.svg on the Ali-CCP sample', async () => {
    const ali = (split: string) => fileURLToPath(new URL(`../data/ali-ccp/ali_ccp_${split}_sample.csv`, import.meta.url));
    const out = join(mkdtempSync(join(tmpdir(), 'aitm-plots-')), 'run');
    await trainCommand({ data: ali('train'), val: ali('val'), test: ali('test'), epochs: 2, batchSize: 32, backend: 'cpu', out, log: () => {}, quiet: true });
    for (const f of ['learning-curves.svg', 'attention.svg']) {
      expect(existsSync(join(out, f))).toBe(true);
      checkXml(readFileSync(join(out, f), 'utf8'));
    }
    const att = readFileSync(join(out, 'attention.svg'), 'utf8');
    expect(att).toContain('purchase reads click');
    expect(att).toMatch(/n = 50</); // every validation row
  });
});
