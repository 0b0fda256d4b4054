#!/usr/bin/env node
// The `aitm` command line: argument parsing and usage text; the work is in ./commands/.

import { parseArgs } from 'node:util';
import { enableRelaxedSimd, type BackendName } from '@aitm/tensor';
import { MODEL_NAMES, type ModelName } from './config.js';
import { COMPARE_DEFAULTS, compareCommand } from './commands/compare.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import type { ModelSource } from './commands/model-source.js';
import { predictCommand } from './commands/predict.js';
import { trainCommand } from './commands/train.js';
import type { ImportOptions } from './import.js';
import { isHelp, parseNumber as num } from './cli-args.js';
import { WORLD_NAMES, worldPreset, type WorldName } from './data/builtin.js';

const USAGE = `usage:
  aitm train [--model NAME] [--data synthetic|FILE] [--val FILE] [--test FILE] [--config FILE]
             [--epochs N] [--batch-size B] [--lr X] [--weight-decay X] [--alpha X] [--seed S]
             [--backend webgpu|wasm|cpu] [--out DIR] [--overwrite] [--rows N] [--strict-ids] [--max-vocab N] [--window-rows N] [--quiet]
             [--world NAME] [--nondeterministic]
  aitm compare [--data synthetic|FILE] [--val FILE] [--test FILE] [--models A,B,..] [--seeds N]
               [--rows N] [--epochs N] [--batch-size B] [--lr X] [--backend webgpu|wasm|cpu] [--out DIR]
               [--world NAME] [--nondeterministic]
  aitm eval (--model-dir DIR | --checkpoint FILE [IMPORT]) --data FILE [--backend webgpu|wasm|cpu]
  aitm predict (--model-dir DIR | --checkpoint FILE [IMPORT]) --data FILE --out FILE [--overwrite] [--backend webgpu|wasm|cpu]
  aitm import --checkpoint FILE --data CSV [IMPORT] --out DIR [--overwrite]
  aitm export (--model-dir DIR | --checkpoint FILE --data CSV [IMPORT]) --onnx FILE [--overwrite]
    IMPORT: [--labels a,b,..] [--dense c1,c2,..] [--model NAME]
  every command: [--max-memory GIB]

Outputs never replace an input of the same command (the data, the config, the model's files),
and predict --out and export --onnx refuse an existing file unless --overwrite. Files are
written whole or not at all; on SIGINT/SIGTERM the temporary files are removed (exit 130/143).
Inputs must be regular files (a directory, device or FIFO is refused).

A model that would need more than --max-memory GiB to train (parameters, gradients and
Adam's two moments, 4 bytes each; default half of this machine's memory) is refused before
it is allocated, naming its largest embedding tables.

train with no options trains AITM on the built-in synthetic data and prints the test AUC of
each task beside the oracle AUC (the AUC of the true probabilities).

--model picks the architecture when there is no --config (whose "model" key decides):
${MODEL_NAMES.join(', ')} (default aitm).
import reads a torch-rechub state dict (torch.save .pth, or safetensors) and writes a model dir:
the model kind, features, dims and BatchNorm come from its keys and shapes, dense features from
the CSV header (columns that are neither labels nor sparse, in header order, unless --dense),
labels from --labels (default click,purchase). torch-rechub's order must be repeated: its
Ali-CCP example orders the labels cvr, ctr. eval and predict take --checkpoint the same way.

export writes the model's eval-mode forward as ONNX (opset 17, dynamic batch): one input per
feature, named as the feature (int64 [batch] ids, float32 [batch] dense values), and the
output probs, float32 [batch, tasks] in label order (every model kind train makes).

--alpha (the label constraint) applies to aitm and aitm-autoint only; the other models train
on the plain sum of the task BCEs (ESMM: of pCTR vs click and pCTCVR vs purchase).

Training is reproducible by default: the same seed and options give the same model.safetensors
bytes on every run, on every backend (the WebGPU scatter-adds sum in index order).
--nondeterministic takes the WebGPU atomic scatter-adds instead (their order of additions, and
so the last bits of the weights, vary run to run).

A run folder (--out) is written whole or not at all: into DIR.staging-* renamed into place at
the end, under a lock (DIR.lock); a DIR that already holds files is replaced only with --overwrite.

Ids at or beyond a sparse feature's vocabulary are read as slot 0 and counted per column (on
stderr, and in train's report.json); --strict-ids (train, eval, predict) makes them an error
naming the file, line, column and value. Without a config, a table has max id + 1 rows; one
over 100000 rows is named on stderr, and --max-vocab N caps every table at N rows.

CSV files larger than memory: train indexes each file in one pass, then reads a file of more
than --window-rows rows (default 1048576) block by block every epoch instead of holding it,
shuffled by windows of that many rows (blocks in a seeded random order, rows within a window
in a seeded random permutation; val and test split off by a seeded hash of the row number when
not given); a smaller file is read whole and shuffled whole. eval and predict read block by
block, and predict writes each block's predictions before reading the next.

compare trains every model (or --models) on the same data, splits and initialisation seeds for
seeds 1..N, each run to convergence (early stopping on validation, at most --epochs), and
prints per-task test AUC and logloss (mean ± standard error over seeds), each model's paired
difference from aitm (mean ± SE, seeds won; within noise when |diff| < 2 SE), the seeds a
0.005 difference needs (n = ceil((2 * 1.96 * sd / 0.005)^2), sd of the per-seed differences),
the oracle AUC on synthetic data, parameters and samples/s; it writes DIR/compare.json and
DIR/compare.md. Defaults: ${COMPARE_DEFAULTS.seeds} seeds, ${COMPARE_DEFAULTS.rows} synthetic training rows, at most ${COMPARE_DEFAULTS.epochs} epochs,
batch size ${COMPARE_DEFAULTS.batchSize}, lr ${COMPARE_DEFAULTS.lr}. On a world of more than 2 tasks esmm (2 tasks only) is skipped, saying so.

On synthetic data, train and compare take a named world and changes to it:
  --world NAME       ${WORLD_NAMES.join(', ')} (default: default, the 2-step click -> purchase
                     world); funnelN is an N-step funnel (click -> .. -> repurchase), each
                     step possible only after the previous, with its own base rate and share
                     of the previous step's logit
  --dependence X     share of the purchase logit that is the click logit (default 0.8)
  --click-base X     click rate over impressions (default 0.2)
  --purchase-base X  purchase rate after a click (default 0.3)`;

