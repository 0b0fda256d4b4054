// `aitm import`: a model dir (config.json + model.safetensors) from a torch-rechub state dict
// (a `torch.save` .pth or safetensors), by reading the architecture off the keys and shapes:
// the model kind from the key layout, sparse features from the embedding tables (in the state
// dict's order, which is torch-rechub's feature order), MLP dims and BatchNorm from the
// Linear and BatchNorm keys, the task count from the towers, and the dense features from the
// CSV header (the columns that are neither labels nor sparse, in header order unless given).
// What a state dict does not record (activation, dropout) takes torch-rechub's defaults, and
// the summary says so. Every inference that fails names the key and the shapes.

import type { SafetensorsEntry } from '@aitm/nn';
import type { FeatureSpecConfig } from './data/schema.js';
import { DEFAULT_LABELS } from './data/schema.js';
import { parseConfig, type MlpConfig, type ModelConfig, type ModelName } from './config.js';

export type Shapes = ReadonlyMap<string, readonly number[]>;

/** Options of `inferConfig` (what a checkpoint does not record). */
export interface ImportOptions {
  /** Label columns in task order (default click,purchase for two tasks). */
  labels?: readonly string[];
  /** Dense feature columns in the model's order (default: the header's other columns, in header order). */
  dense?: readonly string[];
  /** The model kind, when the key layout should be checked against it. */
  model?: ModelName;
}

const fail = (what: string): never => {
  throw new Error(`aitm import: ${what}`);
};

const fmt = (s: readonly number[] | undefined): string => (s === undefined ? 'missing' : `[${s.join(', ')}]`);

/** How many `${prefix}.<i>.` children exist (i = 0, 1, ... without gaps). */
function countChildren(sd: Shapes, prefix: string): number {
  let n = 0;
  while ([...sd.keys()].some((k) => k.startsWith(`${prefix}.${n}.`))) n++;
  return n;
}

/**
 * A torch-rechub MLP at `prefix` (`<prefix>.mlp.<j>`): Linear, BatchNorm1d, activation,
 * Dropout per hidden layer (Linear at 4k), or without BatchNorm (Linear at 3k), and an
 * optional output Linear(*, 1) after them.
 */
