// What one operation costs inside a WGSL kernel on this adapter: a load from a storage
// buffer (per-invocation address, uniform address, constant address, scalar or vec4), a
// load from workgroup memory, a subgroupBroadcast and a multiply-add. Each probe is a kernel
// of 256 unrolled copies of the operation, dispatched over 131072 invocations and timed with
// gpuProfile; the unit is CPU-core nanoseconds per invocation per operation (GPU time x the
// cores llvmpipe runs on / invocations / 256), so the rows compare directly. On llvmpipe
// this is the cost model behind the kernel choices (bench/README.md, "What limits us"); on
// a GPU the numbers mean little (one invocation is not one core).

import { availableParallelism } from 'node:os';
import * as T from '@aitm/tensor';
import type { Row, SuiteOptions } from './common.js';

const COPIES = 256;
const WORKGROUP = 64;
const GROUPS = 2048;
/** Words in the probed buffer (a power of two: indices are masked into it). */
const WORDS = 1 << 14;

interface Probe {
  name: string;
  /** The binding of A, the buffer the loads read. */
  decl: string;
  /** One copy of the operation; `k` is the copy's number (0..COPIES-1). */
  body: (k: number) => string;
  needsSubgroups?: boolean;
}

// Addresses differ per copy and per invocation (multipliers coprime to the mask), so the
// compiler can neither merge the loads nor see a pattern in them.
const PROBES: Probe[] = [
  { name: 'multiply-add (8 independent chains)', decl: 'storage, read> A: array<f32>', body: (k) => `acc${k % 8} = fma(acc${k % 8}, 1.0001, 0.5);` },
  { name: 'storage load f32, per-invocation address', decl: 'storage, read> A: array<f32>', body: (k) => `acc${k % 8} += A[(${k * 37}u + lid * 131u + wid.x) & ${WORDS - 1}u];` },
  { name: 'storage load f32, uniform address', decl: 'storage, read> A: array<f32>', body: (k) => `acc${k % 8} += A[(${k * 37}u + wid.x) & ${WORDS - 1}u];` },
  { name: 'storage load f32, constant address', decl: 'storage, read> A: array<f32>', body: (k) => `acc${k % 8} += A[${(k * 37) % WORDS}u];` },
  {
    name: 'storage load vec4<f32>, per-invocation address',
    decl: 'storage, read> A: array<vec4<f32>>',
    body: (k) => `{ let v = A[(${k * 37}u + lid * 131u + wid.x) & ${WORDS / 4 - 1}u]; acc${k % 8} += v.x + v.y + v.z + v.w; }`,
  },
  {
    name: 'workgroup load f32, per-invocation address',
    decl: 'storage, read> A: array<f32>',
    body: (k) => `acc${k % 8} += S[(${k * 37}u + lid * 131u) & 1023u];`,
  },
  {
    name: 'subgroupBroadcast f32 (constant lane)',
    decl: 'storage, read> A: array<f32>',
    body: (k) => `acc${k % 8} += subgroupBroadcast(acc${(k + 1) % 8}, ${k % 4}u);`,
    needsSubgroups: true,
  },
];

function probeCode(p: Probe): string {
  const uses = (s: string): boolean => Array.from({ length: COPIES }, (_, k) => p.body(k)).some((b) => b.includes(s));
  const body = Array.from({ length: COPIES }, (_, k) => p.body(k)).join('\n  ');
  const accs = Array.from({ length: 8 }, (_, i) => `acc${i}`);
  return /* wgsl */ `${p.needsSubgroups ? 'enable subgroups;' : ''}
@group(0) @binding(0) var<${p.decl};
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
${uses('S[') ? 'var<workgroup> S: array<f32, 1024>;' : ''}
${T.kernelPreamble(2)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${accs.map((a, i) => `var ${a} = f32(lid + ${i}u) * 1e-3;`).join(' ')}
  ${uses('S[') ? `for (var i = 0u; i < 16u; i++) { S[lid * 16u + i] = f32(i); } workgroupBarrier();` : ''}
  ${body}
  O[wid.x * ${WORKGROUP}u + lid] = ${accs.join(' + ')};
}`;
}

/** Core-nanoseconds per invocation per operation of each probe, the empty kernel subtracted. */
export async function measureCosts(rounds: number): Promise<{ name: string; ns: number | null }[]> {
  await T.setBackend('webgpu');
  const backend = T.webGpuBackend()!;
  const hasSubgroups = T.webGpuAdapter()?.features.includes('subgroups') ?? false;
  const cores = T.webGpuAdapter()?.isSoftware ? availableParallelism() : 1;
  const a = T.rand([WORDS]);
  const out = T.zeros([GROUPS * WORKGROUP]);
  const time = async (label: string, code: string): Promise<number> => {
    const run = (): void => backend.run(label, code, [a.storage.handle as T.GpuBuffer, out.storage.handle as T.GpuBuffer], new T.Params(label).u32(0), GROUPS);
    run();
    await out.data(); // compiled and warm
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const prof = (await T.gpuProfile(() => { for (let i = 0; i < 5; i++) run(); })) ?? [];
      const row = prof.find((p) => p.op === label);
      if (row) best = Math.min(best, row.ms / row.dispatches);
    }
    return best;
  };
  try {
    const empty = await time('cost: empty', probeCode({ name: 'empty', decl: 'storage, read> A: array<f32>', body: () => '' }));
    const out: { name: string; ns: number | null }[] = [];
    for (const p of PROBES) {
      if (p.needsSubgroups && !hasSubgroups) {
        out.push({ name: p.name, ns: null });
        continue;
      }
      const ms = await time(`cost: ${p.name}`, probeCode(p));
      out.push({ name: p.name, ns: (Math.max(ms - empty, 0) * 1e6 * cores) / (GROUPS * WORKGROUP * COPIES) });
    }
    return out;
  } finally {
    a.dispose();
    out.dispose();
  }
}

export async function runCostsBench(opts: SuiteOptions): Promise<Row[]> {
  const costs = await measureCosts(opts.quick ? 2 : 5);
  console.log(`costs on ${T.webGpuAdapter()?.description ?? '?'} (${T.webGpuAdapter()?.isSoftware ? `${availableParallelism()} CPU cores` : 'a GPU: core-ns are not meaningful'})`);
  const fma = costs[0]!.ns;
  return costs.map((c) => ({
    case: c.name,
    unit: 'core-ns per invocation',
    ours: c.ns,
    // The ratio column printTable adds (ours/multiply-add) is each operation in multiply-adds.
    peers: { 'multiply-add': fma },
  }));
}
