// Where eval, predict, import and export get their model: a model dir (as train writes it) or
// a torch-rechub checkpoint read against a CSV header; and config.json files, read checked.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint, loadCheckpointEntries, readCheckpointEntries, type SafetensorsEntry } from '@aitm/nn/node';
import { buildModel, parseConfig, type ModelConfig } from '../config.js';
import { inferConfig, type ImportOptions } from '../import.js';
import { csvHeader } from './data.js';

/**
 * Reads and validates a config.json, naming the file in every error. `overrides` (e.g. the
 * --alpha flag) replace the file's keys before validation, so they are checked as the file is.
 */
export function readConfigFile(file: string, overrides: { alpha?: number } = {}): ModelConfig {
  if (!existsSync(file)) throw new Error(`${file}: no such config file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
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

/** A saved model directory: its config and the model with its weights loaded. */
export async function loadModelDir(dir: string): Promise<{ config: ModelConfig; model: ReturnType<typeof buildModel> }> {
  const cfgPath = join(dir, 'config.json');
  const ckpt = join(dir, 'model.safetensors');
  if (!existsSync(cfgPath)) throw new Error(`model dir ${dir}: no config.json`);
  if (!existsSync(ckpt)) throw new Error(`model dir ${dir}: no model.safetensors`);
  const config = readConfigFile(cfgPath);
  const model = buildModel(config);
  try {
    await loadCheckpoint(model, ckpt, { strict: true });
  } catch (e) {
    throw new Error(`model dir ${dir}: model.safetensors does not match config.json: ${(e as Error).message}`);
  }
  model.eval();
  return { config, model };
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

/** The model of `source` in eval mode, and its config; `data` is the CSV a checkpoint's dense columns are read from. */
export async function loadModel(source: ModelSource, data: string, log: (l: string) => void = () => {}): Promise<{ config: ModelConfig; model: ReturnType<typeof buildModel> }> {
  if ('modelDir' in source) return loadModelDir(source.modelDir);
  if (!existsSync(data)) throw new Error(`data: file not found: ${data}`);
  const { config, entries, summary } = await importCheckpoint(source.checkpoint, csvHeader(data), source);
  for (const line of summary) log(line);
  const model = buildModel(config);
  loadCheckpointEntries(model, entries, source.checkpoint, { strict: true });
  model.eval();
  return { config, model };
}
