// The checkpointed read loop: a file's records from a checkpoint (or its start) through its
// importer, rejections written in row order, a checkpoint saved every so often and when the
// invocation's budget is spent.
import { CsvError } from 'csv-parse';
import { expectedHeader, readHeader, shapeRefusal, type Header, type RowRefusal } from '../../domain/csv-import';
import {
  emptyTally,
  errorReportLine,
  parseFailure,
  type ImportCheckpoint,
  type Tally,
} from '../../domain/csv-import-report';
import { DomainError, type Refusal } from '../../domain/errors';
import type { ImportFile } from '../../domain/import-keys';
import { openImportFile } from '../../store/import-files';
import { type CsvRecord, csvRecords } from './csv-records';
import {
  CHECKPOINT_EVERY_MS,
  type Carry,
  type ImportBudget,
  type Importer,
  type ImportRun,
  type ReadHooks,
  type RowSink,
} from './importer';

const MAX_HELD_REJECTIONS = 1000;

/**
 * Reads a file through its importer from a checkpoint (or its start) until its end, or until the
 * budget is spent; answers the checkpoint saved there (`finished` when the file was read to its end).
 */
export function readFile(
  file: ImportFile,
  importer: Importer,
  from: ImportCheckpoint | undefined,
  carried: Carry | undefined,
  budget: ImportBudget | undefined,
  hooks: ReadHooks,
): Promise<ImportCheckpoint> {
  return new FileRead(file, importer, from, carried, hooks).read(budget);
}

/** One invocation's read of a file: where it stands, and the steps that move it on. */
class FileRead {
  private readonly tally: Tally;
  private rows: number;
  private stopped: Refusal | undefined;
  private error: Refusal | undefined;
  // Where the next record starts: the checkpoint's position, once every row before it is settled.
  private offset: number;
  private line: number;
  private names: string[] | undefined;
  private encoding: BufferEncoding | undefined;
  private saved: ImportCheckpoint | undefined;
  // Rejections wait until every earlier row is settled, so that the errors CSV is in row order
  // (up to MAX_HELD_REJECTIONS waiting; then the pending chunk is sent early).
  private held: RowRefusal[];
  private header: Header | undefined;
  private sink: RowSink | undefined;
  private readonly run: ImportRun;

  constructor(
    private readonly file: ImportFile,
    private readonly importer: Importer,
    private readonly from: ImportCheckpoint | undefined,
    private readonly carried: Carry | undefined,
    private readonly hooks: ReadHooks,
  ) {
    this.tally = from ? structuredClone(from.tally) : emptyTally();
    this.rows = from?.rows ?? 0;
    this.stopped = from?.stopped;
    this.offset = from?.offset ?? 0;
    this.line = from?.line ?? 0;
    this.names = from?.header;
    this.encoding = from?.encoding;
    this.saved = from;
    this.held = carried?.held ?? [];
    this.run = {
      file,
      tally: this.tally,
      now: () => new Date().toISOString(),
      reject: (e) => this.reject(e),
      send: (chunk, call) => this.send(chunk, call),
    };
  }

  async read(budget: ImportBudget | undefined): Promise<ImportCheckpoint> {
    if (!this.from && !(await this.checkFile())) return this.finish();
    const opened = await openImportFile(this.file, this.offset);
    if (!opened.ok) {
      this.error = {
        code: 'NOT_FOUND',
        message:
          opened.reason === 'gone'
            ? 'the file no longer exists (deleted before it could be imported)'
            : `the file was replaced while it was imported; the rows after row ${this.rows} were not imported`,
      };
      return this.finish();
    }
    if (this.names) {
      this.header = headerOf(this.file, this.names);
      this.sink = this.importer.open(this.header, this.run, this.carried?.sink);
    }
    // Positions in this read count from where it started.
    const start = { offset: this.offset, line: this.line };
    const pace = new Pace(budget);
    try {
      for await (const record of csvRecords(opened.body, this.encoding ? { encoding: this.encoding } : {})) {
        if (!this.header) {
          if (!this.takeHeader(record)) break;
          this.passed(start, record);
          continue;
        }
        if (pace.spent()) return await this.pause(true);
        pace.rowRead();
        await this.takeRow(record.cells);
        this.passed(start, record);
        if (pace.checkpointDue()) {
          await this.pause(false);
          pace.checkpointSaved();
        }
      }
    } catch (e) {
      if (!(e instanceof CsvError)) throw e;
      this.error = parseFailure(e, this.rows, start.line + Number(e.lines ?? 0));
    }
    return this.finish();
  }

  /** The next record starts after `record` (positions count from where this read started). */
  private passed(start: { offset: number; line: number }, record: CsvRecord): void {
    this.offset = start.offset + record.end;
    this.line = start.line + record.line;
  }

  /** The importer's check of the file as a whole, before its first row: false when it refused the file. */
  private async checkFile(): Promise<boolean> {
    try {
      await this.importer.check?.(this.file);
      return true;
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      this.error = { code: e.code, message: e.message };
      return false;
    }
  }

  /** The first record: false when it is no header of this kind of file (the read ends). */
  private takeHeader(record: CsvRecord): boolean {
    const h = readHeader(this.file.target.kind, record.cells);
    if (!h.ok) {
      this.error = h.refusal;
      return false;
    }
    this.header = h.value;
    this.names = [...h.value.names];
    this.encoding = record.encoding;
    this.sink = this.importer.open(this.header, this.run);
    return true;
  }

