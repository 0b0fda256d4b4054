// A minimal SVG writer for the run plots: line panels, histograms over [0, 1] and grouped bar
// panels with error bars, laid out in a grid under one title. No dependencies; coordinates
// are written at two decimals so the same data gives the same file byte for byte.

/** Where a panel draws, in SVG user units (y grows downwards). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A panel draws itself into the box it is given and returns SVG elements. */
export type Panel = (box: Box) => string;

/** Space inside every panel's box around its plot area: title above, legend on the right. */
export const MARGIN = { top: 28, right: 120, bottom: 44, left: 60 } as const;

/** Tableau 10: distinguishable, and readable on white. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'] as const;
const color = (i: number) => PALETTE[i % PALETTE.length]!;
const DASH = '6 4';
const TITLE_HEIGHT = 36;

/** Text and attribute values with XML's special characters escaped. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A coordinate at two decimals, trailing zeros dropped ("12.5", "3", never "-0"). */
export function num(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`svg: non-finite coordinate ${v}`);
  const r = Math.round(v * 100) / 100;
  return String(r === 0 ? 0 : r);
}

/** One element; attributes whose value is undefined are left out, numbers go through `num`. */
function el(name: string, attrs: Record<string, string | number | undefined>, body?: string): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : esc(v!)}"`)
    .join('');
  return body === undefined ? `<${name}${a}/>` : `<${name}${a}>${body}</${name}>`;
}

/** The affine map taking `domain` onto `range` (a degenerate domain maps to the range's middle). */
export function linear(domain: readonly [number, number], range: readonly [number, number]): (v: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (d1 === d0) return () => (r0 + r1) / 2;
  return (v) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);
}

/**
 * Ticks at a round step (1, 2 or 5 times a power of ten, at least `minStep`) for about
 * `count` intervals; `lo`/`hi` are the outer ticks, so they cover the input range.
 */
export function niceTicks(lo: number, hi: number, count = 5, minStep = 0): { ticks: number[]; lo: number; hi: number; decimals: number } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error(`niceTicks: non-finite range [${lo}, ${hi}]`);
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) [lo, hi] = [lo - (Math.abs(lo) * 0.1 || 0.5), hi + (Math.abs(hi) * 0.1 || 0.5)];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = Math.max(minStep, (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  // Rounding to the step's decimals removes float noise such as 0.30000000000000004.
  const ticks = Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toFixed(decimals)));
  return { ticks, lo: ticks[0]!, hi: ticks[ticks.length - 1]!, decimals };
}

/**
 * Counts of `values` in `bins` equal bins over [0, 1]: bin i is [i/bins, (i+1)/bins), the last
 * one also holds 1. Values outside [0, 1] (and NaN) are not counted.
 */
export function binCounts(values: ArrayLike<number>, bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`binCounts: bins must be a positive integer, got ${bins}`);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= 1)) continue;
    counts[Math.min(bins - 1, Math.floor(v * bins))]!++;
  }
  return counts;
}

/** The plot area of a panel's box. */
export function plotArea(box: Box): Box {
  return {
    x: box.x + MARGIN.left,
    y: box.y + MARGIN.top,
    width: box.width - MARGIN.left - MARGIN.right,
    height: box.height - MARGIN.top - MARGIN.bottom,
  };
}

interface Axis {
  ticks: readonly number[];
  /** Where each tick sits, in user units. */
  at: (v: number) => number;
  label: string;
  decimals: number;
  /** Text under each tick instead of the number (category axes). */
  names?: readonly string[];
}