export function mlpAt(sd: Shapes, prefix: string, outputLayer: boolean): { mlp: MlpConfig; inputDim: number } {
  const linears: { j: number; shape: readonly number[] }[] = [];
  let batchNorm = false;
  for (const [k, shape] of sd) {
    const m = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.mlp\\.(\\d+)\\.(weight|running_mean)$`).exec(k);
    if (m === null) continue;
    if (m[2] === 'running_mean') batchNorm = true;
    else if (shape.length === 2) linears.push({ j: Number(m[1]), shape });
  }
  if (linears.length === 0) fail(`no Linear under '${prefix}.mlp' (expected keys like ${prefix}.mlp.0.weight)`);
  linears.sort((a, b) => a.j - b.j);
  const step = batchNorm ? 4 : 3;
  const hidden = outputLayer ? linears.slice(0, -1) : linears;
  hidden.forEach(({ j }, k) => {
    if (j !== k * step) fail(`'${prefix}.mlp.${j}.weight' is Linear ${k}, expected at index ${k * step} (${batchNorm ? 'Linear, BatchNorm1d, activation, Dropout' : 'Linear, activation, Dropout'} per layer)`);
    if (batchNorm && !sd.has(`${prefix}.mlp.${j + 1}.running_mean`)) fail(`'${prefix}.mlp.${j + 1}.running_mean' is missing: BatchNorm in some layers of ${prefix} but not all`);
  });
  if (outputLayer) {
    const out = linears.at(-1)!;
    if (out.j !== hidden.length * step || out.shape[0] !== 1) {
      fail(`'${prefix}.mlp.${out.j}.weight' ${fmt(out.shape)} should be the output Linear(*, 1) at index ${hidden.length * step}`);
    }
  }
  for (let k = 1; k < linears.length; k++) {
    if (linears[k]!.shape[1] !== linears[k - 1]!.shape[0]) {
      fail(`'${prefix}.mlp.${linears[k]!.j}.weight' ${fmt(linears[k]!.shape)} does not take the ${linears[k - 1]!.shape[0]} outputs of '${prefix}.mlp.${linears[k - 1]!.j}.weight'`);
    }
  }
  return { mlp: { dims: hidden.map((l) => l.shape[0]!), batchNorm }, inputDim: linears[0]!.shape[1]! };
}

/** The model kind the keys describe (torch-rechub's attribute names). */
function kindOf(sd: Shapes): ModelName {
  const has = (p: string) => [...sd.keys()].some((k) => k.startsWith(p));
  if (has('aits.') || has('info_gates.')) return 'aitm';
  if (has('cgc_layers.')) return 'ple';
  if (has('experts.') && has('gates.')) return 'mmoe';
  if (has('bottom_mlp.')) return 'sharedbottom';
  if (has('tower_ctr.') && has('tower_cvr.')) return 'esmm';
  return fail(`cannot tell the model from the keys (${[...sd.keys()].slice(0, 4).join(', ')}, ...): expected torch-rechub's AITM (aits.*), PLE (cgc_layers.*), MMOE (experts.*, gates.*), SharedBottom (bottom_mlp.*) or ESMM (tower_ctr.*, tower_cvr.*)`);
}

/**
 * Infers a model config from a state dict's shapes and a CSV header (see the file comment).
 *
 * @example
 * const { config, summary } = inferConfig(entries, ['click', 'purchase', '205', 'D508'], {});
 */
export function inferConfig(entries: readonly SafetensorsEntry[], header: readonly string[], opts: ImportOptions = {}): { config: ModelConfig; summary: string[] } {
  const sd: Shapes = new Map(entries.map((e) => [e.name, e.shape]));
  const model = kindOf(sd);
  if (opts.model !== undefined && opts.model !== model) fail(`--model ${opts.model}, but the keys are those of ${model}`);
  const summary = [`model: ${model} (from the key layout)`];

  // Sparse features: the embedding tables, in the state dict's (torch-rechub's feature) order.
  const sparse: FeatureSpecConfig[] = [];
  for (const [k, shape] of sd) {
    const m = /^embedding\.embed_dict\.(.+)\.weight$/.exec(k);
    if (m === null) continue;
    if (shape.length !== 2) fail(`'${k}' is ${fmt(shape)}, expected an embedding table [vocab, dim]`);
    if (!header.includes(m[1]!)) fail(`sparse feature '${m[1]}' (from '${k}') is not a column of the CSV header [${header.join(',')}]`);
    sparse.push({ name: m[1]!, type: 'sparse', vocabSize: shape[0]!, embedDim: shape[1]! });
  }

  const towerPrefix = model === 'esmm' ? null : 'towers';
  const nTask = model === 'esmm' ? 2 : countChildren(sd, 'towers');
  if (nTask < 2) fail(`found ${nTask} tower(s) under 'towers.<i>': a multi-task model has at least 2`);
  const labels = [...(opts.labels ?? (nTask === 2 ? DEFAULT_LABELS : fail(`the checkpoint has ${nTask} tasks: name their label columns in order with --labels`)))];
  if (labels.length !== nTask) fail(`--labels names ${labels.length} columns but the checkpoint has ${nTask} towers`);
  const twice = labels.find((l, i) => labels.indexOf(l) !== i);
  if (twice !== undefined) fail(`--labels names '${twice}' twice: the model would have two identical tasks`);
  for (const f of sparse) {
    if (labels.includes(f.name)) fail(`the embedding 'embedding.embed_dict.${f.name}.weight' is named like the label column '${f.name}': a model must not read its own target as an input (check --labels)`);
  }
  const towers = towerPrefix ? labels.map((_, t) => mlpAt(sd, `towers.${t}`, true).mlp) : [mlpAt(sd, 'tower_ctr', true).mlp, mlpAt(sd, 'tower_cvr', true).mlp];

  // The first layer's input width tells how many dense values follow the embeddings.
  let body: Record<string, unknown>;
  let inputDim: number;
  let inputKey: string;
  switch (model) {
    case 'aitm': {
      const b = mlpAt(sd, 'bottoms.0', false);
      for (let t = 1; t < nTask; t++) mlpAt(sd, `bottoms.${t}`, false);
      body = { bottom: b.mlp };
      inputDim = b.inputDim;
      inputKey = 'bottoms.0.mlp.0.weight';
      break;
    }
    case 'sharedbottom': {
      const b = mlpAt(sd, 'bottom_mlp', false);
      body = { bottom: b.mlp };
      inputDim = b.inputDim;
      inputKey = 'bottom_mlp.mlp.0.weight';
      break;
    }
    case 'mmoe': {
      const nExpert = countChildren(sd, 'experts');
      const e = mlpAt(sd, 'experts.0', false);
      body = { experts: { ...e.mlp, nExpert } };
      inputDim = e.inputDim;
      inputKey = 'experts.0.mlp.0.weight';
      break;
    }
    case 'ple': {
      const levels = countChildren(sd, 'cgc_layers');
      const nSpecificAll = countChildren(sd, 'cgc_layers.0.experts_specific');
      if (nSpecificAll % nTask !== 0) fail(`cgc_layers.0 has ${nSpecificAll} task-specific experts, not a multiple of the ${nTask} tasks`);
      const nShared = countChildren(sd, 'cgc_layers.0.experts_shared');
      const first = nSpecificAll > 0 ? 'cgc_layers.0.experts_specific.0' : 'cgc_layers.0.experts_shared.0';
      const e = mlpAt(sd, first, false);
      body = { experts: { ...e.mlp, nSpecific: nSpecificAll / nTask, nShared }, levels };
      inputDim = e.inputDim;
      inputKey = `${first}.mlp.0.weight`;
      break;
    }
    case 'esmm': {
      body = {};
      inputDim = sd.get('tower_ctr.mlp.0.weight')![1]!;
      inputKey = 'tower_ctr.mlp.0.weight';
      break;
    }
    default:
      return fail(`model ${model} cannot be imported`);
  }

  const embedWidth = sparse.reduce((a, f) => a + (f.type === 'sparse' ? f.embedDim : 0), 0);
  const nDense = inputDim - embedWidth;
  const taken = new Set([...labels, ...sparse.map((f) => f.name)]);
  const denseNames = opts.dense ? [...opts.dense] : header.filter((c) => !taken.has(c));
  for (const d of denseNames) {
    if (!header.includes(d)) fail(`dense feature '${d}' (from --dense) is not a column of the CSV header`);
    if (taken.has(d)) fail(`'${d}' cannot be dense: it is ${labels.includes(d) ? 'a label' : 'a sparse feature'}`);
  }
  if (denseNames.length !== nDense) {
    fail(
      `'${inputKey}' ${fmt(sd.get(inputKey))} takes ${inputDim} inputs: ${embedWidth} from the ${sparse.length} embeddings leaves ${nDense} dense, ` +
        `but ${opts.dense ? '--dense names' : 'the CSV header has'} ${denseNames.length} other column(s) [${denseNames.join(',')}]; pass the dense columns with --dense`,
    );
  }
  const features: FeatureSpecConfig[] = [...sparse, ...denseNames.map((name): FeatureSpecConfig => ({ name, type: 'dense' }))];
  const raw = {
    model,
    labels,
    features,
    towers,
    ...body,
    ...(model === 'aitm' ? { alpha: 0.6 } : {}),
    imported: {
      featureOrder: 'sparse: the state dict order (torch-rechub\'s feature list); dense: ' + (opts.dense ? 'as given by --dense' : 'the CSV header order'),
      labelOrder: opts.labels ? 'as given by --labels' : 'the default click,purchase',
    },
  };
  const config = parseConfig(raw);
  summary.push(
    `tasks: ${nTask}, labels in order: ${labels.join(', ')} (${raw.imported.labelOrder}; torch-rechub's Ali-CCP example orders them cvr, ctr: repeat the order it was trained with)`,
    `sparse features in order: ${sparse.map((f) => (f.type === 'sparse' ? `${f.name} [${f.vocabSize}x${f.embedDim}]` : '')).join(', ') || 'none'}`,
    `dense features in order: ${denseNames.join(', ') || 'none'} (${opts.dense ? 'from --dense' : 'the CSV header order'})`,
    `${describe(body)}towers ${towers.map((t) => `[${t.dims.join(',')}]`).join(' ')}; BatchNorm ${towers[0]!.batchNorm ? 'on' : 'off'}`,
    'assumed (a state dict does not record them): activation relu and dropout 0, torch-rechub\'s defaults' + (model === 'aitm' ? '; alpha 0.6 for further training' : ''),
  );
  return { config, summary };
}

function describe(body: Record<string, unknown>): string {
  const parts: string[] = [];
  if (body.bottom) parts.push(`bottom [${(body.bottom as MlpConfig).dims.join(',')}]`);
  if (body.experts) {
    const e = body.experts as MlpConfig & { nExpert?: number; nSpecific?: number; nShared?: number };
    parts.push(`experts [${e.dims.join(',')}]` + (e.nExpert !== undefined ? ` x${e.nExpert}` : ` (${e.nSpecific} specific per task, ${e.nShared} shared)`));
  }
  if (body.levels !== undefined) parts.push(`${body.levels} level(s)`);
  return parts.length ? `${parts.join(', ')}; ` : '';
}
