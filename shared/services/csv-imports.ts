// CSV imports (DESIGN §4, CSV drops). A file is streamed row by row into the very service calls
// the API makes, in chunks; every data row ends accepted, a duplicate, or rejected with its code
// in results/<key>.errors.csv. A file version is imported once (import markers), and a re-run
// after a crash is safe because every call below is idempotent.
import { randomUUID } from 'node:crypto';
import { CsvError } from 'csv-parse';
import { z } from 'zod';
import { MAX_ADD_PER_CALL } from '../domain/batch';
import {
  batchEventRow,
  csvRecords,
  errorReportHeader,
  errorReportLine,
  expectedHeader,
  importStatus,
  messageFor,
  parseFailure,
  planGroup,
  readHeader,
  replacementRow,
  ReplacementGrouper,
  shapeProblem,
  usageEventRow,
  type EventInput,
  type GroupPlan,
  type GroupRow,
  type Header,
  type Problem,
  type ReplacementGroup,
  type RowError,
} from '../domain/csv-import';
import { DomainError } from '../domain/errors';
import { errorsKeyOf, resultKeyOf, type ImportFile, type ImportResult } from '../domain/import-keys';
import { MAX_EVENTS_PER_REQUEST } from '../domain/usage-event';
import { logger } from '../logger';
import { metricFields, metricNames } from '../metrics';
import { batchFor } from '../store/batches';
import { emptyErrorReport, errorReportWriter, openImportFile, writeImportResult, type ErrorReportWriter } from '../store/import-files';
import { claimImport, completeImport, LEASE_RENEW_MS, releaseLease, renewLease } from '../store/import-markers';
import { ingestEvents } from '../store/usage-events';
import { addEventIds, addReplacementsToBatch } from './batches';

/** One kind of file: how its rows are taken in. */
export interface Importer {
  /** Refuses the file as a whole before a row is read; throws a DomainError (unknown batch, batch not in DRAFT). */
  check?(file: ImportFile): Promise<void>;
  open(header: Header, run: ImportRun): RowSink;
}

/** Takes the data rows of one file in order; sends them in chunks. */
export interface RowSink {
  /** `record` has the header's columns (checked before). */
  add(row: number, record: readonly string[]): Promise<void>;
  /** The first row whose outcome is not known yet (held in a chunk), if any. */
  firstPending(): number | undefined;
  /** Sends the pending chunk now. */
  flush(): Promise<void>;
  /** Sends everything still pending, at the end of the file. */
  end(): Promise<void>;
}

export interface Tally {
  accepted: number;
  duplicates: number;
  rejected: number;
  children: { added: number; rejected: number };
}

/** What an importer's rows report to while a file is read. */
export interface ImportRun {
  readonly file: ImportFile;
  readonly tally: Tally;
  now(): string;
  reject(e: RowError): Promise<void>;
  /**
   * Runs one service call for a chunk of rows. A DomainError (the batch stopped taking edits)
   * rejects the chunk's rows with its code and stops the import: later rows get the same code.
   */
  send<T>(rows: ReadonlyArray<{ row: number; record: readonly string[] }>, call: () => Promise<T>): Promise<T | undefined>;
}

/** Another delivery of the same file holds it now: this one stops without writing anything. */
class LeaseLost extends Error {
  constructor() {
    super('another import took this file over');
    this.name = 'LeaseLost';
  }
}

/**
 * Imports a file version unless it is done or being imported (then logs and does nothing). A
 * crash releases the lease and throws, so that Lambda's retry takes the file over at once.
 * `deadline` (epoch ms): no row is read after it, so the report is written within the time limit.
 */
