// Where eval, predict, import and export get their model: a model dir (as train writes it) or
// a torch-rechub checkpoint read against a CSV header; and config.json files, read checked.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, loadCheckpointEntries, readCheckpointEntries, type SafetensorsEntry } from '@aitm/nn/node';
import { buildModel, checkModelMemory, formatBytes, parseConfig, type ModelConfig } from '../config.js';
import { checkInputFile, fileKind, fsFailure } from '../files.js';
import { inferConfig, type ImportOptions } from '../import.js';
import { csvHeader } from './data.js';

/**
 * Reads and validates a config.json, naming the file in every error. `overrides` (e.g. the
 * --alpha flag) replace the file's keys before validation, so they are checked as the file is.
 */
export function readConfigFile(file: string, overrides: { alpha?: number } = {}): ModelConfig {
  checkInputFile(file, 'config');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fsFailure(e, 'read config', file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const changed = overrides.alpha !== undefined && typeof raw === 'object' && raw !== null && !Array.isArray(raw);
  try {
    return parseConfig(changed ? { ...(raw as Record<string, unknown>), alpha: overrides.alpha } : raw);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/**
 * The most memory a command lets a model take to train (parameters, gradients and Adam's
 * moments): `gib` GiB where given (--max-memory), else half of this machine's memory.
 */
export function memoryLimitOf(gib?: number): number {
  if (gib !== undefined) {
    if (!(Number.isFinite(gib) && gib > 0)) throw new Error(`--max-memory: expected a positive number of GiB, got ${gib}`);
    return gib * 2 ** 30;
  }
  return Math.floor(totalmem() / 2);
}

/** What a user can do about a model over the memory limit, for checkModelMemory's message. */
export function memoryHint(limit: number, what: string): string {
  return `${what}, or raise the limit (${formatBytes(limit)}: ${limit === memoryLimitOf() ? "half of this machine's memory" : 'from --max-memory'}) with --max-memory GIB if the machine has the memory`;
}

/** A saved model directory: its config and the model with its weights loaded; `memoryLimit` in bytes (default memoryLimitOf()). */
export async function loadModelDir(dir: string, memoryLimit = memoryLimitOf()): Promise<{ config: ModelConfig; model: ReturnType<typeof buildModel> }> {
  const cfgPath = join(dir, 'config.json');
  const ckpt = join(dir, 'model.safetensors');
  checkModelDir(dir);
  const config = readConfigFile(cfgPath);
  checkModelMemory(config, memoryLimit, memoryHint(memoryLimit, `${cfgPath} describes this model`));
  const model = buildModel(config, { memoryLimit });
  try {
    await loadCheckpoint(model, ckpt, { strict: true });
  } catch (e) {
    throw new Error(`model dir ${dir}: model.safetensors does not match config.json: ${(e as Error).message}`);
  }
  model.eval();
  return { config, model };
}

/** Throws unless `dir` holds config.json and model.safetensors as regular files, naming what is wrong. */
function checkModelDir(dir: string): void {
  if (!existsSync(dir)) throw new Error(`--model-dir ${dir}: not found`);
  const st = statSync(dir);
  if (!st.isDirectory()) throw new Error(`--model-dir ${dir}: is ${fileKind(st)}, not a model folder (config.json and model.safetensors)`);
  for (const f of ['config.json', 'model.safetensors']) {
    if (!existsSync(join(dir, f))) throw new Error(`model dir ${dir}: no ${f}`);
    checkInputFile(join(dir, f), 'model dir file');
  }
}

/** The files a model source reads (a model dir's config.json and model.safetensors, or the checkpoint). */
export function modelFiles(source: ModelSource): string[] {
  return 'modelDir' in source ? [join(source.modelDir, 'config.json'), join(source.modelDir, 'model.safetensors')] : [source.checkpoint];
}

/** What `aitm import` found: the config, the checkpoint's tensors, and what it inferred and assumed. */
export interface ImportResult {
  config: ModelConfig;
  entries: SafetensorsEntry[];
  summary: string[];
}

/** Reads a checkpoint file and infers its config against a CSV header (for `import` and `--checkpoint`). */
export async function importCheckpoint(checkpoint: string, header: readonly string[], opts: ImportOptions = {}): Promise<ImportResult> {
  const entries = await readCheckpointEntries(checkpoint);
  return { ...inferConfig(entries, header, opts), entries };
}

/** Where a model comes from: a model dir, or a torch-rechub checkpoint read against a CSV header. */
export type ModelSource = { modelDir: string } | ({ checkpoint: string } & ImportOptions);

/**
 * The model of `source` in eval mode, and its config; `data` is the CSV a checkpoint's dense
 * columns are read from; `memoryLimit` in bytes (default memoryLimitOf()).
 */
export async function loadModel(
  source: ModelSource,
  data: string,
  log: (l: string) => void = () => {},
  memoryLimit = memoryLimitOf(),
): Promise<{ config: ModelConfig; model: ReturnType<typeof buildModel> }> {
  if ('modelDir' in source) return loadModelDir(source.modelDir, memoryLimit);
  checkInputFile(source.checkpoint, '--checkpoint');
  checkInputFile(data, '--data');
  const { config, entries, summary } = await importCheckpoint(source.checkpoint, csvHeader(data), source);
  for (const line of summary) log(line);
  checkModelMemory(config, memoryLimit, memoryHint(memoryLimit, `the checkpoint ${source.checkpoint} holds this model`));
  const model = buildModel(config, { memoryLimit });
  loadCheckpointEntries(model, entries, source.checkpoint, { strict: true });
  model.eval();
  return { config, model };
}
