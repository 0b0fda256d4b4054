// The engine in a real browser: Debian's Chromium in headless mode (WebGPU on its SwiftShader
// adapter, over http://127.0.0.1 since WebGPU needs a secure context), driven by
// puppeteer-core. Two pages built from the current sources with vite:
//   - browser/parity.html runs every op-fixture case of every package on the browser's GPU,
//     forward and gradient against PyTorch's values, and must run every registered op; then
//     the same on the CPU and wasm backends in the page, and (served cross-origin isolated)
//     on wasm with worker threads;
//   - the playground trains AITM small end to end and must land within 0.02 of the oracle AUC.
// Without a browser the suite is skipped, except under AITM_REQUIRE_WEBGPU=1 (CI), where a
// missing browser fails it, as a missing GPU adapter fails the GPU tests.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import puppeteer, { type Browser } from 'puppeteer-core';

const CHROMIUM = process.env.AITM_CHROMIUM ?? '/usr/bin/chromium';
const required = process.env.AITM_REQUIRE_WEBGPU === '1';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && required) throw new Error(`browser suite: no browser at ${CHROMIUM} (scripts/setup.sh installs Debian's chromium); AITM_REQUIRE_WEBGPU=1 makes this a failure`);

const root = fileURLToPath(new URL('..', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

/**
 * A static server for `dir` on 127.0.0.1 (a secure context, unlike a data: URL); `isolated`
 * sends the COOP/COEP headers that make the page cross-origin isolated, which SharedArrayBuffer
 * (and so the wasm backend's threads) needs.
 */
async function serve(dir: string, isolated = false): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(dir, pathname === '/' ? 'index.html' : pathname));
    if (!file.startsWith(dir) || !existsSync(file) || extname(file) === '') {
      res.writeHead(404).end(); // favicon.ico and the like
      return;
    }
    const isolation = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', ...isolation });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}` };
}

