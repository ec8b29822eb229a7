// The importers of a batch's files: `batches/<batchId>/events/` and `batches/<batchId>/replacements/`.
import { z } from 'zod';
import { MAX_ADD_PER_CALL } from '../../domain/batch';
import { batchEventRow, replacementRow } from '../../domain/csv-import';
import { messageFor } from '../../domain/csv-import-report';
import {
  planGroup,
  ReplacementGrouper,
  type GroupPlan,
  type GroupRow,
  type GrouperState,
  type ReplacementGroup,
} from '../../domain/csv-replacement-groups';
import { DomainError } from '../../domain/errors';
import type { ImportFile } from '../../domain/import-keys';
import { batchFor } from '../../store/batches';
import { addEventIds, addReplacementsToBatch } from '../batches';
import type { Importer } from './importer';

const BatchId = z.uuid();
const batchIdOf = (file: ImportFile): string => (file.target.kind === 'usage-events' ? '' : file.target.batchId);

function batchCheck(action: 'ADD_EVENTS' | 'ADD_REPLACEMENTS') {
  return async (file: ImportFile) => {
    const batchId = batchIdOf(file);
    // Not an id any batch could have: no need to ask the table.
    if (!BatchId.safeParse(batchId).success) throw new DomainError('NOT_FOUND', `batch ${batchId} was not found`);
    await batchFor(batchId, action);
  };
}

const sourceOf = (file: ImportFile): string => `csv:${file.key}`;

/** `batches/<batchId>/events/<name>.csv`: add by ids, as `POST /v1/batches/{id}/events` does, MAX_ADD_PER_CALL at a time. */
export const batchEventsImporter: Importer = {
  check: batchCheck('ADD_EVENTS'),
  open(header, run) {
    let pending = new Map<string, { row: number; record: readonly string[] }>();
    const flush = async () => {
      if (pending.size === 0) return;
      const chunk = pending;
      pending = new Map();
      const ids = [...chunk.keys()];
      const res = await run.send([...chunk.values()], () =>
        addEventIds(batchIdOf(run.file), ids, run.file.actor, run.now(), sourceOf(run.file)),
      );
      if (!res) return;
      let rejectedHere = 0;
      for (const r of res.rejected) {
        const at = chunk.get(r.eventId);
        // Children a listed parent brought along are no row of the file: counted, and in the batch log.
        if (!at) run.tally.children.rejected++;
        else {
          rejectedHere++;
          await run.reject({ ...at, code: r.code, message: messageFor(r.code, r.message) });
        }
      }
      const accepted = ids.length - rejectedHere - res.already;
      run.tally.accepted += accepted;
      run.tally.duplicates += res.already;
      run.tally.children.added += res.added - accepted;
    };
    return {
      async add(row, record) {
        const r = batchEventRow(header, record);
        if (!r.ok) return run.reject({ row, record, ...r.refusal });
        // The same id twice in a chunk is sent once; later chunks find it already held.
        if (pending.has(r.value)) {
          run.tally.duplicates++;
          return;
        }
        pending.set(r.value, { row, record });
        if (pending.size >= MAX_ADD_PER_CALL) await flush();
      },
      firstPending: () => pending.values().next().value?.row,
      flush,
      end: flush,
    };
  },
};

/** Originals per `addReplacementsToBatch` call (the API takes as many per request), and rows. */
const ORIGINALS_PER_CALL = 500;
const ROWS_PER_CALL = 1000;

/**
 * `batches/<batchId>/replacements/<name>.csv`: one replacement request per original, as
 * `POST /v1/batches/{id}/replacements` takes it. An original's rows must be adjacent (the file is
 * streamed; see ReplacementGrouper).
 */
export const batchReplacementsImporter: Importer = {
  check: batchCheck('ADD_REPLACEMENTS'),
  open(header, run, state) {
    const grouper = new ReplacementGrouper(state as GrouperState | undefined);
    let pending: Array<Extract<GroupPlan, { ok: true }>> = [];
    let pendingRows = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      const chunk = pending;
      pending = [];
      pendingRows = 0;
      const rows = chunk.flatMap((p) => p.rows);
      const res = await run.send(rows, () =>
        addReplacementsToBatch(
          batchIdOf(run.file),
          chunk.map((p) => p.request),
          run.file.actor,
          run.now(),
          sourceOf(run.file),
        ),
      );
      if (!res) return;
      const rejected = new Map(res.rejected.map((r) => [r.originalEventId, r]));
      const already = new Set(res.already);
      for (const plan of chunk) {
        const refusal = rejected.get(plan.request.originalEventId);
        if (refusal) {
          // The replacement at `index` is the culprit; its original's other rows fall with it.
          const culprit = refusal.index !== undefined ? plan.rows[refusal.index]?.row : undefined;
          for (const r of plan.rows) {
            const own = culprit === undefined || r.row === culprit;
            await run.reject({
              row: r.row,
              record: r.record,
              code: refusal.code,
              message: own ? refusal.message : `row ${culprit} of the same original was rejected: ${refusal.message}`,
            });
          }
        } else if (already.has(plan.request.originalEventId)) run.tally.duplicates += plan.rows.length;
        else run.tally.accepted += plan.rows.length;
      }
    };
    const take = async (group: ReplacementGroup | undefined) => {
      if (!group) return;
      const plan = planGroup(group);
      if (!plan.ok) {
        for (const r of plan.rejections) await run.reject(r);
        return;
      }
      run.tally.duplicates += plan.duplicates.length;
      pending.push(plan);
      pendingRows += plan.rows.length;
      if (pending.length >= ORIGINALS_PER_CALL || pendingRows >= ROWS_PER_CALL) await flush();
    };
    return {
      async add(row, record) {
        const r = replacementRow(header, record);
        if (r.originalEventId === undefined) return run.reject({ row, record, ...r.refusal });
        const groupRow: GroupRow = {
          row,
          record,
          ...(r.event ? { event: r.event } : {}),
          ...(r.refusal ? { refusal: r.refusal } : {}),
        };
        const out = grouper.add(r.originalEventId, groupRow);
        for (const e of out.rejected ?? []) await run.reject(e);
        await take(out.ended);
      },
      firstPending: () => pending[0]?.rows[0]?.row ?? grouper.firstRow(),
      flush,
      // The open original's rows and the originals already sent (to refuse a late repeat) go on with the file.
      suspend: () => grouper.state(),
      async end() {
        await take(grouper.finish());
        await flush();
      },
    };
  },
};
