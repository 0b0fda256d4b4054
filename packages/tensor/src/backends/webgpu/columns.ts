// The layout shared by kernels that reduce an [N, C] matrix over its rows, per column
// (batch norm, bias gradients): a workgroup owns CW adjacent columns and RW lanes per column
// walk down the rows, so the lanes of one row read CW consecutive values (runs of memory,
// not one scattered value per lane; one column per workgroup was 4x slower on llvmpipe),
// and the lanes' partial sums meet in workgroup memory.

export const CW = 8;
export const RW = 8;

/** Workgroups for `cols` columns. */
export const columnGroups = (cols: number): number => Math.ceil(cols / CW);

/** WGSL `name(v, cl, rl) -> type`: the sum of `v` over the RW lanes of column lane cl (every lane calls it). */
export function columnSumWgsl(name: string, type: 'f32' | 'vec4<f32>'): string {
  const buf = `${name}_partial`;
  return /* wgsl */ `
var<workgroup> ${buf}: array<${type}, ${CW * RW}>;
fn ${name}(v: ${type}, cl: u32, rl: u32) -> ${type} {
  ${buf}[rl * ${CW}u + cl] = v;
  workgroupBarrier();
  for (var s = ${RW / 2}u; s > 0u; s = s >> 1u) {
    if (rl < s) { ${buf}[rl * ${CW}u + cl] = ${buf}[rl * ${CW}u + cl] + ${buf}[(rl + s) * ${CW}u + cl]; }
    workgroupBarrier();
  }
  let total = ${buf}[cl];
  workgroupBarrier();
  return total;
}`;
}

/**
 * Kernel start with params n = pu(0) rows and cols = pu(1): lane (cl, rl) of the workgroup
 * owning columns c0..c0+CW-1. Lanes past the last column work on it too (barriers need
 * every lane) but must not write: check `live`.
 */
export const COLUMN_HEAD = `@compute @workgroup_size(${CW * RW})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = pu(0u);
  let cols = pu(1u);
  let cl = lid % ${CW}u;
  let rl = lid / ${CW}u;
  let c_raw = linear_workgroup_id(wid, nwg) * ${CW}u + cl;
  let live = c_raw < cols;
  let c = min(c_raw, cols - 1u);`;