export async function importOnce(file: ImportFile, importer: Importer, deadline = Number.POSITIVE_INFINITY): Promise<ImportResult | undefined> {
  const owner = randomUUID();
  const claim = await claimImport(file, owner, Date.now());
  if (!claim.claimed) {
    logger.info('import skipped: this file version is imported already or being imported', { ...describe(file), marker: claim.marker.status });
    return undefined;
  }
  let lost = false;
  const renewal = setInterval(() => {
    renewLease(file, owner, Date.now()).then(
      (held) => (lost ||= !held),
      (error: unknown) => logger.warn('import lease renewal failed', { ...describe(file), error }),
    );
  }, LEASE_RENEW_MS);
  renewal.unref();
  const errorsKey = errorsKeyOf(file.key);
  let reportHeader = errorReportHeader([]);
  let report: ErrorReportWriter | undefined;
  try {
    logger.info('import started', { ...describe(file), attempt: claim.attempt });
    const result = await readFile(file, importer, deadline, {
      assertLease: () => {
        if (lost) throw new LeaseLost();
      },
      openReport: (header) => {
        reportHeader = errorReportHeader(header.names);
        return (report = errorReportWriter(file.bucket, errorsKey, reportHeader));
      },
    });
    // Checked with a write, not the timer's last word: only the holder of the lease reports.
    if (lost || !(await renewLease(file, owner, Date.now()))) throw new LeaseLost();
    if (report && report.lines > 0) {
      await report.finish();
      result.errorsKey = errorsKey;
    } else {
      await emptyErrorReport(file.bucket, errorsKey, reportHeader);
    }
    await writeImportResult(file.bucket, resultKeyOf(file.key), result);
    if (!(await completeImport(file, owner, result, Date.now()))) logger.warn('import lease lost after the report was written', describe(file));
    logResult(file, result);
    return result;
  } catch (error) {
    await report?.abort();
    if (error instanceof LeaseLost) {
      logger.warn('import stopped: another delivery took this file over', describe(file));
      return undefined;
    }
    await releaseLease(file, owner).catch((releaseError: unknown) => logger.warn('import lease release failed', { ...describe(file), error: releaseError }));
    throw error;
  } finally {
    clearInterval(renewal);
  }
}

const describe = (file: ImportFile) => ({ bucket: file.bucket, key: file.key, version: file.version, kind: file.target.kind });

function logResult(file: ImportFile, result: ImportResult): void {
  const fields = {
    ...describe(file),
    status: result.status,
    rows: result.rows,
    accepted: result.accepted,
    duplicates: result.duplicates,
    rejected: result.rejected,
    ...(result.error ? { error: result.error } : {}),
    ...metricFields({ [metricNames.importRowsAccepted]: result.accepted, [metricNames.importRowsRejected]: result.rejected }, Date.now()),
  };
  // A file that could not be imported is an ERROR line: the ImportFailures alarm counts them.
  if (result.status === 'FAILED') logger.error('import failed', fields);
  else logger.info('import finished', fields);
}

interface ReadHooks {
  assertLease(): void;
  openReport(header: Header): ErrorReportWriter;
}

const MAX_HELD_REJECTIONS = 1000;