  /** A data row: rejected by its shape (or the stop), or given to the sink; rejections settled as far as they can be. */
  private async takeRow(cells: string[]): Promise<void> {
    const sink = this.sink!;
    const row = ++this.rows;
    const refusal = this.stopped ?? shapeRefusal(this.header!, cells);
    if (refusal) await this.reject({ row, record: cells, ...refusal });
    else await sink.add(row, cells);
    if (this.held.length >= MAX_HELD_REJECTIONS) await sink.flush();
    await this.release(sink.firstPending() ?? row + 1);
    // Only a replacement group still open can keep this many waiting: memory wins over order.
    if (this.held.length >= MAX_HELD_REJECTIONS) await this.release(Number.POSITIVE_INFINITY);
  }

  private async reject(e: RowRefusal): Promise<void> {
    this.tally.rejected++;
    this.held.push(e);
  }

  /** Writes the held rejections of rows before `before`, in row order. */
  private async release(before: number): Promise<void> {
    if (this.held.length === 0) return;
    this.held.sort((a, b) => a.row - b.row);
    const ready = this.held.filter((e) => e.row < before);
    this.held = this.held.slice(ready.length);
    for (const e of ready) await this.hooks.writeError(errorReportLine(e));
  }

  /**
   * Runs one service call for a chunk of rows. A DomainError (the batch stopped taking edits)
   * rejects the chunk's rows with its code and stops the import: later rows get the same code.
   */
  private async send<T>(
    chunk: ReadonlyArray<{ row: number; record: readonly string[] }>,
    call: () => Promise<T>,
  ): Promise<T | undefined> {
    if (this.stopped) {
      for (const r of chunk) await this.reject({ ...r, ...this.stopped });
      return undefined;
    }
    try {
      this.hooks.assertLease();
      return await call();
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      this.stopped ??= { code: e.code, message: `${e.message}; the rows from here on were not imported` };
      for (const r of chunk) await this.reject({ ...r, code: e.code, message: e.message });
      return undefined;
    }
  }

  /** Settles every row read so far that can be settled, and saves where the file stands. */
  private async pause(handOff: boolean): Promise<ImportCheckpoint> {
    const sink = this.sink!;
    await sink.flush();
    await this.release(sink.firstPending() ?? Number.POSITIVE_INFINITY);
    const state = sink.suspend?.();
    const carry =
      this.held.length > 0 || state !== undefined
        ? { held: this.held, ...(state !== undefined ? { sink: state } : {}) }
        : undefined;
    this.saved = await this.hooks.save(this.checkpoint(), carry, handOff);
    return this.saved;
  }

  /** Ends the read: rows read before a stop are sent, whatever stopped the reading. */
  private async finish(): Promise<ImportCheckpoint> {
    await this.sink?.end();
    await this.release(Number.POSITIVE_INFINITY);
    if (!this.names)
      this.error ??= {
        code: 'VALIDATION_FAILED',
        message: `the file is empty: expected the header ${expectedHeader(this.file.target.kind)}`,
      };
    return this.hooks.save(this.checkpoint(this.error ? { error: this.error } : {}), undefined, false);
  }

  private checkpoint(finished?: ImportCheckpoint['finished']): ImportCheckpoint {
    return {
      seq: this.saved?.seq ?? 0,
      offset: this.offset,
      line: this.line,
      rows: this.rows,
      tally: structuredClone(this.tally),
      ...(this.names ? { header: [...this.names] } : {}),
      ...(this.encoding && this.encoding !== 'utf8' ? { encoding: this.encoding } : {}),
      ...(this.stopped ? { stopped: this.stopped } : {}),
      errorParts: this.saved?.errorParts ?? [],
      ...(finished ? { finished } : {}),
    };
  }
}

/** When one invocation stops reading (its budget) and when it saves a checkpoint on the way. */
class Pace {
  private readonly deadline: number;
  private readonly maxRows: number;
  private readonly everyMs: number;
  private nextCheckpoint: number;
  private readHere = 0;

  constructor(budget: ImportBudget | undefined) {
    this.deadline = budget?.deadline ?? Number.POSITIVE_INFINITY;
    this.maxRows = budget?.maxRows ?? Number.POSITIVE_INFINITY;
    this.everyMs = budget?.checkpointEveryMs ?? CHECKPOINT_EVERY_MS;
    this.nextCheckpoint = Date.now() + this.everyMs;
  }

  /** At least one row per invocation, so that every invocation moves the file on. */
  spent(): boolean {
    return this.readHere > 0 && (Date.now() > this.deadline || this.readHere >= this.maxRows);
  }

  rowRead(): void {
    this.readHere++;
  }

  checkpointDue(): boolean {
    return Date.now() >= this.nextCheckpoint;
  }

  checkpointSaved(): void {
    this.nextCheckpoint = Date.now() + this.everyMs;
  }
}

/** The header a checkpoint recorded (checked when it was first read). */
function headerOf(file: ImportFile, names: readonly string[]): Header {
  const h = readHeader(file.target.kind, names);
  if (!h.ok) throw new Error(`the checkpoint of ${file.key} holds a header that does not check: ${h.refusal.message}`);
  return h.value;
}
