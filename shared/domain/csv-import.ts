// CSV drops (DESIGN §4), the pure part: the columns of each kind of file, the header check, and a
// data row to the input the API takes. Replacement rows are grouped in csv-replacement-groups.ts,
// outcomes and the error report are in csv-import-report.ts; the byte stream is read by the
// import service (shared/services/csv-imports/csv-records.ts).
import type { Refusal } from './errors';
import type { ImportKind } from './import-keys';
import { ATTRIBUTE_NAME, UsageEventInput } from './usage-event';
import { Id } from './values';

/** Longest record accepted, in characters. A real row is a few hundred; a longer one ends the read. */
export const MAX_RECORD_CHARS = 64 * 1024;

/** A data row that did not land: its number (1-based; the header is row 0), why, and its cells. */
export interface RowRefusal extends Refusal {
  row: number;
  record: readonly string[];
}

export type Checked<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

const invalid = (message: string): { ok: false; refusal: Refusal } => ({
  ok: false,
  refusal: { code: 'VALIDATION_FAILED', message },
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
export function shapeRefusal(header: Header, record: readonly string[]): Refusal | undefined {
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
  | { originalEventId: string; event?: EventInput; refusal?: Refusal }
  /** Without a usable original the row cannot join any group: it is reported on its own. */
  | { originalEventId?: undefined; refusal: Refusal };

export function replacementRow(header: Header, record: readonly string[]): ReplacementRow {
  const original = idCell(header, record, 'original_event_id');
  if (!original.ok) return { refusal: original.refusal };
  const originalEventId = original.value;
  const others = header.names.filter((n) => n !== 'original_event_id');
  if (others.every((n) => cellOf(header, record, n) === '')) return { originalEventId };
  if (cellOf(header, record, 'event_id') === '') {
    return {
      originalEventId,
      refusal: {
        code: 'VALIDATION_FAILED',
        message: 'event_id: required for a replacement (leave every other cell empty to reverse only)',
      },
    };
  }
  const event = usageEventRow(header, record);
  return event.ok ? { originalEventId, event: event.value } : { originalEventId, refusal: event.refusal };
}
