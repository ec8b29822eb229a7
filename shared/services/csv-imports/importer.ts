// What an importer is to the read loop, and what the loop hands it: one kind of file's rows taken
// in through a sink, reporting to the run; and how much one invocation may read.
import type { Header, RowRefusal } from '../../domain/csv-import';
import type { ImportCheckpoint, Tally } from '../../domain/csv-import-report';
import type { ImportFile } from '../../domain/import-keys';

/** One kind of file: how its rows are taken in. */
export interface Importer {
  /** Refuses the file as a whole before a row is read; throws a DomainError (unknown batch, batch not in DRAFT). */
  check?(file: ImportFile): Promise<void>;
  /** `state`: what the sink of the invocation before this one carried over (see RowSink.suspend). */
  open(header: Header, run: ImportRun, state?: unknown): RowSink;
}

/** Takes the data rows of one file in order; sends them in chunks. */
export interface RowSink {
  /** `record` has the header's columns (checked before). */
  add(row: number, record: readonly string[]): Promise<void>;
  /** The first row whose outcome is not known yet (held in a chunk), if any. */
  firstPending(): number | undefined;
  /** Sends what is pending now and waits for it. */
  flush(): Promise<void>;
  /** Sends everything still pending, at the end of the file. */
  end(): Promise<void>;
  /**
   * At a checkpoint, after flush(): what the next invocation needs to go on exactly as this one
   * would (rows held back, such as an open replacement group), as JSON-safe data.
   */
  suspend?(): unknown;
}

/** What an importer's rows report to while a file is read. */
export interface ImportRun {
  readonly file: ImportFile;
  readonly tally: Tally;
  now(): string;
  reject(e: RowRefusal): Promise<void>;
  /**
   * Runs one service call for a chunk of rows. A DomainError (the batch stopped taking edits)
   * rejects the chunk's rows with its code and stops the import: later rows get the same code.
   */
  send<T>(
    rows: ReadonlyArray<{ row: number; record: readonly string[] }>,
    call: () => Promise<T>,
  ): Promise<T | undefined>;
}

/** How much of a file one invocation reads before it leaves the rest to a fresh one. */
export interface ImportBudget {
  /** Epoch ms: no row is read after it, so that the checkpoint is saved within the time limit. */
  deadline: number;
  /** Rows read at most. */
  maxRows?: number;
  /** A checkpoint is saved at least this often while reading (default CHECKPOINT_EVERY_MS). */
  checkpointEveryMs?: number;
  /** Asks for a fresh invocation that goes on from the checkpoint just saved. */
  continueLater(file: ImportFile, seq: number): Promise<void>;
}

/** A crash makes the next invocation read again at most the rows of this long (their effects are idempotent). */
export const CHECKPOINT_EVERY_MS = 120_000;

/** Another delivery of the same file holds it now: this one stops without writing anything. */
export class LeaseLost extends Error {
  constructor() {
    super('another import took this file over');
    this.name = 'LeaseLost';
  }
}

/** What one invocation leaves to the next beside its checkpoint: rejections waiting for their turn, the sink's state. */
export interface Carry {
  held: RowRefusal[];
  sink?: unknown;
}

/** What the read loop asks of the invocation that holds the file's lease. */
export interface ReadHooks {
  assertLease(): void;
  /** Appends a line to the errors CSV part of this stretch of the file. */
  writeError(line: readonly string[]): Promise<void>;
  /** Saves a checkpoint; `handOff` gives the lease up for the invocation that goes on. Answers the checkpoint as saved. */
  save(checkpoint: ImportCheckpoint, carry: Carry | undefined, handOff: boolean): Promise<ImportCheckpoint>;
}
