// Drawing the autograd graph (toDot, toSvg) and walking it (GraphNode's op, edges, shapes):
// the dot text of a small expression against a hand-written expectation.

import { describe, expect, it } from 'vitest';
import { GraphNode, graphOf, mul, sum, tensor, toDot, toSvg } from '../src/index.js';

/** loss = sum(x * w + x): x a [2, 3] parameter, w a [3] constant, x used twice. */
function expression() {
  const x = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
  const w = tensor([0.5, -1, 2]);
  const loss = sum(mul(x, w).add(x));
  return { x, w, loss };
}

describe('toDot', () => {
  it('writes the graph of a small expression: ops, shapes, dtypes, which inputs require grad', () => {
    const { x, loss } = expression();
    expect(toDot(loss, { x, loss })).toBe(
      [
        'digraph autograd {',
        '  rankdir=LR;',
        '  node [fontname="monospace", fontsize=10];',
        '  n0 [shape=box, label="loss = sum\\n[] float32"];',
        '  n1 [shape=box, label="add\\n[2,3] float32"];',
        '  n2 [shape=box, label="mul\\n[2,3] float32"];',
        '  n3 [shape=ellipse, label="x\\n[2,3] float32\\nrequires grad"];',
        '  n4 [shape=ellipse, style=dashed, label="[3] float32\\nno grad"];',
        '  n1 -> n0;',
        '  n2 -> n1 [label="0"];',
        '  n3 -> n1 [label="1"];',
        '  n3 -> n2 [label="0"];',
        '  n4 -> n2 [label="1"];',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('draws a lone tensor as one node, and unnamed leaves as "leaf"', () => {
    expect(toDot(tensor([1, 2]))).toContain('n0 [shape=ellipse, style=dashed, label="[2] float32\\nno grad"];');
    const p = tensor([1, 2], { requiresGrad: true });
    expect(toDot(p.mul(p))).toContain('n1 [shape=ellipse, label="leaf\\n[2] float32\\nrequires grad"];');
    // p * p: one leaf, two arrows into the same op.
    expect(graphOf(p.mul(p)).edges).toEqual([
      { from: 'n1', to: 'n0', input: 0 },
      { from: 'n1', to: 'n0', input: 1 },
    ]);
  });
});

describe('GraphNode', () => {
  it("is walked from a result through node, op and edges to the leaves", () => {
    const { x, loss } = expression();
    const s = loss.node!;
    expect(s).toBeInstanceOf(GraphNode);
    expect(s.op).toBe('sum');
    expect(s.outputMeta).toEqual({ shape: [], dtype: 'float32' });
    const add = s.edges[0] as GraphNode;
    expect(add.op).toBe('add');
    expect(add.inputMeta.map((m) => m.shape)).toEqual([[2, 3], [2, 3]]);
    const m = add.edges[0] as GraphNode;
    expect(m.op).toBe('mul');
    expect(m.edges).toEqual([x, null]); // x requires grad; w takes none
    expect(add.edges[1]).toBe(x);
  });
});

describe('toSvg', () => {
  it('draws every node of toDot as a labelled box, inputs left of the ops that use them', () => {
    const { x, loss } = expression();
    const svg = toSvg(loss, { x, loss });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<rect /g)).toHaveLength(5);
    expect(svg.match(/<path d="M[\d.]+,[\d.]+C/g)).toHaveLength(5); // one curve per arrow
    for (const text of ['loss = sum', 'add', 'mul', 'x', '[2,3] float32', 'requires grad', 'no grad']) expect(svg).toContain(`>${text}</text>`);
    // Columns: the leaf x (two steps from loss through add, three through mul) is leftmost, loss rightmost.
    const xOf = (id: string) => Number(new RegExp(`<g id="${id}"><rect x="([\\d.]+)"`).exec(svg)![1]);
    expect(xOf('n3')).toBeLessThan(xOf('n2'));
    expect(xOf('n2')).toBeLessThan(xOf('n1'));
    expect(xOf('n1')).toBeLessThan(xOf('n0'));
  });
});