function backendOf(v: string | undefined): BackendName | undefined {
  if (v === undefined) return undefined;
  if (v !== 'cpu' && v !== 'webgpu' && v !== 'wasm') throw new Error(`--backend: expected webgpu, wasm or cpu, got '${v}'`);
  return v;
}

function modelOf(v: string | undefined): ModelName | undefined {
  if (v === undefined) return undefined;
  if (!MODEL_NAMES.includes(v as ModelName)) throw new Error(`--model: expected one of ${MODEL_NAMES.join(', ')}, got '${v}'`);
  return v as ModelName;
}

const list = (v: string | undefined): string[] | undefined => v?.split(',').map((x) => x.trim());

function importOptions(o: { labels?: string; dense?: string; model?: string }): ImportOptions {
  const labels = list(o.labels);
  const dense = list(o.dense);
  const model = modelOf(o.model);
  return { ...(labels && { labels }), ...(dense && { dense }), ...(model && { model }) };
}

/** --model-dir, or --checkpoint with the import flags (exactly one of the two). */
function sourceOf(o: { 'model-dir'?: string; checkpoint?: string; labels?: string; dense?: string; model?: string }): ModelSource {
  if (o['model-dir'] !== undefined && o.checkpoint !== undefined) throw new Error('--model-dir and --checkpoint conflict: give one');
  if (o.checkpoint !== undefined) return { checkpoint: o.checkpoint, ...importOptions(o) };
  return { modelDir: need('model-dir', o['model-dir']) };
}

