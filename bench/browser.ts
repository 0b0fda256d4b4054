// `pnpm bench browser`: the AITM training step in headless Chromium (Debian's chromium,
// WebGPU on its own adapter), ours against TensorFlow.js's WebGPU backend on the same page
// and adapter (browser/speed.html), beside our Node figure for the same step and batch.
// Needs a chromium (scripts/setup.sh installs Debian's) and puppeteer-core.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row, SuiteOptions } from './common.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const source = existsSync(join(here, 'browser')) ? join(here, 'browser') : join(here, '..', 'browser');

export async function runBrowserBench(_opts: SuiteOptions): Promise<Row[]> {
  const chromium = process.env.AITM_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) throw new Error(`bench browser: no browser at ${chromium} (scripts/setup.sh installs Debian's chromium)`);
  const { build } = await import('vite');
  const puppeteer = (await import('puppeteer-core')).default;
  const out = mkdtempSync(join(tmpdir(), 'aitm-bench-browser-'));
  await build({ configFile: join(source, 'vite.config.ts'), build: { outDir: out }, logLevel: 'warn' });
  const server = createServer((req, res) => {
    const file = normalize(join(out, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (!file.startsWith(out) || !existsSync(file) || extname(file) === '') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': extname(file) === '.html' ? 'text/html' : 'text/javascript' }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader'] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/speed.html`);
    await page.waitForFunction('window.speedResult || window.speedError', { timeout: 600_000 });
    const error = await page.evaluate('window.speedError');
    if (error) throw new Error(`bench browser: ${error}`);
    const r = (await page.evaluate('window.speedResult')) as { adapter: string; batch: number; ours: number; tfjs: number };
    console.log(`browser adapter: ${r.adapter}`);
    return [{ case: `train B=${r.batch} bn (headless Chromium)`, unit: 'samples/s', ours: r.ours, peers: { 'tfjs-webgpu (same page)': r.tfjs } }];
  } finally {
    await browser.close();
    server.close();
  }
}
