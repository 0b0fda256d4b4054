// Streams a text file as batches of lines without holding the whole file in memory
// (\n or \r\n endings, optional final newline, UTF-8 BOM dropped).

import { createReadStream } from 'node:fs';

/** Lines of `path` in order, yielded in batches (one per read buffer) so the per-line cost stays
 * a plain loop rather than an await. The line terminator is removed; a trailing newline does not
 * produce an extra empty line. */
export async function* readLineBatches(path: string, bufferBytes = 1 << 20): AsyncGenerator<string[]> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: bufferBytes });
  let carry = '';
  let first = true;
  for await (const piece of stream as AsyncIterable<string>) {
    let text = carry + piece;
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    const parts = text.split('\n');
    carry = parts.pop() ?? '';
    if (parts.length > 0) yield parts.map(stripCr);
  }
  if (carry.length > 0) yield [stripCr(carry)];
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