function need(name: string, v: string | undefined): string {
  if (v === undefined) throw new Error(`--${name} is required\n\n${USAGE}`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  if (isHelp(argv)) {
    console.log(USAGE);
    return;
  }
  // Fused multiply-adds in the wasm kernels: on Node 20 relaxed SIMD needs a V8 flag, which an
  // application (not the library) may set for its own process (Node 22 has it by default).
  await enableRelaxedSimd();
  const [command, ...rest] = argv;
  const { values: o } = parseArgs({
    args: rest,
    options: {
      data: { type: 'string' },
      val: { type: 'string' },
      test: { type: 'string' },
      config: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      'weight-decay': { type: 'string' },
      alpha: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
      rows: { type: 'string' },
      'model-dir': { type: 'string' },
      checkpoint: { type: 'string' },
      onnx: { type: 'string' },
      labels: { type: 'string' },
      dense: { type: 'string' },
      model: { type: 'string' },
      models: { type: 'string' },
      seeds: { type: 'string' },
      dependence: { type: 'string' },
      world: { type: 'string' },
      'click-base': { type: 'string' },
      'purchase-base': { type: 'string' },
      quiet: { type: 'boolean' },
      'strict-ids': { type: 'boolean' },
      nondeterministic: { type: 'boolean' },
      overwrite: { type: 'boolean' },
      'max-vocab': { type: 'string' },
      'window-rows': { type: 'string' },
      'max-memory': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (o.help || command === undefined || command === 'help') {
    console.log(USAGE);
    return;
  }
  const backend = backendOf(o.backend);
  const maxMemory = num('max-memory', o['max-memory']);
  const memory = maxMemory === undefined ? {} : { maxMemory };
  const overwrite = o.overwrite ? { overwrite: true } : {};
  // Changes to the built-in synthetic world (train and compare on synthetic data).
  const world = Object.fromEntries(
    Object.entries({
      dependence: num('dependence', o.dependence),
      clickBase: num('click-base', o['click-base']),
      purchaseBase: num('purchase-base', o['purchase-base']),
    }).filter(([, v]) => v !== undefined),
  );
  const synthetic = Object.keys(world).length > 0 ? { synthetic: world } : {};
  if (o.world !== undefined) worldPreset(o.world); // refuses an unknown name, listing the known ones
  const preset = o.world !== undefined ? { world: o.world as WorldName } : {};
  switch (command) {
    case 'train': {
      const model = modelOf(o.model);
      if (model !== undefined && o.config !== undefined) throw new Error('--model and --config conflict: the config file\'s "model" key names the model');
      const opts = {
        ...(model !== undefined && { model }),
        ...(o.data !== undefined && { data: o.data }),
        ...(o.val !== undefined && { val: o.val }),
        ...(o.test !== undefined && { test: o.test }),
        ...(o.config !== undefined && { config: o.config }),
        ...(o.out !== undefined && { out: o.out }),
        ...(backend !== undefined && { backend }),
        ...(o.quiet !== undefined && { quiet: o.quiet }),
        ...(o['strict-ids'] && { strictIds: true }),
        ...(o.overwrite && { overwrite: true }),
        ...(o.nondeterministic && { nondeterministic: true }),
      };
      const numbers = {
        epochs: num('epochs', o.epochs),
        batchSize: num('batch-size', o['batch-size']),
        lr: num('lr', o.lr),
        weightDecay: num('weight-decay', o['weight-decay']),
        alpha: num('alpha', o.alpha),
        seed: num('seed', o.seed),
        syntheticRows: num('rows', o.rows),
        maxVocab: num('max-vocab', o['max-vocab']),
        windowRows: num('window-rows', o['window-rows']),
        maxMemory,
      };
      const defined = Object.fromEntries(Object.entries(numbers).filter(([, v]) => v !== undefined));
      await trainCommand({ ...opts, ...defined, ...synthetic, ...preset });
      return;
    }
    case 'compare': {
      const numbers = {
        seeds: num('seeds', o.seeds),
        rows: num('rows', o.rows),
        epochs: num('epochs', o.epochs),
        batchSize: num('batch-size', o['batch-size']),
        lr: num('lr', o.lr),
      };
      const defined = Object.fromEntries(Object.entries(numbers).filter(([, v]) => v !== undefined));
      await compareCommand({
        ...(o.data !== undefined && { data: o.data }),
        ...(o.val !== undefined && { val: o.val }),
        ...(o.test !== undefined && { test: o.test }),
        ...(o.out !== undefined && { out: o.out }),
        ...(o.models !== undefined && { models: o.models.split(',').map((m) => modelOf(m.trim())!) }),
        ...(backend !== undefined && { backend }),
        ...(o.nondeterministic && { nondeterministic: true }),
        ...defined,
        ...synthetic,
        ...preset,
        ...memory,
      });
      return;
    }
    case 'eval':
      await evalCommand({ ...sourceOf(o), data: need('data', o.data), ...(backend && { backend }), ...(o['strict-ids'] && { strictIds: true }), ...memory });
      return;
    case 'predict':
      await predictCommand({ ...sourceOf(o), data: need('data', o.data), out: need('out', o.out), ...(backend && { backend }), ...(o['strict-ids'] && { strictIds: true }), ...overwrite, ...memory });
      return;
    case 'export':
      await exportCommand({ ...sourceOf(o), onnx: need('onnx', o.onnx), ...(o.data !== undefined && { data: o.data }), ...overwrite, ...memory });
      return;
    case 'import':
      await importCommand({ checkpoint: need('checkpoint', o.checkpoint), ...importOptions(o), data: need('data', o.data), out: need('out', o.out), ...overwrite, ...memory });
      return;
    default:
      throw new Error(`unknown command '${command}'\n\n${USAGE}`);
  }
}

/** An error as the CLI prints it; a file-system error that names no path still names its operation. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const err = e as NodeJS.ErrnoException;
  // Node's file-system errors: "ENOSPC: no space left on device, write" names no path.
  if (typeof err.code === 'string' && typeof err.syscall === 'string' && err.path === undefined) return `${err.syscall} failed (path unknown): ${err.message}`;
  return e.message;
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`aitm: ${describe(e)}`);
  process.exitCode = 1;
});
