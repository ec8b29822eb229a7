// The importer of `usage-events/<name>.csv` files.
import type { EventInput } from '../../domain/csv-import';
import { usageEventRow } from '../../domain/csv-import';
import { MAX_EVENTS_PER_REQUEST } from '../../domain/usage-event';
import { ingestEvents } from '../ingest-events';
import { ChunksInFlight } from './chunks-in-flight';
import type { Importer } from './importer';

/** Ingest calls in flight at once for one file: the next chunk is read and sent while one is written. */
const CHUNKS_IN_FLIGHT = 2;

export const usageEventsImporter: Importer = {
  open(header, run) {
    let pending: Array<{ row: number; record: readonly string[]; input: EventInput }> = [];
    // The same event twice in one chunk is a duplicate, as it is across chunks (ingest would call it a conflict).
    let inChunk = new Map<string, string>();
    const inFlight = new ChunksInFlight();
    const send = async (chunk: typeof pending) => {
      const res = await run.send(chunk, () =>
        ingestEvents(
          chunk.map((p) => p.input),
          run.now(),
          (i) => `row ${chunk[i]!.row} of the file`,
        ),
      );
      if (!res) return;
      run.tally.accepted += res.accepted;
      run.tally.duplicates += res.duplicates;
      for (const r of res.rejected)
        await run.reject({
          row: chunk[r.index]!.row,
          record: chunk[r.index]!.record,
          code: r.code,
          message: r.message,
        });
    };
    const dispatch = async () => {
      if (pending.length === 0) return;
      const chunk = pending;
      pending = [];
      inChunk = new Map();
      const ids = new Set(
        chunk.flatMap((p) =>
          [p.input.eventId, p.input.parentEventId].filter((id): id is string => typeof id === 'string'),
        ),
      );
      await inFlight.start(chunk[0]!.row, ids, () => send(chunk), CHUNKS_IN_FLIGHT);
    };
    const flush = async () => {
      await dispatch();
      await inFlight.drain();
    };
    return {
      async add(row, record) {
        const r = usageEventRow(header, record);
        if (!r.ok) return run.reject({ row, record, ...r.refusal });
        const content = JSON.stringify(r.value);
        const eventId = String(r.value.eventId);
        if (inChunk.get(eventId) === content) {
          run.tally.duplicates++;
          return;
        }
        inChunk.set(eventId, content);
        pending.push({ row, record, input: r.value });
        if (pending.length >= MAX_EVENTS_PER_REQUEST) await dispatch();
      },
      firstPending: () => inFlight.firstRow() ?? pending[0]?.row,
      flush,
      end: flush,
    };
  },
};
