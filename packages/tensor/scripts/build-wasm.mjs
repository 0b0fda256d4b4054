// Builds wasm kernels from their AssemblyScript source with the AssemblyScript compiler from
// npm: one binary with plain SIMD128 and one with relaxed SIMD, each for a private memory and
// for a shared one (threads); the host picks at start-up. The binaries are written,
// base64-encoded, into a generated TypeScript module (not committed), so every host (Node, a
// bundler, vitest on the sources) loads them as an ordinary module, with no file or fetch.
//
//   node build-wasm.mjs                      the tensor package's kernels (wasm/ ->
//                                            src/backends/wasm/kernels.generated.ts)
//   node build-wasm.mjs SRC OUT --memory-base N
//                                            another package's kernel library (see
//                                            defineWasmKernels): sources in SRC, output OUT,
//                                            its constant tables placed from byte N
//
// The tensor package's tables go from byte 1024 (AssemblyScript's default) and must end below
// byte 32768; a library's between its memory base (32768 or more) and byte 65536, where the
// backend's tensors begin. The build fails where they do not, and writes the extent into the
// generated module, so that the backend can refuse two libraries whose tables overlap.

import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const baseAt = args.indexOf('--memory-base');
const memoryBase = baseAt >= 0 ? Number(args.splice(baseAt, 2)[1]) : null;
const [srcDir, out] = args.length === 0
  ? [join(pkg, 'wasm'), join(pkg, 'src', 'backends', 'wasm', 'kernels.generated.ts')]
  : args.length === 2 ? args.map((a) => resolve(a)) : [null, null];
if (srcDir === null || (memoryBase !== null && !(Number.isInteger(memoryBase) && memoryBase >= 32768 && memoryBase < 65536)) || (args.length === 2) !== (memoryBase !== null)) {
  console.error('usage: build-wasm.mjs [SRC OUT --memory-base N]  (N a whole number from 32768 to 65535)');
  process.exit(2);
}
const [dataFrom, dataTo] = memoryBase === null ? [0, 32768] : [memoryBase, 65536];
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.ts')).sort().map((f) => join(srcDir, f));

// Up to date: nothing to do (the build runs on every `pnpm build`).
const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
if (existsSync(out) && statSync(out).mtimeMs >= newest) process.exit(0);

/** The [start, end) byte extents of a binary's active data segments. */
function dataSegments(bytes) {
  let p = 8;
  const leb = () => {
    let r = 0;
    let s = 0;
    let x;
    do {
      x = bytes[p++];
      r += (x & 127) * 2 ** s;
      s += 7;
    } while (x & 128);
    return r;
  };
  const found = [];
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = leb();
    const end = p + size;
    if (id === 11) {
      for (let n = leb(); n > 0; n--) {
        const flag = leb();
        if (flag !== 0 || bytes[p] !== 0x41) throw new Error('build-wasm: a data segment that is not active at a constant offset');
        p++;
        const at = leb(); // i32.const (offsets below 2^31 encode as their unsigned value when small)
        p++; // end
        const len = leb();
        found.push([at, at + len]);
        p += len;
      }
    }
    p = end;
  }
  return found;
}

const tmp = mkdtempSync(join(tmpdir(), 'aitm-wasm-'));
const binaries = {};
let dataEnd = dataFrom;
try {
  // The shared variants import a `shared` memory (which needs a maximum: the whole 32-bit
  // space, 65536 pages; the host's memory may declare less) so that worker threads run the
  // same kernels on it. Their data segments (constant tables) are rewritten with the same
  // bytes by each thread's instance, which is harmless: the kernels keep no state in memory.
  const variants = [
    ['plain', false, false],
    ['relaxed', true, false],
    ['plainShared', false, true],
    ['relaxedShared', true, true],
  ];
  for (const [name, relaxed, shared] of variants) {
    const file = join(tmp, `${name}.wasm`);
    const features = ['simd', ...(relaxed ? ['relaxed-simd'] : []), ...(shared ? ['threads'] : [])];
    const { error, stderr } = await asc.main([
      ...sources,
      '-O3', '--runtime', 'stub', '--noAssert',
      '--importMemory', '--initialMemory', '1',
      ...(memoryBase !== null ? ['--memoryBase', String(memoryBase)] : []),
      ...(shared ? ['--sharedMemory', '--maximumMemory', '65536'] : []),
      '--use', `RELAXED=${relaxed ? 1 : 0}`,
      '--enable', features.join(','),
      '--outFile', file,
    ]);
    if (error) {
      console.error(stderr.toString());
      throw new Error(`build-wasm: asc failed for the ${name} binary of ${srcDir}: ${error.message}`);
    }
    const bytes = readFileSync(file);
    for (const [from, to] of dataSegments(bytes)) {
      if (from < dataFrom || to > dataTo) {
        throw new Error(`build-wasm: ${srcDir}: constant data at bytes ${from}..${to}, outside the ${dataFrom}..${dataTo} this build may use`);
      }
      dataEnd = Math.max(dataEnd, to);
    }
    binaries[name] = bytes.toString('base64');
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const from = (p) => p.replace(/\\/g, '/').split('/packages/').pop();
writeFileSync(
  out,
  `// Generated by packages/tensor/scripts/build-wasm.mjs from packages/${from(srcDir)}/*.ts: do not edit.\n\n` +
    `/** The kernels with plain SIMD128, base64. */\nexport const PLAIN_WASM = '${binaries.plain}';\n\n` +
    `/** The kernels with relaxed SIMD (f32x4.relaxed_madd), base64. */\nexport const RELAXED_WASM = '${binaries.relaxed}';\n\n` +
    `/** PLAIN_WASM importing a shared memory (threads), base64. */\nexport const PLAIN_SHARED_WASM = '${binaries.plainShared}';\n\n` +
    `/** RELAXED_WASM importing a shared memory (threads), base64. */\nexport const RELAXED_SHARED_WASM = '${binaries.relaxedShared}';\n\n` +
    `/** The bytes of linear memory the kernels' constant tables may occupy, [start, end). */\nexport const STATIC_BYTES: readonly [number, number] = [${dataFrom}, ${dataEnd}];\n`,
);
console.log(`build-wasm: ${sources.length} sources -> ${out}`);
