// The op-fixture cases of every package, read from their JSON files (Node; the browser suite
// imports the same files through its bundler).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { OpCase } from './fixture-ops.js';

const read = (path: string): OpCase[] =>
  (JSON.parse(readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8')) as { cases: OpCase[] }).cases;

export const opCases = (): OpCase[] => [...read('../packages/tensor/test/fixtures/ops.json'), ...read('./fixtures/model-ops.json')];
