// What a CSV drop came to: the tally, the checkpoint an import saves, the report of a finished
// file, and the error report's lines (cells made safe to open in a spreadsheet).
import { MAX_RECORD_CHARS, type RowRefusal } from './csv-import';
import type { ErrorCode, Refusal } from './errors';
import type { ImportResult } from './import-keys';

/** Words for refusals that arrive with a code only (holding events by id). */
const codeMessages: Partial<Record<ErrorCode, string>> = {
  EVENT_NOT_FOUND: 'no usage event has this id',
  EVENT_HELD_BY_OTHER_BATCH: 'another open batch holds this event',
  EVENT_ALREADY_REVERSED: 'the event is reversed',
  EVENT_ALREADY_PROCESSED: 'the event is already rated',
  EVENT_NOT_RATED: 'the event is not rated',
  EVENT_ID_CONFLICT: 'another event with this id and different content exists',
};

export const messageFor = (code: ErrorCode, message?: string): string => message ?? codeMessages[code] ?? code;

export function importStatus(r: Pick<ImportResult, 'rejected' | 'error'>): ImportResult['status'] {
  if (r.error) return 'FAILED';
  return r.rejected > 0 ? 'COMPLETED_WITH_ERRORS' : 'COMPLETED';
}

/** What a file's rows came to so far; each row counted once, whichever invocation read it. */
export interface Tally {
  accepted: number;
  duplicates: number;
  rejected: number;
  children: { added: number; rejected: number };
}

export const emptyTally = (): Tally => ({
  accepted: 0,
  duplicates: 0,
  rejected: 0,
  children: { added: 0, rejected: 0 },
});

/**
 * Where an import stands, saved in its marker so that the next invocation (a continuation, a
 * retry, a takeover) goes on from there: every row before `offset` is counted in `tally` and, when
 * rejected, written to one of `errorParts` (or held in the carried state, waiting for its turn).
 */
export interface ImportCheckpoint {
  /** Checkpoints saved before this one. */
  seq: number;
  /** Bytes of the file read: the next record starts here. */
  offset: number;
  /** Lines before `offset`, so that a message about a later line counts from the file's start. */
  line: number;
  rows: number;
  tally: Tally;
  /** The header as in the file (not read yet: absent). */
  header?: string[];
  encoding?: BufferEncoding;
  /** A service call refused the rest of the file (the batch left DRAFT): later rows get this. */
  stopped?: Refusal;
  /** Names of the errors CSV parts written so far, in order. */
  errorParts: string[];
  /** Name of the carried state (held rejections, an open replacement group), if any. */
  carry?: string;
  /** Reading is over (the end of the file, or the file refused as a whole): only the report is left. */
  finished?: { error?: Refusal };
}

/** The report of a finished import. */
export function importResultOf(cp: ImportCheckpoint): ImportResult {
  const error = cp.finished?.error ?? cp.stopped;
  const { tally } = cp;
  return {
    status: importStatus({ rejected: tally.rejected, ...(error ? { error } : {}) }),
    rows: cp.rows,
    accepted: tally.accepted,
    duplicates: tally.duplicates,
    rejected: tally.rejected,
    ...(error ? { error } : {}),
    ...(tally.children.added + tally.children.rejected > 0 ? { children: tally.children } : {}),
  };
}

/** Why reading a file stopped, from csv-parse's error code (the rows before it were imported). */
export function parseFailure(error: { code?: string; message: string }, rowsRead: number, line: number): Refusal {
  const at = `after row ${rowsRead} (line ${line})`;
  if (error.code === 'CSV_MAX_RECORD_SIZE') {
    return {
      code: 'VALIDATION_FAILED',
      message: `a row ${at} is longer than ${MAX_RECORD_CHARS} characters (an unclosed quote?); the file was read up to there`,
    };
  }
  if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
    return {
      code: 'VALIDATION_FAILED',
      message: `a quote opened ${at} is never closed; the file was read up to there`,
    };
  }
  return { code: 'VALIDATION_FAILED', message: `the file could not be read ${at}: ${error.message}` };
}

// ---- the error report -------------------------------------------------------------------------

// A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
const FORMULA_START = /^[=+\-@\t\r]/;

/** Prefixes a formula-like cell with a single quote, so that a spreadsheet shows it as text. */
export const neutralise = (cell: string): string => (FORMULA_START.test(cell) ? `'${cell}` : cell);

/** `row,code,message` and the file's own columns. */
export const errorReportHeader = (names: readonly string[]): string[] => [
  'row',
  'code',
  'message',
  ...names.map(neutralise),
];

/** The error report line of a row: its number, code and message, then its cells as they were (neutralised). */
export const errorReportLine = (e: RowRefusal): string[] => [
  String(e.row),
  e.code,
  neutralise(e.message),
  ...e.record.map(neutralise),
];