/** Panel title, grid, axis lines, ticks with labels, and the axis titles. */
function frame(box: Box, title: string, x: Axis, y: Axis): string {
  const p = plotArea(box);
  const bottom = p.y + p.height;
  const parts: string[] = [el('text', { x: p.x + p.width / 2, y: box.y + 18, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 'bold' }, esc(title))];
  for (const t of y.ticks) {
    const ty = y.at(t);
    parts.push(el('line', { x1: p.x, y1: ty, x2: p.x + p.width, y2: ty, stroke: '#e5e5e5' }));
    parts.push(el('line', { x1: p.x - 4, y1: ty, x2: p.x, y2: ty, stroke: '#333' }));
    parts.push(el('text', { x: p.x - 7, y: ty + 4, 'text-anchor': 'end', 'font-size': 11 }, t.toFixed(y.decimals)));
  }
  x.ticks.forEach((t, i) => {
    const tx = x.at(t);
    parts.push(el('line', { x1: tx, y1: bottom, x2: tx, y2: bottom + 4, stroke: '#333' }));
    parts.push(el('text', { x: tx, y: bottom + 17, 'text-anchor': 'middle', 'font-size': 11 }, esc(x.names?.[i] ?? t.toFixed(x.decimals))));
  });
  parts.push(el('line', { x1: p.x, y1: p.y, x2: p.x, y2: bottom, stroke: '#333' }));
  parts.push(el('line', { x1: p.x, y1: bottom, x2: p.x + p.width, y2: bottom, stroke: '#333' }));
  parts.push(el('text', { x: p.x + p.width / 2, y: bottom + 36, 'text-anchor': 'middle', 'font-size': 12 }, esc(x.label)));
  const ly = p.y + p.height / 2;
  parts.push(el('text', { x: box.x + 16, y: ly, 'text-anchor': 'middle', 'font-size': 12, transform: `rotate(-90 ${num(box.x + 16)} ${num(ly)})` }, esc(y.label)));
  return parts.join('\n');
}

interface LegendEntry {
  name: string;
  color: string;
  kind: 'line' | 'box';
  dashed?: boolean;
}

/** Swatches and names in the right margin, top-aligned with the plot area. */
function legend(box: Box, entries: readonly LegendEntry[]): string {
  const p = plotArea(box);
  const x = p.x + p.width + 12;
  return entries
    .map((e, i) => {
      const y = p.y + 8 + i * 18;
      const swatch =
        e.kind === 'line'
          ? el('line', { x1: x, y1: y, x2: x + 20, y2: y, stroke: e.color, 'stroke-width': 2, 'stroke-dasharray': e.dashed ? DASH : undefined })
          : el('rect', { x: x + 4, y: y - 6, width: 12, height: 12, fill: e.color });
      return `${swatch}\n${el('text', { x: x + 26, y: y + 4, 'font-size': 11 }, esc(e.name))}`;
    })
    .join('\n');
}

export interface LineSeries {
  name: string;
  x: readonly number[];
  /** Non-finite values (a NaN AUC) are left out of the line. */
  y: readonly number[];
  dashed?: boolean;
}

export interface LinePanelSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** Default: the data's x range. */
  xDomain?: [number, number];
  /** Default: the data's y range, widened to round ticks. */
  yDomain?: [number, number];
  /** Smallest x tick step (1 for epochs). */
  xMinStep?: number;
}