/** Reads a file through its importer and answers its report. */
async function readFile(file: ImportFile, importer: Importer, deadline: number, hooks: ReadHooks): Promise<ImportResult> {
  const tally: Tally = { accepted: 0, duplicates: 0, rejected: 0, children: { added: 0, rejected: 0 } };
  let rows = 0;
  let report: ErrorReportWriter | undefined;
  let stopped: Problem | undefined;
  let error: Problem | undefined;

  const result = (): ImportResult => {
    const failure = error ?? stopped;
    return {
      status: importStatus({ rejected: tally.rejected, ...(failure ? { error: failure } : {}) }),
      rows,
      accepted: tally.accepted,
      duplicates: tally.duplicates,
      rejected: tally.rejected,
      ...(failure ? { error: failure } : {}),
      ...(tally.children.added + tally.children.rejected > 0 ? { children: tally.children } : {}),
    };
  };
  // Rejections wait until every earlier row is settled, so that the errors CSV is in row order
  // (up to MAX_HELD_REJECTIONS waiting; then the pending chunk is sent early).
  let held: RowError[] = [];
  const reject = async (e: RowError) => {
    tally.rejected++;
    held.push(e);
  };
  const release = async (before: number) => {
    if (held.length === 0) return;
    held.sort((a, b) => a.row - b.row);
    const ready = held.filter((e) => e.row < before);
    held = held.slice(ready.length);
    for (const e of ready) await report!.write(errorReportLine(e));
  };
  const run: ImportRun = {
    file,
    tally,
    now: () => new Date().toISOString(),
    reject,
    async send(chunk, call) {
      if (stopped) {
        for (const r of chunk) await reject({ ...r, ...stopped });
        return undefined;
      }
      try {
        hooks.assertLease();
        return await call();
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        stopped ??= { code: e.code, message: `${e.message}; the rows from here on were not imported` };
        for (const r of chunk) await reject({ ...r, code: e.code, message: e.message });
        return undefined;
      }
    },
  };

  try {
    await importer.check?.(file);
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    error = { code: e.code, message: e.message };
    return result();
  }
  const body = await openImportFile(file);
  if (!body) {
    error = { code: 'NOT_FOUND', message: 'the file no longer exists (deleted before it could be imported)' };
    return result();
  }

  let header: Header | undefined;
  let sink: RowSink | undefined;
  try {
    for await (const record of csvRecords(body)) {
      if (!header) {
        const h = readHeader(file.target.kind, record);
        if (!h.ok) {
          error = h.problem;
          return result();
        }
        header = h.value;
        report = hooks.openReport(header);
        sink = importer.open(header, run);
        continue;
      }
      if (Date.now() > deadline) {
        error = { code: 'PAYLOAD_TOO_LARGE', message: `the import ran out of time after row ${rows}; split the file and upload the rows after it again` };
        break;
      }
      const row = ++rows;
      const problem = stopped ?? shapeProblem(header, record);
      if (problem) await reject({ row, record, ...problem });
      else await sink!.add(row, record);
      if (held.length >= MAX_HELD_REJECTIONS) await sink!.flush();
      await release(sink!.firstPending() ?? row + 1);
      // Only a replacement group still open can keep this many waiting: memory wins over order.
      if (held.length >= MAX_HELD_REJECTIONS) await release(Number.POSITIVE_INFINITY);
    }
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    error = parseFailure(e, rows, Number(e.lines ?? 0));
  }
  // Rows read before a stop are sent, whatever stopped the reading.
  await sink?.end();
  await release(Number.POSITIVE_INFINITY);
  if (!header) error ??= { code: 'VALIDATION_FAILED', message: `the file is empty: expected the header ${expectedHeader(file.target.kind)}` };
  return result();
}

// ---- the importers ----------------------------------------------------------------------------

/** Ingest calls in flight at once for one file: the next chunk is read and sent while one is written. */
const CHUNKS_IN_FLIGHT = 2;

/**
 * Chunks sent while earlier ones are still being written, oldest first. A chunk that names an id
 * (event or parent) an earlier chunk in flight names waits for that chunk, so that the file's
 * order still decides which row lands an id and a parent lands before a child naming it.
 */
class ChunksInFlight {
  private readonly chunks: Array<{ firstRow: number; ids: ReadonlySet<string>; done: Promise<void> }> = [];

  /** Starts `send` once the chunks it depends on are written; waits while `limit` are in flight. */
  async start(firstRow: number, ids: ReadonlySet<string>, send: () => Promise<void>, limit: number): Promise<void> {
    const before = this.chunks.filter((c) => [...ids].some((id) => c.ids.has(id))).map((c) => c.done);
    const entry = { firstRow, ids, done: Promise.all(before).then(send) };
    this.chunks.push(entry);
    // Settled ones leave at once; a failure is thrown by drain() or the next start().
    entry.done.then(
      () => this.chunks.splice(this.chunks.indexOf(entry), 1),
      () => undefined,
    );
    try {
      while (this.chunks.length >= limit) await Promise.race(this.chunks.map((c) => c.done));
    } catch (error) {
      // Nothing is left writing behind a failed import (its retry may start at once).
      await this.drain().catch(() => undefined);
      throw error;
    }
  }

