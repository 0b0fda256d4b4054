// The playground page: trains AITM on the built-in synthetic world with the same library code
// as `aitm train` in Node, on the page's GPU (navigator.gpu) or the CPU, with a progress bar,
// live learning curves, the attention histogram, test AUC beside the oracle AUC, samples/s
// and the adapter's name; downloads the model as model.safetensors + config.json (which
// `aitm predict --model-dir` in Node accepts); and runs the tensor README's example.
// Query parameters size a run (?rows=N&epochs=E&batch=B, and the world: &fields=F&vocab=V) and
// start it (&autorun=1); the form's fields are checked as the query is (./form.ts); when a
// run ends the page sets window.aitmResult (or window.aitmError), which the browser tests read.

import { disposeWebGpu, initBackend, matmul, mean, randn, sigmoid, tensor, wasmFlavour, webGpuAdapter, type BackendName } from '@aitm/tensor';
import { checkpointBytes } from '@aitm/nn';
import {
  attentionHistogram,
  attentionWeights,
  buildModel,
  defaultConfig,
  fit,
  learningCurves,
  metricsOf,
  predict,
  syntheticSplits,
  TRAIN_DEFAULTS,
  withVocab,
  type EpochRecord,
} from '@aitm/aitm';
import { positiveInteger, runSettings } from './form.js';

interface AitmResult {
  backend: BackendName;
  adapter: string;
  testAuc: number[];
  oracleAuc: number[];
  samplesPerSecond: number;
}

declare global {
  interface Window {
    aitmResult?: AitmResult;
    aitmError?: string;
  }
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const numberParam = (name: string, fallback: number): number => {
  const v = params.get(name);
  return v === null ? fallback : positiveInteger(`?${name}`, v);
};

let backend: BackendName | null = null;

/** ?backend=webgpu|wasm|cpu, or initBackend's choice (WebGPU on a hardware GPU, else wasm). */
function backendParam(): BackendName | undefined {
  const v = params.get('backend');
  if (v === null) return undefined;
  if (v !== 'webgpu' && v !== 'wasm' && v !== 'cpu') throw new Error(`?backend=${v}: expected webgpu, wasm or cpu`);
  return v;
}

async function device(): Promise<BackendName> {
  if (backend !== null) return backend;
  const asked = backendParam();
  backend = await initBackend({ ...(asked && { backend: asked }), log: (line) => ($('status').textContent = line) });
  const a = webGpuAdapter();
  $('device').textContent =
    backend === 'webgpu' && a
      ? `WebGPU: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(', ')}`
      : backend === 'wasm'
        ? `WebAssembly (${wasmFlavour()}) on the CPU`
        : 'CPU (float64 reference)';
  return backend;
}

function adapterName(): string {
  const a = webGpuAdapter();
  if (backend === 'wasm') return `WebAssembly ${wasmFlavour()}`;
  return a ? [a.vendor, a.architecture, a.description].filter(Boolean).join(', ') : 'cpu';
}

function download(name: string, bytes: BlobPart, type: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes], { type }));
  a.download = name;
  a.textContent = `download ${name}`;
  a.style.marginRight = '1rem';
  return a;
}

