// CSV drops (DESIGN §4), the pure part: how files are parsed, the columns of each kind of file,
// the header check, a data row to the input the API takes, grouping of replacement rows, and
// cells made safe to open in a spreadsheet when an error report writes them back.
import { Readable } from 'node:stream';
import { parse, type Options as ParseOptions } from 'csv-parse';
import { MAX_REPLACEMENTS_PER_ORIGINAL } from './batch';
import type { ErrorCode } from './errors';
import type { ImportKind, ImportResult } from './import-keys';
import { ATTRIBUTE_NAME, UsageEventInput } from './usage-event';
import { Id } from './values';

/** Longest record accepted, in characters. A real row is a few hundred; a longer one ends the read. */
export const MAX_RECORD_CHARS = 64 * 1024;

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

export interface Problem {
  code: ErrorCode;
  message: string;
}

/** A data row that did not land: its number (1-based; the header is row 0), why, and its cells. */
export interface RowError extends Problem {
  row: number;
  record: readonly string[];
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: Problem };

const invalid = (message: string): { ok: false; problem: Problem } => ({
  ok: false,
  problem: { code: 'VALIDATION_FAILED', message },
});

// ---- columns and the header -------------------------------------------------------------------

const EVENT_COLUMNS = ['event_id', 'subscription_id', 'product_id', 'quantity', 'occurred_at'] as const;
const ATTRIBUTE_PREFIX = 'attr_';

interface ColumnSpec {
  required: readonly string[];
  optional: readonly string[];
  /** `attr_<name>` columns become the event's attributes. */
  attributes: boolean;
}

export const columnSpecs: Readonly<Record<ImportKind, ColumnSpec>> = {
  'usage-events': { required: EVENT_COLUMNS, optional: ['parent_event_id'], attributes: true },
  'batch-events': { required: ['event_id'], optional: [], attributes: false },
  // A file of reverse-only rows may carry original_event_id alone; otherwise all event columns.
  'batch-replacements': {
    required: ['original_event_id'],
    optional: [...EVENT_COLUMNS, 'parent_event_id'],
    attributes: true,
  },
};

export interface Header {
  kind: ImportKind;
  /** Column names as in the file (trimmed), in order. */
  names: readonly string[];
  position: ReadonlyMap<string, number>;
  attributes: ReadonlyArray<readonly [name: string, position: number]>;
}

/** The header a kind of file expects, for messages: `event_id,...,[parent_event_id],[attr_<name>...]`. */
export function expectedHeader(kind: ImportKind): string {
  const spec = columnSpecs[kind];
  return [
    ...spec.required,
    ...spec.optional.map((c) => `[${c}]`),
    ...(spec.attributes ? ['[attr_<name>...]'] : []),
  ].join(',');
}

