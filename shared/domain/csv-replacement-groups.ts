// Replacement rows of a CSV drop, grouped by original: an original's adjacent rows become one
// replacement request, as the API takes it.
import { MAX_REPLACEMENTS_PER_ORIGINAL } from './batch';
import type { EventInput, RowRefusal } from './csv-import';
import type { Refusal } from './errors';

export interface GroupRow {
  row: number;
  record: readonly string[];
  event?: EventInput;
  refusal?: Refusal;
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
  add(originalEventId: string, row: GroupRow): { ended?: ReplacementGroup; rejected?: RowRefusal[] } {
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

const tooMany = (g: ReplacementGroup): Refusal => ({
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
  | { ok: false; rejections: RowRefusal[] };

/** An original's rows stand or fall together, as one replacement request does in the API. */
export function planGroup(g: ReplacementGroup): GroupPlan {
  if (g.overflow > 0) return { ok: false, rejections: [] }; // rejected as the rows came
  const culprit = g.rows.find((r) => r.refusal);
  if (culprit) return { ok: false, rejections: rejectGroup(g.rows, culprit.refusal!, culprit.row) };
  const replacing = g.rows.filter((r) => r.event);
  const reversing = g.rows.filter((r) => !r.event);
  if (replacing.length > 0 && reversing.length > 0) {
    const refusal: Refusal = {
      code: 'VALIDATION_FAILED',
      message: `original ${g.originalEventId} has both a reverse-only row and replacement rows`,
    };
    return { ok: false, rejections: rejectGroup(g.rows, refusal) };
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
function rejectGroup(rows: readonly GroupRow[], refusal: Refusal, culpritRow?: number): RowRefusal[] {
  return rows.map((r) => ({
    row: r.row,
    record: r.record,
    code: refusal.code,
    message:
      culpritRow === undefined || r.row === culpritRow
        ? refusal.message
        : `row ${culpritRow} of the same original was rejected: ${refusal.message}`,
  }));
}