async function train(): Promise<AitmResult> {
  // The same checks as the query parameters: a 0 or empty field never trains an untrained model.
  $('downloads').replaceChildren();
  const field = (id: string): string => ($(id) as HTMLInputElement).value;
  const { rows, epochs, batchSize } = runSettings({ rows: field('rows'), epochs: field('epochs'), batch: field('batch') });
  const be = await device();
  $('status').textContent = `generating ${rows} synthetic rows...`;
  const seed = 1;
  // ?fields=F&vocab=V shrink the world (fewer id fields, fewer ids each): quicker to learn.
  const world = {
    ...(params.has('fields') && { fields: numberParam('fields', 8) }),
    ...(params.has('vocab') && { vocab: numberParam('vocab', 20) }),
  };
  const splits = syntheticSplits(rows, seed, world);
  const config = defaultConfig(withVocab(splits.schema, {}), {});
  const model = buildModel(config);
  const records: EpochRecord[] = [];
  const labels = config.labels;
  const bar = $('progress') as HTMLProgressElement;
  const result = await fit(model, splits.train, splits.val, {
    epochs,
    batchSize,
    lr: TRAIN_DEFAULTS.lr,
    seed,
    backend: be,
    progress: {
      update: ({ epoch, epochs: n, done, total, samplesPerSecond, loss }) => {
        bar.value = (epoch - 1 + done / total) / n;
        $('status').textContent = `epoch ${epoch}/${n}: ${done}/${total} rows, ${Math.round(samplesPerSecond)} samples/s` + (loss === null ? '' : `, loss ${loss.toFixed(4)}`);
      },
      line: (text) => ($('status').textContent = text),
      end: () => {},
    },
    onEpoch: (record) => {
      records.push(record);
      $('curves').innerHTML = learningCurves({ epochs: records, labels: [...labels], bestEpoch: records.length - 1 });
    },
  });
  bar.value = 1;
  const test = metricsOf(await predict(model, splits.test, { backend: be }), splits.test);
  const oracle = splits.oracle ?? [];
  const attention = await attentionWeights(model, splits.val, { backend: be });
  if (attention) $('attention').innerHTML = attentionHistogram(attention, labels);
  $('results').innerHTML =
    `<table><tr><th></th>${labels.map((l) => `<th>${l}</th>`).join('')}</tr>` +
    `<tr><td>test AUC</td>${test.auc.map((a) => `<td>${a.toFixed(4)}</td>`).join('')}</tr>` +
    `<tr><td>oracle AUC</td>${oracle.map((a) => `<td>${a.toFixed(4)}</td>`).join('')}</tr>` +
    `<tr><td>gap</td>${oracle.map((o, i) => `<td>${(o - test.auc[i]!).toFixed(4)}</td>`).join('')}</tr></table>` +
    `<p>${Math.round(result.samplesPerSecond)} samples/s on ${be === 'cpu' ? 'the CPU' : adapterName()}</p>`;
  const links = $('downloads');
  links.replaceChildren(
    download('model.safetensors', (await checkpointBytes(model)) as BlobPart, 'application/octet-stream'),
    download('config.json', `${JSON.stringify(config, null, 2)}\n`, 'application/json'),
  );
  model.dispose();
  return { backend: be, adapter: adapterName(), testAuc: test.auc, oracleAuc: oracle, samplesPerSecond: result.samplesPerSecond };
}

/** The tensor README's example, on this page's backend. */
async function readmeExample(): Promise<string> {
  await device();
  const x = randn([64, 3]);
  const w = randn([3, 1], { requiresGrad: true });
  const y = tensor(Array.from({ length: 64 }, (_, i) => i % 2), { shape: [64, 1] });
  const loss = mean(sigmoid(matmul(x, w)).sub(y).pow(2));
  loss.backward();
  return `loss ${await loss.item()}\nw.grad ${JSON.stringify(await w.grad!.toArray())}`;
}

async function guarded<T>(fn: () => Promise<T>): Promise<T | undefined> {
  $('error').textContent = '';
  try {
    return await fn();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    window.aitmError = message;
    $('error').textContent = message;
    return undefined;
  }
}

try {
  const query = runSettings(
    {
      rows: params.get('rows') ?? '100000',
      epochs: params.get('epochs') ?? String(TRAIN_DEFAULTS.epochs),
      batch: params.get('batch') ?? String(TRAIN_DEFAULTS.batchSize),
    },
    '?',
  );
  ($('rows') as HTMLInputElement).value = String(query.rows);
  ($('epochs') as HTMLInputElement).value = String(query.epochs);
  ($('batch') as HTMLInputElement).value = String(query.batchSize);
} catch (e) {
  window.aitmError = (e as Error).message;
  $('error').textContent = window.aitmError;
}
$('train').addEventListener('click', () => void guarded(async () => (window.aitmResult = await train())));
$('example').addEventListener('click', () =>
  void guarded(async () => {
    const out = $('example-out');
    out.hidden = false;
    out.textContent = await readmeExample();
  }),
);
addEventListener('pagehide', () => disposeWebGpu());
if (params.get('autorun') === '1' && window.aitmError === undefined) void guarded(async () => (window.aitmResult = await train()));
