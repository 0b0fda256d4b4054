// Writing one file whole or not at all: the commands' outputs (config.json, report.json,
// predictions, ONNX graphs, compare tables) never exist half-written.

import { renameSync, rmSync, writeFileSync } from 'node:fs';

/** Writes `content` to `path` atomically (temporary file, then rename); on failure `path` is left as it was. */
export function writeAtomic(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}
