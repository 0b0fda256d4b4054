// Drawing the autograd graph, as micrograd's draw_dot: `toDot(y)` gives Graphviz text
// (`dot -Tsvg`), `toSvg(y)` an SVG drawn here with a small layered layout (no Graphviz
// needed). Both walk the graph from `y` back to its leaves through `tensor.node` and each
// node's `edges`, the same walk backward makes:
//
//   op boxes         one per recorded op: its name, output shape and dtype
//   solid ovals      leaves that require grad (parameters): where gradients accumulate
//   dashed ovals     inputs that take no gradient (data, constants, a number operand)
//
// An arrow runs from each input to the op that used it (the direction values flow; backward
// runs them the other way), labelled with the input's position when the op has several.

import { fmtShape } from './shape.js';
import { GraphNode } from './graph.js';
import { Tensor } from './tensor.js';

/** Names to print on tensors of the drawing: a leaf's name, or `name = op` on an op's output. */
export type TensorNames = Readonly<Record<string, Tensor>>;

/** One box of a drawn graph. */
export interface DrawnNode {
  readonly id: string;
  readonly kind: 'op' | 'leaf' | 'constant';
  /** The lines of its label: name or op, `[shape] dtype`, and 'requires grad' / 'no grad' for inputs. */
  readonly lines: readonly string[];
}

/** An arrow from an input to the op that used it; `input` is its position when the op has several. */
export interface DrawnEdge {
  readonly from: string;
  readonly to: string;
  readonly input: number | null;
}

/** The graph behind `y` as boxes and arrows, in the order a breadth-first walk from `y` meets them. */
export interface DrawnGraph {
  readonly nodes: readonly DrawnNode[];
  readonly edges: readonly DrawnEdge[];
}

/**
 * The autograd graph that produced `y`, as boxes and arrows (what `toDot` and `toSvg` draw).
 * Walks `y.node` and each node's `edges` back to the leaves, breadth first.
 */
export function graphOf(y: Tensor, names: TensorNames = {}): DrawnGraph {
  const nameOf = new Map<Tensor | GraphNode, string>();
  for (const [name, t] of Object.entries(names)) nameOf.set(t.node ?? t, name);
  const meta = (shape: readonly number[], dtype: string): string => `${fmtShape(shape)} ${dtype}`;
  const nodes: DrawnNode[] = [];
  const edges: DrawnEdge[] = [];
  const ids = new Map<Tensor | GraphNode, string>();
  const queue: GraphNode[] = [];
  const add = (kind: DrawnNode['kind'], lines: string[], key?: Tensor | GraphNode): string => {
    const id = `n${nodes.length}`;
    nodes.push({ id, kind, lines });
    if (key !== undefined) ids.set(key, id);
    return id;
  };
  const opNode = (n: GraphNode): string => {
    const name = nameOf.get(n);
    queue.push(n);
    return add('op', [name === undefined ? n.op : `${name} = ${n.op}`, meta(n.outputMeta.shape, n.outputMeta.dtype)], n);
  };
  const leafNode = (t: Tensor): string => add('leaf', [nameOf.get(t) ?? 'leaf', meta(t.shape, t.dtype), 'requires grad'], t);

  if (y.node !== null) opNode(y.node);
  else if (y.requiresGrad) leafNode(y);
  else add('constant', [...(nameOf.has(y) ? [nameOf.get(y)!] : []), meta(y.shape, y.dtype), 'no grad']);

  for (let q = 0; q < queue.length; q++) {
    const n = queue[q]!;
    const to = ids.get(n)!;
    n.edges.forEach((e, k) => {
      let from: string;
      if (e instanceof GraphNode) from = ids.get(e) ?? opNode(e);
      else if (e instanceof Tensor) from = ids.get(e) ?? leafNode(e);
      else from = add('constant', [meta(n.inputMeta[k]!.shape, n.inputMeta[k]!.dtype), 'no grad']);
      edges.push({ from, to, input: n.edges.length > 1 ? k : null });
    });
  }
  return { nodes, edges };
}

/**
 * The autograd graph behind `y` as Graphviz text: paste it into any dot viewer, or run
 * `dot -Tsvg`. `names` labels tensors (leaves by name, op outputs as `name = op`).
 *
 * @example
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * const loss = x.mul(2).sum();
 * console.log(toDot(loss, { x, loss }));
 * // digraph autograd {
 * //   rankdir=LR;
 * //   node [fontname="monospace", fontsize=10];
 * //   n0 [shape=box, label="loss = sum\n[] float32"];
 * //   ...
 */
export function toDot(y: Tensor, names: TensorNames = {}): string {
  const { nodes, edges } = graphOf(y, names);
  const quote = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const style = { op: 'shape=box', leaf: 'shape=ellipse', constant: 'shape=ellipse, style=dashed' } as const;
  const out = ['digraph autograd {', '  rankdir=LR;', '  node [fontname="monospace", fontsize=10];'];
  for (const n of nodes) out.push(`  ${n.id} [${style[n.kind]}, label="${n.lines.map(quote).join('\\n')}"];`);
  for (const e of edges) out.push(`  ${e.from} -> ${e.to}${e.input === null ? '' : ` [label="${e.input}"]`};`);
  out.push('}');
  return `${out.join('\n')}\n`;
}