/** The first record of a file: every required column present, none unknown, none twice. */
export function readHeader(kind: ImportKind, record: readonly string[]): Checked<Header> {
  const spec = columnSpecs[kind];
  const names = record.map((n) => n.trim());
  const known = new Set([...spec.required, ...spec.optional]);
  const problems: string[] = [];
  const position = new Map<string, number>();
  const attributes: Array<readonly [string, number]> = [];
  const unknown: string[] = [];
  names.forEach((name, i) => {
    if (position.has(name)) problems.push(`column ${name || `#${i + 1}`} appears twice`);
    position.set(name, i);
    if (known.has(name)) return;
    const attribute =
      spec.attributes && name.startsWith(ATTRIBUTE_PREFIX) ? name.slice(ATTRIBUTE_PREFIX.length) : undefined;
    if (attribute !== undefined && ATTRIBUTE_NAME.test(attribute)) attributes.push([attribute, i]);
    else unknown.push(name === '' ? `#${i + 1} (no name)` : name);
  });
  const missing = spec.required.filter((c) => !position.has(c));
  if (unknown.length > 0) problems.push(`unknown column(s): ${unknown.join(', ')}`);
  if (missing.length > 0) problems.push(`missing column(s): ${missing.join(', ')}`);
  const eventColumns = EVENT_COLUMNS.filter((c) => position.has(c));
  if (kind === 'batch-replacements' && eventColumns.length > 0 && eventColumns.length < EVENT_COLUMNS.length) {
    problems.push(`replacement rows need all of ${EVENT_COLUMNS.join(', ')} (or none, for a file that only reverses)`);
  }
  if (problems.length === 0) return { ok: true, value: { kind, names, position, attributes } };
  // A spreadsheet saved with another separator arrives as one long column name.
  const hint =
    names.length === 1 && /[;\t|]/.test(names[0]!) ? ' (the file looks separated by something other than commas)' : '';
  return invalid(`header: ${problems.join('; ')}${hint}; expected ${expectedHeader(kind)}`);
}

// ---- data rows --------------------------------------------------------------------------------

/** Problems of a row as a whole: it must have the header's columns and be readable text. */
export function shapeProblem(header: Header, record: readonly string[]): Problem | undefined {
  if (record.length !== header.names.length) {
    return {
      code: 'VALIDATION_FAILED',
      message: `expected ${header.names.length} column(s) as in the header, found ${record.length}`,
    };
  }
  // csv-parse decodes bytes that are not UTF-8 as U+FFFD; such a row would store garbled text.
  if (record.some((cell) => cell.includes('\uFFFD'))) {
    return { code: 'VALIDATION_FAILED', message: 'the row is not valid UTF-8 (save the file as UTF-8)' };
  }
  return undefined;
}

// Cells are trimmed: blanks around a value are formatting, never data.
const cellOf = (header: Header, record: readonly string[], column: string): string => {
  const i = header.position.get(column);
  return i === undefined ? '' : (record[i] ?? '').trim();
};

const fieldColumns: Record<string, string> = {
  eventId: 'event_id',
  subscriptionId: 'subscription_id',
  productId: 'product_id',
  quantity: 'quantity',
  occurredAt: 'occurred_at',
  parentEventId: 'parent_event_id',
};

/** A usage event as the API takes it (`POST /v1/usage-events`), built from a row's cells. */
export type EventInput = Record<string, unknown>;

/** A usage-events row (or a replacement row's event), validated by the API's own schema. */
export function usageEventRow(header: Header, record: readonly string[]): Checked<EventInput> {
  const missing = EVENT_COLUMNS.filter((c) => cellOf(header, record, c) === '');
  if (missing.length > 0) return invalid(`${missing.join(', ')}: required`);
  const input: EventInput = {};
  for (const [field, column] of Object.entries(fieldColumns)) {
    const value = cellOf(header, record, column);
    if (value !== '') input[field] = value;
  }
  const attributes: Record<string, string> = {};
  for (const [name, i] of header.attributes) {
    const value = (record[i] ?? '').trim();
    if (value !== '') attributes[name] = value;
  }
  if (Object.keys(attributes).length > 0) input.attributes = attributes;
  // A row is valid exactly when the same event posted to the API would be.
  const parsed = UsageEventInput.safeParse(input);
  if (parsed.success) return { ok: true, value: input };
  const issue = parsed.error.issues[0]!;
  const [field, attribute] = issue.path.map(String);
  const column =
    field === 'attributes'
      ? attribute
        ? `${ATTRIBUTE_PREFIX}${attribute}`
        : 'attr_*'
      : (fieldColumns[field ?? ''] ?? field ?? 'row');
  return invalid(`${column}: ${issue.message}`);
}

function idCell(header: Header, record: readonly string[], column: string): Checked<string> {
  const value = cellOf(header, record, column);
  if (value === '') return invalid(`${column}: required`);
  const parsed = Id.safeParse(value);
  return parsed.success ? { ok: true, value } : invalid(`${column}: ${parsed.error.issues[0]!.message}`);
}

export function batchEventRow(header: Header, record: readonly string[]): Checked<string> {
  return idCell(header, record, 'event_id');
}

/** A replacements row: its original, and the replacement event unless the row only reverses. */
export type ReplacementRow =
  | { originalEventId: string; event?: EventInput; problem?: Problem }
  /** Without a usable original the row cannot join any group: it is reported on its own. */
  | { originalEventId?: undefined; problem: Problem };

export function replacementRow(header: Header, record: readonly string[]): ReplacementRow {
  const original = idCell(header, record, 'original_event_id');
  if (!original.ok) return { problem: original.problem };
  const originalEventId = original.value;
  const others = header.names.filter((n) => n !== 'original_event_id');
  if (others.every((n) => cellOf(header, record, n) === '')) return { originalEventId };
  if (cellOf(header, record, 'event_id') === '') {
    return {
      originalEventId,
      problem: {
        code: 'VALIDATION_FAILED',
        message: 'event_id: required for a replacement (leave every other cell empty to reverse only)',
      },
    };
  }
  const event = usageEventRow(header, record);
  return event.ok ? { originalEventId, event: event.value } : { originalEventId, problem: event.problem };
}

// ---- replacement groups -----------------------------------------------------------------------

export interface GroupRow {
  row: number;
  record: readonly string[];
  event?: EventInput;
  problem?: Problem;
}

export interface ReplacementGroup {
  originalEventId: string;
  /** At most MAX_REPLACEMENTS_PER_ORIGINAL rows; once an original has more, all are rejected and none kept. */
  rows: GroupRow[];
  /** Rows beyond the limit (already rejected). */
  overflow: number;
}

/** A grouper carried from one invocation of an import to the next: the originals whose rows ended, and the open group. */
export interface GrouperState {
  ended: string[];
  current?: ReplacementGroup;
}

/**
 * Collects the adjacent rows of one original. Files are streamed and each original is sent as
 * soon as its rows end, so a later row for an original whose rows already ended cannot join them:
 * it is rejected with REPLACEMENT_ROWS_NOT_ADJACENT. Remembers the originals seen (ids only).
 */
export class ReplacementGrouper {
  private current: ReplacementGroup | undefined;
  private readonly ended: Set<string>;

  /** `state`: where an earlier invocation of the same import left off (see state()). */
  constructor(state?: GrouperState) {
    this.ended = new Set(state?.ended);
    this.current = state?.current;
  }

  /** What the next invocation needs to go on exactly as this one would have. */
  state(): GrouperState {
    return { ended: [...this.ended], ...(this.current ? { current: this.current } : {}) };
  }

  /** Adds a row; answers the group this row ended, if any, and rows rejected now, if any. */
  add(originalEventId: string, row: GroupRow): { ended?: ReplacementGroup; rejected?: RowError[] } {
    const current = this.current;
    if (current?.originalEventId === originalEventId) {
      if (current.overflow === 0 && current.rows.length < MAX_REPLACEMENTS_PER_ORIGINAL) {
        current.rows.push(row);
        return {};
      }
      // Too many rows: the original is refused whole, at once, so that its rows are not kept.
      const rejected = [
        ...rejectGroup(current.rows, tooMany(current)),
        { row: row.row, record: row.record, ...tooMany(current) },
      ];
      current.rows = [];
      current.overflow++;
      return { rejected };
    }
    if (this.ended.has(originalEventId)) {
      return {
        rejected: [
          {
            row: row.row,
            record: row.record,
            code: 'REPLACEMENT_ROWS_NOT_ADJACENT',
            message: `the rows of original ${originalEventId} must be adjacent; its earlier rows were already imported`,
          },
        ],
      };
    }
    this.current = { originalEventId, rows: [row], overflow: 0 };
    if (!current) return {};
    this.ended.add(current.originalEventId);
    return { ended: current };
  }

  /** The first row of the group still open, if any. */
  firstRow(): number | undefined {
    return this.current?.rows[0]?.row;
  }

  /** The last group, at the end of the file. */
  finish(): ReplacementGroup | undefined {
    const last = this.current;
    this.current = undefined;
    if (last) this.ended.add(last.originalEventId);
    return last;
  }
}

const tooMany = (g: ReplacementGroup): Problem => ({
  code: 'VALIDATION_FAILED',
  message: `original ${g.originalEventId} has more than ${MAX_REPLACEMENTS_PER_ORIGINAL} rows; at most ${MAX_REPLACEMENTS_PER_ORIGINAL} replacement events per original`,
});

export type GroupPlan =
  | {
      ok: true;
      request: { originalEventId: string; events: EventInput[] };
      /** The rows the request stands for, in order (replacement `events[i]` is `rows[i]`). */
      rows: GroupRow[];
      /** Repeated reverse-only rows: nothing more to do for them. */
      duplicates: GroupRow[];
    }
  | { ok: false; rejections: RowError[] };

/** An original's rows stand or fall together, as one replacement request does in the API. */
export function planGroup(g: ReplacementGroup): GroupPlan {
  if (g.overflow > 0) return { ok: false, rejections: [] }; // rejected as the rows came
  const culprit = g.rows.find((r) => r.problem);
  if (culprit) return { ok: false, rejections: rejectGroup(g.rows, culprit.problem!, culprit.row) };
  const replacing = g.rows.filter((r) => r.event);
  const reversing = g.rows.filter((r) => !r.event);
  if (replacing.length > 0 && reversing.length > 0) {
    const problem: Problem = {
      code: 'VALIDATION_FAILED',
      message: `original ${g.originalEventId} has both a reverse-only row and replacement rows`,
    };
    return { ok: false, rejections: rejectGroup(g.rows, problem) };
  }
  if (replacing.length === 0) {
    return {
      ok: true,
      request: { originalEventId: g.originalEventId, events: [] },
      rows: reversing.slice(0, 1),
      duplicates: reversing.slice(1),
    };
  }
  return {
    ok: true,
    request: { originalEventId: g.originalEventId, events: replacing.map((r) => r.event!) },
    rows: replacing,
    duplicates: [],
  };
}

/** Every row of a group rejected: the culprit row with its own message, the others pointing at it. */
export function rejectGroup(rows: readonly GroupRow[], problem: Problem, culpritRow?: number): RowError[] {
  return rows.map((r) => ({
    row: r.row,
    record: r.record,
    code: problem.code,
    message:
      culpritRow === undefined || r.row === culpritRow
        ? problem.message
        : `row ${culpritRow} of the same original was rejected: ${problem.message}`,
  }));
}

// ---- outcomes ---------------------------------------------------------------------------------

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
  stopped?: Problem;
  /** Names of the errors CSV parts written so far, in order. */
  errorParts: string[];
  /** Name of the carried state (held rejections, an open replacement group), if any. */
  carry?: string;
  /** Reading is over (the end of the file, or a problem with the file as a whole): only the report is left. */
  finished?: { error?: Problem };
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
export function parseFailure(error: { code?: string; message: string }, rowsRead: number, line: number): Problem {
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
export const errorReportLine = (e: RowError): string[] => [
  String(e.row),
  e.code,
  neutralise(e.message),
  ...e.record.map(neutralise),
];
