// @aitm/nn/node: everything in @aitm/nn plus reading and writing checkpoint files, which
// needs Node's file system. Writes are atomic (a temporary file renamed over the target).

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fromTypedArray, type BackendName, type Tensor } from '@aitm/tensor';
import type { LoadStateDictResult, Module } from './module.js';
import {
  checkpointBytes,
  checkpointEntries,
  loadCheckpointEntries,
  parseSafetensors,
  safetensorsBytes,
  TENSOR_DTYPE_OF,
  type LoadCheckpointOptions,
  type SafetensorsEntry,
  type SafetensorsFile,
  type SaveSafetensorsOptions,
} from './safetensors.js';

export * from './index.js';

const readBytes = async (file: string): Promise<Uint8Array> => {
  const b = await fsp.readFile(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

/**
 * Reads a safetensors file into host arrays (see `parseSafetensors`), keeping each entry's
 * file dtype and the metadata: what an exact rewrite needs.
 */
export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  return parseSafetensors(await readBytes(file), file);
}

/** Options of `loadSafetensors`. */
export interface LoadSafetensorsOptions {
  /** Where the tensors are created (default: the current backend). */
  backend?: BackendName;
}

/**
 * Loads every tensor of a safetensors file, in header order: F32 -> float32, F64 -> float64,
 * I32 and I64 -> int32 (I64 values outside int32 are an error).
 *
 * @example
 * const sd = await loadSafetensors('model.safetensors'); // { 'mlp.0.weight': Tensor, ... }
 */
export async function loadSafetensors(file: string, opts: LoadSafetensorsOptions = {}): Promise<Record<string, Tensor>> {
  const { entries } = await readSafetensors(file);
  const out: Record<string, Tensor> = {};
  const where = opts.backend ? { backend: opts.backend } : {};
  for (const e of entries) out[e.name] = fromTypedArray(e.data, e.shape, TENSOR_DTYPE_OF[e.dtype], where);
  return out;
}

async function writeAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const unique = `${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const tmp = path.join(dir, `.${path.basename(file)}.${unique}.tmp`);
  try {
    const handle = await fsp.open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes tensors to a safetensors file atomically: the bytes go to a temporary file in the
 * same directory, which is then renamed over `file`, so a failure at any point leaves an
 * existing `file` untouched (and the temporary file is removed). Values are read with
 * `await t.data()`, so tensors may live on any backend.
 *
 * @example
 * await saveSafetensors('out.safetensors', { w: weight }, { format: 'pt' });
 */
export async function saveSafetensors(
  file: string,
  tensors: Readonly<Record<string, Tensor>>,
  metadata?: Readonly<Record<string, string>> | null,
  opts: SaveSafetensorsOptions = {},
): Promise<void> {
  await writeAtomic(file, await safetensorsBytes(tensors, metadata, opts));
}

/**
 * Saves a module's state dict (PyTorch names and order; num_batches_tracked as I64) to a
 * safetensors file, atomically. Metadata defaults to { format: 'pt' }.
 *
 * @example
 * await saveCheckpoint(model, 'ckpt/model.safetensors');
 */
export async function saveCheckpoint(module: Module, file: string, metadata: Readonly<Record<string, string>> = { format: 'pt' }): Promise<void> {
  await writeAtomic(file, await checkpointBytes(module, metadata));
}

/**
 * The tensors of a checkpoint file, in file order: safetensors, or a PyTorch `torch.save`
 * of a state dict (told apart by their first bytes).
 *
 * @example
 * const entries = await readCheckpointEntries('model_ctr_2022.pth');
 */
export async function readCheckpointEntries(file: string): Promise<SafetensorsEntry[]> {
  return checkpointEntries(await readBytes(file), file);
}

/**
 * Loads a checkpoint file (safetensors, or PyTorch's torch.save of a state dict) into a
 * module; see `loadCheckpointEntries` for the checks (names, shapes, and values: a NaN or a
 * negative running variance is refused unless `onProblem: 'warn'`). Nothing is assigned when it throws.
 *
 * @example
 * await loadCheckpoint(model, 'ckpt/model.safetensors');
 */
export async function loadCheckpoint(module: Module, file: string, opts: LoadCheckpointOptions = {}): Promise<LoadStateDictResult> {
  return loadCheckpointEntries(module, await readCheckpointEntries(file), file, opts);
}