const CHAR_W = 7; // monospace 12px, roughly
const LINE_H = 15;
const PAD = 8;
const GAP_X = 48;
const GAP_Y = 16;

/**
 * The autograd graph behind `y` as a standalone SVG, laid out in columns: the leaves on the
 * left, `y` on the right, each op one column right of all its inputs. Open it in a browser
 * or write it to a file; `names` as for `toDot`.
 *
 * @example
 * writeFileSync('graph.svg', toSvg(loss, { x, w, loss }));
 */
export function toSvg(y: Tensor, names: TensorNames = {}): string {
  const { nodes, edges } = graphOf(y, names);
  // Column = longest path to y (y is column 0), so every arrow points right.
  const rank = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  for (let changed = true, rounds = 0; changed && rounds <= nodes.length; rounds++) {
    changed = false;
    for (const e of edges) {
      const r = rank.get(e.to)! + 1;
      if (r > rank.get(e.from)!) {
        rank.set(e.from, r);
        changed = true;
      }
    }
  }
  const maxRank = Math.max(...rank.values());
  const size = new Map(nodes.map((n) => [n.id, { w: Math.max(...n.lines.map((l) => l.length)) * CHAR_W + 2 * PAD, h: n.lines.length * LINE_H + PAD }]));
  const colW: number[] = Array.from({ length: maxRank + 1 }, () => 0);
  for (const n of nodes) colW[maxRank - rank.get(n.id)!] = Math.max(colW[maxRank - rank.get(n.id)!]!, size.get(n.id)!.w);
  const colX = colW.map((_, c) => colW.slice(0, c).reduce((a, w) => a + w + GAP_X, PAD));
  const colY: number[] = colW.map(() => PAD);
  const at = new Map<string, { x: number; y: number; w: number; h: number }>();
  for (const n of nodes) {
    const c = maxRank - rank.get(n.id)!;
    const { w, h } = size.get(n.id)!;
    at.set(n.id, { x: colX[c]! + (colW[c]! - w) / 2, y: colY[c]!, w, h });
    colY[c] = colY[c]! + h + GAP_Y;
  }
  const width = colX[maxRank]! + colW[maxRank]! + PAD;
  // An arrow that skips columns bends below the boxes between its ends.
  const bendOf = (e: DrawnEdge): number => Math.max(0, rank.get(e.from)! - rank.get(e.to)! - 1) * 40;
  const height = Math.max(...colY, ...edges.map((e) => at.get(e.from)!.y + at.get(e.from)!.h + bendOf(e))) - GAP_Y + PAD;
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const r2 = (v: number): number => Math.round(v * 100) / 100;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${r2(width)}" height="${r2(height)}" viewBox="0 0 ${r2(width)} ${r2(height)}" font-family="monospace" font-size="12">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>',
  ];
  const inputsOf = new Map<string, number>();
  for (const e of edges) inputsOf.set(e.to, (inputsOf.get(e.to) ?? 0) + 1);
  for (const e of edges) {
    const [a, b] = [at.get(e.from)!, at.get(e.to)!];
    // Input k of an op with n inputs arrives at (k + 1) / (n + 1) of its left side.
    const n = inputsOf.get(e.to)!;
    const [x1, y1, x2, y2] = [a.x + a.w, a.y + a.h / 2, b.x, b.y + (b.h * ((e.input ?? 0) + 1)) / (n + 1)];
    const [mid, bend] = [(x1 + x2) / 2, bendOf(e)];
    const path = bend === 0 ? `C${r2(mid)},${r2(y1)} ${r2(mid)},${r2(y2)}` : `C${r2(x1 + GAP_X)},${r2(y1 + bend)} ${r2(x2 - GAP_X)},${r2(y2 + bend)}`;
    out.push(`<path d="M${r2(x1)},${r2(y1)}${path} ${r2(x2)},${r2(y2)}" fill="none" stroke="#555" marker-end="url(#arrow)"/>`);
    if (e.input !== null) out.push(`<text x="${r2(x2 - 14)}" y="${r2(y2 - 3)}" font-size="10" fill="#555">${e.input}</text>`);
  }
  const look = {
    op: 'rx="2" fill="#dbe9f6" stroke="#4e79a7"',
    leaf: 'rx="14" fill="#e3f1df" stroke="#59a14f"',
    constant: 'rx="14" fill="#f4f4f4" stroke="#999" stroke-dasharray="4 3"',
  } as const;
  for (const n of nodes) {
    const { x, y: top, w, h } = at.get(n.id)!;
    out.push(`<g id="${n.id}"><rect x="${r2(x)}" y="${r2(top)}" width="${r2(w)}" height="${r2(h)}" ${look[n.kind]}/>`);
    n.lines.forEach((l, i) => out.push(`<text x="${r2(x + w / 2)}" y="${r2(top + PAD / 2 + (i + 0.8) * LINE_H)}" text-anchor="middle">${esc(l)}</text>`));
    out.push('</g>');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
