// Training progress: a live bar (samples/s, ETA, running loss) on a terminal, plain periodic
// lines otherwise (CI logs, pipes), so logs stay readable in both.

/** Where training reports its progress (a progress bar on a terminal, lines elsewhere). */
export interface ProgressSink {
  /** Reports the progress of an epoch. */
  update(info: { epoch: number; epochs: number; done: number; total: number; loss: number | null; samplesPerSecond: number }): void;
  /** Prints a line of text. */
  line(text: string): void;
  /** Ends the progress display. */
  end(): void;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}

/** Where progress goes: Node's process.stderr, or anything with a write method. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** stderr in Node; the console elsewhere (a browser), one line per write. */
function defaultStream(): ProgressStream {
  const stderr = (globalThis as { process?: { stderr?: ProgressStream } }).process?.stderr;
  return stderr ?? { write: (text: string) => console.log(text.replace(/^\r\x1b\[2K|\n$/g, '')) };
}

/** A progress sink writing to `stream` (a bar when it is a TTY, lines every `everyMs` otherwise). */
export function progressSink(stream: ProgressStream = defaultStream(), everyMs = 5000, quiet = false): ProgressSink {
  const tty = stream.isTTY === true;
  let last = 0;
  let barShown = false;
  const clear = () => {
    if (barShown) stream.write('\r\x1b[2K');
    barShown = false;
  };
  return {
    update({ epoch, epochs, done, total, loss, samplesPerSecond }) {
      if (quiet) return;
      const now = Date.now();
      const eta = (total - done) / Math.max(samplesPerSecond, 1e-9);
      const lossText = loss === null ? '' : ` loss ${loss.toFixed(4)}`;
      if (tty) {
        const width = 24;
        const filled = Math.round((done / Math.max(total, 1)) * width);
        stream.write(
          `\r\x1b[2Kepoch ${epoch}/${epochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` +
            `${done}/${total} ${Math.round(samplesPerSecond)} samples/s ETA ${fmtTime(eta)}${lossText}`,
        );
        barShown = true;
      } else if (now - last >= everyMs || done === total) {
        last = now;
        stream.write(`epoch ${epoch}/${epochs}: ${done}/${total} rows, ${Math.round(samplesPerSecond)} samples/s, ETA ${fmtTime(eta)}${lossText}\n`);
      }
    },
    line(text) {
      if (quiet) return;
      clear();
      stream.write(`${text}\n`);
    },
    end() {
      clear();
    },
  };
}
