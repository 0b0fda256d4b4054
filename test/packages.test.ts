// The three packages as another project gets them: packed (`pnpm pack`, which packs the built
// dist/), installed from the tarballs into a scratch project outside the workspace, type-
// checked by a strict consumer (skipLibCheck false) under both NodeNext and Bundler module
// resolution, run in Node, and bundled for the browser (vite) without Node built-ins.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const PACKAGES = ['tensor', 'nn', 'aitm'];

const CONSUMER = `import { randn, tensor, tidy, setBackend, sigmoid, type Tensor } from '@aitm/tensor';
import { Adam, MLP, bce, checkpointBytes } from '@aitm/nn';
import { generateSynthetic } from '@aitm/aitm';

await setBackend('cpu');
const mlp = new MLP(4, { dims: [8] });
const opt = new Adam(mlp.parameters(), { lr: 0.05 });
const x = randn([32, 4]);
const y: Tensor = tensor(Array.from({ length: 32 }, (_, i) => i % 2), { shape: [32, 1] });
let last = 0;
for (let step = 0; step < 20; step++) {
  opt.zeroGrad();
  const loss = tidy(() => bce(sigmoid(mlp.forward(x)), y));
  loss.backward();
  opt.step();
  last = await loss.item();
  loss.dispose();
}
const bytes: Uint8Array = await checkpointBytes(mlp);
const data = generateSynthetic({ rows: 10, sampleSeed: 1, worldSeed: 1 });
console.log(JSON.stringify({ loss: last, checkpointBytes: bytes.length, rows: data.data.n }));
`;

it('the packed packages install, type-check strictly (NodeNext and Bundler), run in Node and bundle for the browser', () => {
  for (const p of PACKAGES) {
    if (!existsSync(join(root, 'packages', p, 'dist', 'index.js'))) throw new Error(`packages/${p}/dist is missing: run pnpm build (scripts/setup.sh does)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'aitm-consumer-'));
  const packs = join(dir, 'packs');
  mkdirSync(packs);
  for (const p of PACKAGES) execFileSync('pnpm', ['pack', '--pack-destination', packs], { cwd: join(root, 'packages', p), stdio: 'pipe' });
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  expect(tarballs).toHaveLength(3);

  const app = join(dir, 'app');
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(join(app, 'src', 'consumer.ts'), CONSUMER);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], { cwd: app, stdio: 'pipe' });

  // Strict, with the default skipLibCheck (false): our .d.ts files and their WebGPU types must check.
  const strict = { strict: true, target: 'ES2022' };
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out' }, include: ['src'] }));
  writeFileSync(join(app, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'ESNext', moduleResolution: 'Bundler', noEmit: true }, include: ['src'] }));
  for (const config of ['tsconfig.json', 'tsconfig.bundler.json']) {
    try {
      execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], { cwd: app, stdio: 'pipe' });
    } catch (e) {
      throw new Error(`tsc -p ${config} failed:\n${(e as { stdout?: Buffer }).stdout?.toString()}`);
    }
  }

  const out = JSON.parse(execFileSync(process.execPath, ['out/consumer.js'], { cwd: app }).toString()) as { loss: number; checkpointBytes: number; rows: number };
  expect(out.loss).toBeGreaterThan(0);
  expect(out.loss).toBeLessThan(0.7);
  expect(out.checkpointBytes).toBeGreaterThan(200);
  expect(out.rows).toBe(10);

  // A browser bundle: vite (rolldown) for the browser platform; Node built-ins would be
  // externalised with a warning, so the log and the bundle must be free of them.
  writeFileSync(
    join(app, 'vite.config.mjs'),
    "export default { logLevel: 'warn', build: { outDir: 'bundle', target: 'es2022', minify: false, lib: { entry: 'src/consumer.ts', formats: ['es'], fileName: 'consumer' } } };\n",
  );
  const built = spawnSync(bin('vite'), ['build'], { cwd: app, encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
  expect(`${built.stdout}${built.stderr}`).not.toMatch(/externalized for browser compatibility|node:/);
  const bundle = readFileSync(join(app, 'bundle', 'consumer.js'), 'utf8');
  expect(bundle).not.toMatch(/from ['"]node:|require\(['"]node:/);
  expect(bundle).toContain('navigator'); // the browser's WebGPU is what the engine looks for first
}, 300_000);

it('the playground, and with it the main entries of all three packages, type-checks with browser types only (no Node types)', () => {
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'playground', 'tsconfig.json')], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`tsc -p playground failed:\n${(e as { stdout?: Buffer }).stdout?.toString()}`);
  }
}, 120_000);
