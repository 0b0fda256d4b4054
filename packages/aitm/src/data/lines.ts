// Streams a text file as batches of lines without holding the whole file in memory
// (\n or \r\n endings, optional final newline, UTF-8 BOM dropped). Only regular files are
// read: a directory, a device (/dev/zero) or a FIFO is refused before it is opened.

import { createReadStream } from 'node:fs';
import { checkInputFile, fsFailure } from '../files.js';

/** Lines of `path` in order, yielded in batches (one per read buffer) so the per-line cost stays
 * a plain loop rather than an await. The line terminator is removed; a trailing newline does not
 * produce an extra empty line. */
export async function* readLineBatches(path: string, bufferBytes = 1 << 20): AsyncGenerator<string[]> {
  checkInputFile(path, 'CSV file');
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: bufferBytes });
  let carry = '';
  let first = true;
  for await (const piece of readStream(stream as AsyncIterable<string>, path)) {
    let text = carry + piece;
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    const parts = text.split('\n');
    carry = parts.pop() ?? '';
    // A lone CR inside a line means CR-only endings (classic Mac): every row would look like
    // one huge header line with repeated column names.
    const crOnly = (parts.length > 0 ? parts : [carry]).find((l) => l.indexOf('\r') >= 0 && l.indexOf('\r') < l.length - 1);
    if (crOnly !== undefined) throw new Error(`${path}: lines end in CR only (old Mac style); convert them to LF or CRLF`);
    if (parts.length > 0) yield parts.map(stripCr);
  }
  if (carry.length > 0) yield [stripCr(carry)];
}

/** The stream's pieces, with a read error naming the path. */
async function* readStream(stream: AsyncIterable<string>, path: string): AsyncGenerator<string> {
  try {
    for await (const piece of stream) yield piece;
  } catch (e) {
    throw fsFailure(e, 'read', path);
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
