// The records of a CSV byte stream (a node:stream reader, so not in the pure domain): parsed with
// the settings every drop shares, one record at a time, with where each ends for a checkpoint.
import { Readable } from 'node:stream';
import { parse, type Options as ParseOptions } from 'csv-parse';
import { MAX_RECORD_CHARS } from '../../domain/csv-import';

/**
 * csv-parse settings for every drop. Quotes are relaxed so that a stray quote makes a bad row
 * (reported) rather than a parse error (fatal); column counts are checked per row against the
 * header; blank lines and rows of empty cells carry nothing and are not counted.
 */
export const csvParseOptions: ParseOptions = {
  bom: true,
  delimiter: ',',
  relax_quotes: true,
  relax_column_count: true,
  skip_empty_lines: true,
  skip_records_with_empty_values: true,
  max_record_size: MAX_RECORD_CHARS,
};

/** Records parsed ahead of the caller; past this the source is paused (backpressure). */
const READ_AHEAD = 1000;

/** A record and where it ends, so that a later read can start at the next one (a ranged GET). */
export interface CsvRecord {
  cells: string[];
  /** Bytes from the start of the source to the end of this record, its line end included. */
  end: number;
  /** The line the record ends on, from 1. */
  line: number;
  /** How the source is decoded: utf8, or utf16le when it started with a UTF-16 BOM. */
  encoding: BufferEncoding;
}

export interface CsvReadOptions {
  /** The encoding the file's first bytes chose (a source that starts mid-file has no BOM to tell). */
  encoding?: BufferEncoding;
}

/**
 * The records of a CSV byte stream, one at a time. The stream is never held whole: the source is
 * paused while the caller works. Throws csv-parse's `CsvError` where the file cannot be read
 * further (see parseFailure), after every record before that point; a failing source throws its
 * own error.
 */
export async function* csvRecords(
  source: Readable | AsyncIterable<Uint8Array | string>,
  options: CsvReadOptions = {},
): AsyncGenerator<CsvRecord> {
  const input = source instanceof Readable ? source : Readable.from(source);
  const parser = parse({ ...csvParseOptions, ...(options.encoding ? { encoding: options.encoding } : {}), info: true });
  const queue: CsvRecord[] = [];
  let failure: unknown;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  // 'data' listeners, not async iteration: when the parser fails, the records it parsed before
  // the failure have been delivered here, where an iterator would drop them with its buffer.
  parser.on('data', ({ record, info }: { record: string[]; info: { bytes: number; lines: number } }) => {
    queue.push({
      cells: record,
      end: info.bytes,
      line: info.lines,
      encoding: parser.options.encoding as BufferEncoding,
    });
    notify();
  });
  parser.on('error', (error: unknown) => {
    failure ??= error;
    notify();
  });
  parser.on('end', () => {
    ended = true;
    notify();
  });
  input.on('data', (chunk: Buffer | string) => {
    const more = parser.write(chunk);
    // A failed parser is marked at once (its 'error' event comes a tick later): stop feeding it.
    if (parser.errored) failure ??= parser.errored;
    if (!more || failure || queue.length >= READ_AHEAD) input.pause();
    if (failure) notify();
  });
  input.on('end', () => parser.end());
  input.on('error', (error: unknown) => {
    failure ??= error;
    notify();
  });
  try {
    for (;;) {
      const record = queue.shift();
      if (record) {
        yield record;
        // Keep the parser fed before the queue runs dry.
        if (queue.length < READ_AHEAD / 2 && !failure) input.resume();
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      input.resume();
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    input.destroy();
    parser.destroy();
  }
}