/** Named series as polylines with a marker per point, axes and a legend. */
export function linePanel(spec: LinePanelSpec): Panel {
  return (box) => {
    const pts = spec.series.map((s) => {
      if (s.x.length !== s.y.length) throw new Error(`linePanel: series '${s.name}' has ${s.x.length} x and ${s.y.length} y values`);
      return s.x.map((x, i): [number, number] => [x, s.y[i]!]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    });
    const all = pts.flat();
    const xs = all.map(([x]) => x);
    const ys = all.map(([, y]) => y);
    let xDomain = spec.xDomain ?? (xs.length > 0 ? [Math.min(...xs), Math.max(...xs)] : [0, 1]);
    if (xDomain[0] === xDomain[1]) xDomain = [xDomain[0] - 0.5, xDomain[1] + 0.5];
    const yNice = niceTicks(ys.length > 0 ? Math.min(...ys) : 0, ys.length > 0 ? Math.max(...ys) : 1);
    const yDomain = spec.yDomain ?? [yNice.lo, yNice.hi];
    const xt = niceTicks(xDomain[0], xDomain[1], 5, spec.xMinStep ?? 0);
    const yt = spec.yDomain ? niceTicks(yDomain[0], yDomain[1]) : yNice;
    const inside = (d: readonly [number, number]) => (t: number) => t >= d[0] - 1e-9 && t <= d[1] + 1e-9;
    const p = plotArea(box);
    const sx = linear(xDomain, [p.x, p.x + p.width]);
    const sy = linear(yDomain, [p.y + p.height, p.y]);
    const parts = [
      frame(box, spec.title, { ticks: xt.ticks.filter(inside(xDomain)), at: sx, label: spec.xLabel, decimals: xt.decimals }, { ticks: yt.ticks.filter(inside(yDomain)), at: sy, label: spec.yLabel, decimals: yt.decimals }),
    ];
    spec.series.forEach((s, k) => {
      const c = color(k);
      const xy = pts[k]!.map(([x, y]) => [sx(x), sy(y)] as const);
      parts.push(el('polyline', { points: xy.map(([x, y]) => `${num(x)},${num(y)}`).join(' '), fill: 'none', stroke: c, 'stroke-width': 2, 'stroke-dasharray': s.dashed ? DASH : undefined }));
      for (const [x, y] of xy) parts.push(el('circle', { cx: x, cy: y, r: 3, fill: c }));
    });
    parts.push(legend(box, spec.series.map((s, k) => ({ name: s.name, color: color(k), kind: 'line', dashed: s.dashed ?? false }))));
    return parts.join('\n');
  };
}

export interface HistogramPanelSpec {
  title: string;
  xLabel: string;
  /** Values in [0, 1]. */
  values: ArrayLike<number>;
  /** Default 20. */
  bins?: number;
}

/** Bar heights are the counts of `binCounts(values, bins)`; the x axis is [0, 1]. */
export function histogramPanel(spec: HistogramPanelSpec): Panel {
  return (box) => {
    const bins = spec.bins ?? 20;
    const counts = binCounts(spec.values, bins);
    const yt = niceTicks(0, Math.max(1, ...counts), 5, 1);
    const xt = niceTicks(0, 1);
    const p = plotArea(box);
    const sx = linear([0, 1], [p.x, p.x + p.width]);
    const sy = linear([0, yt.hi], [p.y + p.height, p.y]);
    const parts = [frame(box, spec.title, { ticks: xt.ticks, at: sx, label: spec.xLabel, decimals: xt.decimals }, { ticks: yt.ticks, at: sy, label: 'count', decimals: yt.decimals })];
    counts.forEach((n, i) => {
      if (n === 0) return;
      const x0 = sx(i / bins);
      const tip = `[${(i / bins).toFixed(3)}, ${((i + 1) / bins).toFixed(3)}${i === bins - 1 ? ']' : ')'}: ${n}`;
      parts.push(el('rect', { x: x0, y: sy(n), width: sx((i + 1) / bins) - x0, height: sy(0) - sy(n), fill: color(0), stroke: 'white', 'stroke-width': 0.5 }, el('title', {}, esc(tip))));
    });
    return parts.join('\n');
  };
}

export interface BarGroup {
  name: string;
  /** One value per category; non-finite values get no bar. */
  values: readonly number[];
  /** Half-length of each error bar (a std), per category. */
  errors?: readonly number[];
}

export interface BarPanelSpec {
  title: string;
  yLabel: string;
  categories: readonly string[];
  groups: readonly BarGroup[];
  /** A dashed line across each category's bars (an oracle), with a legend entry. */
  reference?: { name: string; values: readonly number[] };
  /** Bars grow from here (default 0, so heights are proportional to values). */
  baseline?: number;
}

/** Per category a bar per group, side by side, with error bars and an optional reference line. */
export function barPanel(spec: BarPanelSpec): Panel {
  return (box) => {
    const base = spec.baseline ?? 0;
    const ext: number[] = [base];
    for (const g of spec.groups) {
      if (g.values.length !== spec.categories.length) throw new Error(`barPanel: group '${g.name}' has ${g.values.length} values for ${spec.categories.length} categories`);
      g.values.forEach((v, c) => Number.isFinite(v) && ext.push(v - (g.errors?.[c] ?? 0), v + (g.errors?.[c] ?? 0)));
    }
    for (const r of spec.reference?.values ?? []) if (Number.isFinite(r)) ext.push(r);
    const finite = ext.filter(Number.isFinite);
    const yt = niceTicks(Math.min(...finite), Math.max(...finite));
    const p = plotArea(box);
    const sy = linear([yt.lo, yt.hi], [p.y + p.height, p.y]);
    const band = p.width / Math.max(1, spec.categories.length);
    const barW = (0.8 * band) / Math.max(1, spec.groups.length);
    const bandX = (c: number) => p.x + c * band;
    const cats = spec.categories.map((_, c) => c);
    const parts = [
      frame(box, spec.title, { ticks: cats, at: (c) => bandX(c) + band / 2, label: '', decimals: 0, names: spec.categories }, { ticks: yt.ticks, at: sy, label: spec.yLabel, decimals: yt.decimals }),
    ];
    spec.groups.forEach((g, k) => {
      g.values.forEach((v, c) => {
        if (!Number.isFinite(v)) return;
        const x = bandX(c) + 0.1 * band + k * barW;
        const e = g.errors?.[c] ?? 0;
        const tip = `${g.name}, ${spec.categories[c]}: ${v.toFixed(4)}${g.errors ? ` ± ${e.toFixed(4)}` : ''}`;
        parts.push(el('rect', { x, y: sy(Math.max(v, base)), width: barW, height: Math.abs(sy(base) - sy(v)), fill: color(k) }, el('title', {}, esc(tip))));
        if (e > 0) {
          const cx = x + barW / 2;
          const cap = Math.min(4, barW / 3);
          parts.push(el('path', { d: `M${num(cx)},${num(sy(v - e))}V${num(sy(v + e))}M${num(cx - cap)},${num(sy(v - e))}H${num(cx + cap)}M${num(cx - cap)},${num(sy(v + e))}H${num(cx + cap)}`, stroke: '#222', fill: 'none' }));
        }
      });
    });
    const entries: LegendEntry[] = spec.groups.map((g, k) => ({ name: g.name, color: color(k), kind: 'box' }));
    if (spec.reference) {
      spec.reference.values.forEach((r, c) => {
        if (Number.isFinite(r)) parts.push(el('line', { x1: bandX(c) + 0.05 * band, y1: sy(r), x2: bandX(c) + 0.95 * band, y2: sy(r), stroke: '#222', 'stroke-width': 1.5, 'stroke-dasharray': DASH }));
      });
      entries.push({ name: spec.reference.name, color: '#222', kind: 'line', dashed: true });
    }
    parts.push(legend(box, entries));
    return parts.join('\n');
  };
}

export interface FigureSpec {
  title: string;
  panels: readonly Panel[];
  /** Panels per row (default: all in one row, at most 3). */
  columns?: number;
  panelWidth?: number;
  panelHeight?: number;
}

/** A standalone SVG document: the title on top, then the panels in a grid. */
export function figure(spec: FigureSpec): string {
  const w = spec.panelWidth ?? 460;
  const h = spec.panelHeight ?? 300;
  const cols = Math.max(1, spec.columns ?? Math.min(3, spec.panels.length));
  const rows = Math.max(1, Math.ceil(spec.panels.length / cols));
  const width = w * Math.min(cols, Math.max(1, spec.panels.length));
  const height = TITLE_HEIGHT + h * rows;
  const body = spec.panels.map((panel, i) => `<g>\n${panel({ x: (i % cols) * w, y: TITLE_HEIGHT + Math.floor(i / cols) * h, width: w, height: h })}\n</g>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="sans-serif">`,
    el('title', {}, esc(spec.title)),
    el('rect', { x: 0, y: 0, width, height, fill: 'white' }),
    el('text', { x: width / 2, y: 24, 'text-anchor': 'middle', 'font-size': 16, 'font-weight': 'bold' }, esc(spec.title)),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
