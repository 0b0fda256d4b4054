// The wasm backend's row gathers and scatter-adds (embedding lookups and their gradients) and
// the block copies of concat and split. Copies move bytes, so they serve every dtype; the
// scatter-adds are float32 (or int32, wrapping as the CPU's Int32Array stores do) and add
// the rows in index order, so every output element is the same sum, in the same order, as
// the CPU reference's. A kernel that reads ids checks them first and, on an id out of range,
// writes nothing and returns its position (the host raises the CPU reference's error);
// otherwise it returns -1.

/** Copies `bytes` bytes (a multiple of the element size) from src to dst, which do not overlap. */
// @ts-ignore: decorator
@inline function copyBytes(dst: usize, src: usize, bytes: usize): void {
  if (bytes >= 256) {
    memory.copy(dst, src, bytes);
    return;
  }
  let o: usize = 0;
  for (; o + 16 <= bytes; o += 16) v128.store(dst + o, v128.load(src + o));
  for (; o + 4 <= bytes; o += 4) store<u32>(dst + o, load<u32>(src + o));
  for (; o < bytes; o++) store<u8>(dst + o, load<u8>(src + o));
}

/** The first position in [i0, i1) whose int32 id (ids at `idx`) is outside [0, rows), or -1. */
export function firstBadId(idx: usize, rows: i32, i0: i32, i1: i32): i32 {
  for (let i = i0; i < i1; i++) {
    const r = load<i32>(idx + (<usize>i << 2));
    if (r < 0 || r >= rows) return i;
  }
  return -1;
}

/**
 * Rows [i0, i1) of a gather: out row i (`rowBytes` bytes, at out + i outStride) is table row
 * ids[i] (at table + ids[i] rowBytes). With outStride = rowBytes this is `gather`; with the
 * concatenated row's bytes and out offset to a field's columns, one field of gatherConcat.
 * Returns the first bad position (nothing written) or -1.
 */
export function gatherRows(table: usize, rows: i32, rowBytes: usize, idx: usize, out: usize, outStride: usize, i0: i32, i1: i32): i32 {
  const bad = firstBadId(idx, rows, i0, i1);
  if (bad >= 0) return bad;
  for (let i = i0; i < i1; i++) {
    const r = load<i32>(idx + (<usize>i << 2));
    copyBytes(out + <usize>i * outStride, table + <usize>r * rowBytes, rowBytes);
  }
  return -1;
}

/**
 * Columns [c0, c1) of a scatter-add: out [rows, cols] is zeroed there (when `zero`; else it is
 * added to as it is), then for each i of n in
 * order, out[ids[i], c] += src[i, col + c] where src rows are `srcStride` elements apart (the
 * source's own width for scatterAdd; the concatenated width, with col the field's first
 * column, for gatherConcat's gradient). int32 when isInt (wrapping), else float32. Returns the
 * first bad position (nothing written) or -1.
 */
export function scatterAddRows(src: usize, srcStride: i32, col: i32, idx: usize, n: i32, out: usize, rows: i32, cols: i32, isInt: bool, zero: bool, c0: i32, c1: i32): i32 {
  const bad = firstBadId(idx, rows, 0, n);
  if (bad >= 0) return bad;
  const rowBytes = <usize>cols << 2;
  const span = <usize>(c1 - c0) << 2;
  const first = <usize>c0 << 2;
  if (span == 0) return -1;
  if (zero) for (let r = 0; r < rows; r++) memory.fill(out + <usize>r * rowBytes + first, 0, span);
  const w = c1 - c0;
  const w4 = w & ~3;
  for (let i = 0; i < n; i++) {
    const r = load<i32>(idx + (<usize>i << 2));
    const s = src + ((<usize>i * <usize>srcStride + <usize>col) << 2) + first;
    const o = out + <usize>r * rowBytes + first;
    let j = 0;
    if (isInt) {
      for (; j < w4; j += 4) {
        const at = <usize>j << 2;
        v128.store(o + at, i32x4.add(v128.load(o + at), v128.load(s + at)));
      }
      for (; j < w; j++) {
        const at = <usize>j << 2;
        store<i32>(o + at, load<i32>(o + at) + load<i32>(s + at));
      }
    } else {
      for (; j < w4; j += 4) {
        const at = <usize>j << 2;
        v128.store(o + at, f32x4.add(v128.load(o + at), v128.load(s + at)));
      }
      for (; j < w; j++) {
        const at = <usize>j << 2;
        store<f32>(o + at, load<f32>(o + at) + load<f32>(s + at));
      }
    }
  }
  return -1;
}

/**
 * Blocks [p0, p1) of a strided block copy: `bytes` bytes from src + p srcStride to
 * dst + p dstStride. concat copies each input this way (one block per outer index), split
 * each piece of its input.
 */
export function copyBlocks(src: usize, srcStride: usize, dst: usize, dstStride: usize, bytes: usize, p0: i32, p1: i32): void {
  for (let p = p0; p < p1; p++) copyBytes(dst + <usize>p * dstStride, src + <usize>p * srcStride, bytes);
}
