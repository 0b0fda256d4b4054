// Flat storage: several tensors of one dtype and backend kept in ONE block of memory, each
// at its own offset, so a single kernel can update all of them (a multi-tensor optimizer
// step) where one kernel per tensor would be needed otherwise. Each member tensor becomes a
// zero-copy view of its slot; nothing else about it changes (shape, identity, modules).
//
// Slots start at multiples of 64 elements (256 bytes, the largest storage-buffer offset
// alignment WebGPU allows), so every slot can be bound by a kernel directly.

import { fmtShape } from '../shape.js';
import { Tensor, type Storage } from '../tensor.js';
import { zeros } from '../creation.js';
import { keep } from '../memory.js';
import type { DType } from '../dtype.js';
import type { BackendName } from '../backend.js';

/** Slot alignment in elements. */
export const FLAT_ALIGN = 64;

/** A view tensor on elements [offset, offset + size of shape) of `base`'s storage, outside autograd. */
export function storageView(base: Tensor, offset: number, shape: readonly number[]): Tensor {
  const size = shape.reduce((a, d) => a * d, 1);
  if (offset < 0 || offset + size > base.size) {
    throw new RangeError(`storageView: ${fmtShape(shape)} at element ${offset} does not fit in ${fmtShape(base.shape)}`);
  }
  return new Tensor(base.storage.slice(offset, size, base.dtype), shape, base.dtype);
}

/**
 * One block holding `members`' values at aligned offsets (`FlatBlock.pack`), or a block of
 * zeros laid out like another (`FlatBlock.zerosLike`), for per-member state such as Adam's
 * moments.
 *
 * @example
 * const block = FlatBlock.pack(params);  // params now live in block.flat
 * block.relink();                        // after someone assigned a member: copy it back in
 */
export class FlatBlock {
  /** The whole block, 1-D (padding between slots included). Owned by this object. */
  readonly flat: Tensor;
  readonly offsets: readonly number[];
  readonly shapes: readonly (readonly number[])[];
  readonly dtype: DType;
  readonly backendName: BackendName;
  /** The storage each member was pointed at (to notice when a member was assigned elsewhere). */
  private readonly linked: (Storage | null)[];
  /** Backend handles of the slots, for copies into them (they live as long as `flat`). */
  private readonly slotHandles: unknown[] = [];

  private constructor(
    private readonly members: readonly Tensor[] | null,
    shapes: readonly (readonly number[])[],
    dtype: DType,
    backend: BackendName,
  ) {
    const offsets: number[] = [];
    let total = 0;
    for (const s of shapes) {
      offsets.push(total);
      total += Math.ceil(s.reduce((a, d) => a * d, 1) / FLAT_ALIGN) * FLAT_ALIGN;
    }
    this.offsets = offsets;
    this.shapes = shapes;
    this.dtype = dtype;
    this.backendName = backend;
    // Zeros, so padding never holds NaN that a whole-block kernel would carry along.
    this.flat = keep(zeros([total], { dtype, backend }));
    this.linked = shapes.map(() => null);
  }

  /** Moves `tensors` (same dtype and backend, distinct) into one block; each becomes a view of its slot. */
  static pack(tensors: readonly Tensor[]): FlatBlock {
    if (tensors.length === 0) throw new Error('FlatBlock.pack: no tensors');
    const { dtype, backendName } = tensors[0]!;
    for (const t of tensors) {
      if (t.dtype !== dtype || t.backendName !== backendName) {
        throw new Error(`FlatBlock.pack: all tensors must share dtype and backend; got ${dtype} on ${backendName} and ${t.dtype} on ${t.backendName}`);
      }
    }
    if (new Set(tensors).size !== tensors.length) throw new Error('FlatBlock.pack: a tensor is listed twice');
    const block = new FlatBlock(tensors, tensors.map((t) => t.shape), dtype, backendName);
    block.relink();
    return block;
  }

  /** A zero block with `like`'s layout (no members: read its slots with `slot`). */
  static zerosLike(like: FlatBlock): FlatBlock {
    return new FlatBlock(null, like.shapes, like.dtype, like.backendName);
  }

  /** The number of slots. */
  get length(): number {
    return this.offsets.length;
  }

  /** A view tensor of slot i (the caller disposes it; the block stays alive while it exists). */
  slot(i: number): Tensor {
    return storageView(this.flat, this.offsets[i]!, this.shapes[i]!);
  }

  /** Copies `t`'s values into slot i (a copy command on the GPU, not a kernel). */
  copyIn(i: number, t: Tensor): void {
    const shape = this.shapes[i]!;
    if (t.size !== shape.reduce((a, d) => a * d, 1) || t.dtype !== this.dtype || t.backendName !== this.backendName) {
      throw new Error(`FlatBlock.copyIn: ${fmtShape(t.shape)} ${t.dtype} on ${t.backendName} does not fit slot ${i} ${fmtShape(shape)} ${this.dtype}`);
    }
    // Called for every gradient of every step: the slot's backend handle is made once.
    const b = t.backend;
    const dst = (this.slotHandles[i] ??= (b.view as (h: unknown, o: number, n: number, d: DType) => unknown)(this.flat.storage.handle, this.offsets[i]!, t.size, this.dtype));
    (b.copy as (s: unknown, d: unknown, n: number, dt: DType) => void)(t.storage.handle, dst, t.size, t.dtype);
    this.flat.storage.bumpVersion();
  }

  /**
   * Makes every member a view of its slot again. A member assigned new storage since
   * (`Tensor.assign` by a checkpoint load, say) has its values copied in first.
   * Returns how many members had to be relinked.
   */
  relink(): number {
    if (this.members === null) return 0;
    let n = 0;
    this.members.forEach((t, i) => {
      if (t.storage === this.linked[i]) return;
      this.copyIn(i, t);
      const view = this.slot(i);
      t.assign(view);
      this.linked[i] = view.storage;
      view.dispose();
      n++;
    });
    return n;
  }

  /** Frees the block (members that are still views keep their slot's memory alive). */
  dispose(): void {
    this.flat.dispose();
  }
}