describe.runIf(haveBrowser)('in headless Chromium (WebGPU on its own adapter)', () => {
  let browser: Browser;
  let playground: { server: Server; url: string };
  let parity: { server: Server; url: string };
  let isolatedParity: { server: Server; url: string };

  beforeAll(async () => {
    const out = mkdtempSync(join(tmpdir(), 'aitm-browser-'));
    await build({ configFile: join(root, 'playground', 'vite.config.ts'), build: { outDir: join(out, 'playground') }, logLevel: 'warn' });
    await build({ configFile: join(root, 'test', 'browser', 'vite.config.ts'), build: { outDir: join(out, 'parity') }, logLevel: 'warn' });
    playground = await serve(join(out, 'playground'));
    parity = await serve(join(out, 'parity'));
    isolatedParity = await serve(join(out, 'parity'), true);
    try {
      browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader'] });
    } catch (e) {
      throw new Error(`browser suite: ${CHROMIUM} did not start: ${(e as Error).message}`);
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    playground?.server.close();
    parity?.server.close();
    isolatedParity?.server.close();
  });

  it('every op-fixture case on the browser GPU matches PyTorch, forward and gradient, and every registered op ran', async () => {
    const page = await browser.newPage();
    await page.goto(`${parity.url}/parity.html`);
    await page.waitForFunction('window.parityResult || window.parityError', { timeout: 240_000 });
    const error = await page.evaluate(() => window.parityError);
    expect(error).toBeUndefined();
    const r = (await page.evaluate(() => window.parityResult))!;
    expect(r.adapter).toMatch(/swiftshader|vulkan|llvmpipe|\w/i);
    expect(r.cases).toBeGreaterThan(150);
    expect(r.failures).toEqual([]);
    expect(r.cpuFailures).toEqual([]); // the CPU backend in the page, float64
    expect(r.wasmFailures).toEqual([]); // the wasm backend in the page, float32
    expect(r.registered.filter((op) => !r.ran.includes(op))).toEqual([]);
    expect(r.registered.filter((op) => !r.wasmRan.includes(op))).toEqual([]);
    expect(r.wasmThreads).toBe(1); // not cross-origin isolated: no SharedArrayBuffer, one thread
    await page.close();
  }, 300_000);

  it('every op-fixture case on wasm with worker threads in a cross-origin-isolated page matches PyTorch', async () => {
    const page = await browser.newPage();
    await page.goto(`${isolatedParity.url}/parity.html?only=wasm`);
    await page.waitForFunction('window.parityResult || window.parityError', { timeout: 240_000 });
    expect(await page.evaluate(() => window.parityError)).toBeUndefined();
    const r = (await page.evaluate(() => window.parityResult))!;
    expect(r.wasmThreads).toBeGreaterThan(1);
    expect(r.wasmFailures).toEqual([]);
    expect(r.registered.filter((op) => !r.wasmRan.includes(op))).toEqual([]);
    await page.close();
  }, 300_000);

  it("the README's web-page example, built as written, runs in the page (on wasm: SwiftShader is a software adapter)", async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /## In a web page[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    // Inside the workspace, so the page's imports resolve to the packages.
    const app = mkdtempSync(join(root, 'test', '.readme-web-'));
    try {
      writeFileSync(join(app, 'index.html'), '<!doctype html><html><body><script type="module" src="./main.ts"></script></body></html>\n');
      writeFileSync(join(app, 'main.ts'), block);
      await build({ root: app, base: './', logLevel: 'warn', resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] }, build: { outDir: join(app, 'dist'), target: 'es2022' } });
      const site = await serve(join(app, 'dist'));
      const page = await browser.newPage();
      await page.goto(`${site.url}/`);
      await page.waitForFunction(() => document.body.textContent!.includes('loss'), { timeout: 60_000 });
      expect(await page.evaluate(() => document.body.textContent)).toMatch(/^wasm: loss 0\.\d+, grad \[\[-?\d/);
      await page.close();
      site.server.close();
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  }, 120_000);

  it('the playground trains AITM small on the page GPU, within 0.02 of the oracle AUC', async () => {
    const page = await browser.newPage();
    await page.goto(`${playground.url}/?rows=80000&epochs=4&batch=1024&fields=4&vocab=10&backend=webgpu&autorun=1`);
    await page.waitForFunction('window.aitmResult || window.aitmError', { timeout: 240_000 });
    expect(await page.evaluate(() => window.aitmError)).toBeUndefined();
    const r = (await page.evaluate(() => window.aitmResult))!;
    expect(r.backend).toBe('webgpu');
    expect(r.adapter.length).toBeGreaterThan(0);
    expect(r.samplesPerSecond).toBeGreaterThan(0);
    r.oracleAuc.forEach((o, t) => expect(o - r.testAuc[t]!, `task ${t}`).toBeLessThan(0.02));
    // The page offers the trained model for download, and Node's loader (what `aitm predict
    // --model-dir` runs) takes the downloaded files: config.json parses, the weights load strictly.
    expect(await page.$$eval('#downloads a', (as) => as.map((a) => a.getAttribute('download')))).toEqual(['model.safetensors', 'config.json']);
    const files = await page.$$eval('#downloads a', async (as) =>
      Promise.all(
        as.map(async (a) => {
          const bytes = new Uint8Array(await (await fetch((a as HTMLAnchorElement).href)).arrayBuffer());
          let binary = '';
          for (const b of bytes) binary += String.fromCharCode(b);
          return [a.getAttribute('download')!, btoa(binary)] as const;
        }),
      ),
    );
    const dir = mkdtempSync(join(tmpdir(), 'aitm-download-'));
    for (const [name, b64] of files) writeFileSync(join(dir, name), Buffer.from(b64, 'base64'));
    const { loadModelDir } = await import('@aitm/aitm/node');
    const { config, model } = await loadModelDir(dir);
    expect(config.model).toBe('aitm');
    expect(model.parameters().length).toBeGreaterThan(10);
    model.dispose();
    await page.close();
  }, 300_000);
});
