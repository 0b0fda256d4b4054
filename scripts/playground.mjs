#!/usr/bin/env node
// `pnpm playground build` writes the static site to playground/dist/; `pnpm playground dev`
// serves it with reloads (http://127.0.0.1:5173); `pnpm playground preview` serves the build.
import { fileURLToPath } from 'node:url';
import { build, createServer, preview } from 'vite';

const configFile = fileURLToPath(new URL('../playground/vite.config.ts', import.meta.url));
const command = process.argv[2] ?? 'dev';
if (command === 'build') {
  await build({ configFile });
} else if (command === 'dev' || command === 'preview') {
  const server = command === 'dev' ? await createServer({ configFile }) : await preview({ configFile });
  if (command === 'dev') await server.listen();
  server.printUrls();
} else {
  console.error(`usage: pnpm playground build|dev|preview (got '${command}')`);
  process.exitCode = 1;
}