  firstRow(): number | undefined {
    return this.chunks[0]?.firstRow;
  }

  /** Waits for every chunk; throws the first failure once all have settled. */
  async drain(): Promise<void> {
    const outcomes = await Promise.allSettled(this.chunks.map((c) => c.done));
    const failure = outcomes.find((o) => o.status === 'rejected');
    if (failure) throw failure.reason;
  }
}

/** `usage-events/<name>.csv`: ingest, as `POST /v1/usage-events` does, MAX_EVENTS_PER_REQUEST rows at a time. */
export const usageEventsImporter: Importer = {
  open(header, run) {
    let pending: Array<{ row: number; record: readonly string[]; input: EventInput }> = [];
    // The same event twice in one chunk is a duplicate, as it is across chunks (ingest would call it a conflict).
    let inChunk = new Map<string, string>();
    const inFlight = new ChunksInFlight();
    const send = async (chunk: typeof pending) => {
      const res = await run.send(chunk, () => ingestEvents(chunk.map((p) => p.input), run.now()));
      if (!res) return;
      run.tally.accepted += res.accepted;
      run.tally.duplicates += res.duplicates;
      for (const r of res.rejected) await run.reject({ row: chunk[r.index]!.row, record: chunk[r.index]!.record, code: r.code, message: r.message });
    };
    const dispatch = async () => {
      if (pending.length === 0) return;
      const chunk = pending;
      pending = [];
      inChunk = new Map();
      const ids = new Set(chunk.flatMap((p) => [p.input.eventId, p.input.parentEventId].filter((id): id is string => typeof id === 'string')));
      await inFlight.start(chunk[0]!.row, ids, () => send(chunk), CHUNKS_IN_FLIGHT);
    };
    const flush = async () => {
      await dispatch();
      await inFlight.drain();
    };
    return {
      async add(row, record) {
        const r = usageEventRow(header, record);
        if (!r.ok) return run.reject({ row, record, ...r.problem });
        const content = JSON.stringify(r.value);
        if (inChunk.get(r.value.eventId as string) === content) {
          run.tally.duplicates++;
          return;
        }
        inChunk.set(r.value.eventId as string, content);
        pending.push({ row, record, input: r.value });
        if (pending.length >= MAX_EVENTS_PER_REQUEST) await dispatch();
      },
      firstPending: () => inFlight.firstRow() ?? pending[0]?.row,
      flush,
      end: flush,
    };
  },
};

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
      const res = await run.send([...chunk.values()], () => addEventIds(batchIdOf(run.file), ids, run.file.actor, run.now(), sourceOf(run.file)));
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
        if (!r.ok) return run.reject({ row, record, ...r.problem });
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
  open(header, run) {
    const grouper = new ReplacementGrouper();
    let pending: Array<Extract<GroupPlan, { ok: true }>> = [];
    let pendingRows = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      const chunk = pending;
      pending = [];
      pendingRows = 0;
      const rows = chunk.flatMap((p) => p.rows);
      const res = await run.send(rows, () => addReplacementsToBatch(batchIdOf(run.file), chunk.map((p) => p.request), run.file.actor, run.now(), sourceOf(run.file)));
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
            await run.reject({ row: r.row, record: r.record, code: refusal.code, message: own ? refusal.message : `row ${culprit} of the same original was rejected: ${refusal.message}` });
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
        if (r.originalEventId === undefined) return run.reject({ row, record, ...r.problem });
        const groupRow: GroupRow = { row, record, ...(r.event ? { event: r.event } : {}), ...(r.problem ? { problem: r.problem } : {}) };
        const out = grouper.add(r.originalEventId, groupRow);
        for (const e of out.rejected ?? []) await run.reject(e);
        await take(out.ended);
      },
      firstPending: () => pending[0]?.rows[0]?.row ?? grouper.firstRow(),
      flush,
      async end() {
        await take(grouper.finish());
        await flush();
      },
    };
  },
};
