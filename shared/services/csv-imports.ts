// CSV imports (DESIGN §4, CSV drops). A file is streamed row by row into the very service calls
// the API makes, in chunks; every data row ends accepted, a duplicate, or rejected with its code
// in results/<key>.errors.csv. A file version is imported once (import markers), and a re-run
// after a crash is safe because every call below is idempotent. A file too long for one
// invocation is read in several: each saves a checkpoint in the marker (where the next record
// starts, the counts, the errors CSV parts written) and a fresh invocation goes on from there.
import { randomUUID } from 'node:crypto';
import { CsvError } from 'csv-parse';
import { z } from 'zod';
import { MAX_ADD_PER_CALL } from '../domain/batch';
import {
  batchEventRow,
  csvRecords,
  emptyTally,
  errorReportHeader,
  errorReportLine,
  expectedHeader,
  importResultOf,
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
  type GrouperState,
  type Header,
  type ImportCheckpoint,
  type Problem,
  type ReplacementGroup,
  type RowError,
  type Tally,
} from '../domain/csv-import';
import { DomainError } from '../domain/errors';
import { errorsKeyOf, importPartsFolder, resultKeyOf, type ImportFile, type ImportResult } from '../domain/import-keys';
import { MAX_EVENTS_PER_REQUEST } from '../domain/usage-event';
import { logger } from '../logger';
import { metricFields, metricNames } from '../metrics';
import { batchFor } from '../store/batches';
import {
  composeErrorReport,
  currentETag,
  emptyErrorReport,
  errorPartWriter,
  importPartKey,
  openImportFile,
  readImportPart,
  writeImportPart,
  writeImportResult,
  type ErrorReportWriter,
} from '../store/import-files';
import {
  claimImport,
  completeImport,
  LEASE_RENEW_MS,
  releaseLease,
  renewLease,
  saveCheckpoint,
} from '../store/import-markers';
import { ingestEvents } from '../store/usage-events';
import { addEventIds, addReplacementsToBatch } from './batches';

export type { Tally };

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
  reject(e: RowError): Promise<void>;
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
class LeaseLost extends Error {
  constructor() {
    super('another import took this file over');
    this.name = 'LeaseLost';
  }
}

/** What one invocation leaves to the next beside its checkpoint: rejections waiting for their turn, the sink's state. */
interface Carry {
  held: RowError[];
  sink?: unknown;
}

/** Checkpoint and work-object names sort in the order they were written. */
const partName = (seq: number, owner: string, kind: 'errors.csv' | 'carry.json') =>
  `${String(seq).padStart(6, '0')}-${owner}.${kind}`;

/**
 * Imports a file version unless it is done or another invocation is importing it (then logs and
 * does nothing), from its last checkpoint if an earlier invocation saved one. Without a budget
 * the whole file is read here. A crash releases the lease and throws, so that Lambda's retry
 * goes on from the last checkpoint at once.
 */
export async function importOnce(
  file: ImportFile,
  importer: Importer,
  budget?: ImportBudget,
): Promise<ImportResult | undefined> {
  // A notification that arrives after a later PUT of the key (S3 does not keep their order) names
  // a version no longer there: without version ids it cannot be read, and the later PUT's own
  // notification imports the key, so this one changes nothing (no marker, no report).
  if (!file.versionId) {
    const current = await currentETag(file.bucket, file.key);
    if (current !== undefined && current !== file.version.replace(/"/g, '')) {
      logger.info('import skipped: a later upload replaced this file version', { ...describe(file), current });
      return undefined;
    }
  }
  const owner = randomUUID();
  const claim = await claimImport(file, owner, Date.now());
  if (!claim.claimed) {
    logger.info('import skipped: this file version is imported already or being imported', {
      ...describe(file),
      marker: claim.marker.status,
    });
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
  const folder = importPartsFolder(file);
  let seq = claim.checkpoint?.seq ?? 0;
  let part: { name: string; writer: ErrorReportWriter } | undefined;
  const hooks: ReadHooks = {
    assertLease: () => {
      if (lost) throw new LeaseLost();
    },
    async writeError(line) {
      if (!part) {
        const name = partName(seq + 1, owner, 'errors.csv');
        part = { name, writer: errorPartWriter(file.bucket, importPartKey(folder, name)) };
      }
      await part.writer.write(line);
    },
    async save(checkpoint, carry, handOff) {
      // What a checkpoint names is written before it: its errors part and the state it carries.
      const next: ImportCheckpoint = { ...checkpoint, seq: seq + 1, errorParts: [...checkpoint.errorParts] };
      delete next.carry;
      if (part) {
        await part.writer.finish();
        if (part.writer.lines > 0) next.errorParts.push(part.name);
        part = undefined;
      }
      if (carry) {
        next.carry = partName(next.seq, owner, 'carry.json');
        await writeImportPart(file.bucket, importPartKey(folder, next.carry), carry);
      }
      // No renewal may land after the lease is handed on.
      if (handOff) clearInterval(renewal);
      if (lost || !(await saveCheckpoint(file, owner, next, Date.now(), handOff))) throw new LeaseLost();
      seq = next.seq;
      return next;
    },
  };
  try {
    const from = claim.checkpoint;
    logger.info(from ? 'import resumed' : 'import started', {
      ...describe(file),
      attempt: claim.attempt,
      ...(from ? { checkpoint: from.seq, rows: from.rows } : {}),
    });
    const carried = from?.carry
      ? ((await readImportPart(file.bucket, importPartKey(folder, from.carry))) as Carry)
      : undefined;
    const end = from?.finished ? from : await readFile(file, importer, from, carried, budget, hooks);
    if (!end.finished) {
      await budget!.continueLater(file, end.seq);
      logger.info('import continues in a fresh invocation', { ...describe(file), checkpoint: end.seq, rows: end.rows });
      return undefined;
    }
    const result = importResultOf(end);
    const errorsKey = errorsKeyOf(file.key);
    const reportHeader = errorReportHeader(end.header ?? []);
    if (end.errorParts.length > 0) {
      await composeErrorReport(
        file.bucket,
        errorsKey,
        reportHeader,
        end.errorParts.map((name) => importPartKey(folder, name)),
      );
      result.errorsKey = errorsKey;
    } else {
      await emptyErrorReport(file.bucket, errorsKey, reportHeader);
    }
    // Checked with a write, not the timer's last word: only the holder of the lease reports.
    if (lost || !(await renewLease(file, owner, Date.now()))) throw new LeaseLost();
    await writeImportResult(file.bucket, resultKeyOf(file.key), result);
    if (!(await completeImport(file, owner, result, Date.now())))
      logger.warn('import lease lost after the report was written', describe(file));
    logResult(file, result);
    return result;
  } catch (error) {
    await part?.writer.abort();
    if (error instanceof LeaseLost) {
      logger.warn('import stopped: another delivery took this file over', describe(file));
      return undefined;
    }
    await releaseLease(file, owner).catch((releaseError: unknown) =>
      logger.warn('import lease release failed', { ...describe(file), error: releaseError }),
    );
    throw error;
  } finally {
    clearInterval(renewal);
  }
}

const describe = (file: ImportFile) => ({
  bucket: file.bucket,
  key: file.key,
  version: file.version,
  kind: file.target.kind,
});

function logResult(file: ImportFile, result: ImportResult): void {
  const fields = {
    ...describe(file),
    status: result.status,
    rows: result.rows,
    accepted: result.accepted,
    duplicates: result.duplicates,
    rejected: result.rejected,
    ...(result.error ? { error: result.error } : {}),
    ...metricFields(
      { [metricNames.importRowsAccepted]: result.accepted, [metricNames.importRowsRejected]: result.rejected },
      Date.now(),
    ),
  };
  // A file that could not be imported is an ERROR line: the ImportFailures alarm counts them.
  if (result.status === 'FAILED') logger.error('import failed', fields);
  else logger.info('import finished', fields);
}

interface ReadHooks {
  assertLease(): void;
  /** Appends a line to the errors CSV part of this stretch of the file. */
  writeError(line: readonly string[]): Promise<void>;
  /** Saves a checkpoint; `handOff` gives the lease up for the invocation that goes on. Answers the checkpoint as saved. */
  save(checkpoint: ImportCheckpoint, carry: Carry | undefined, handOff: boolean): Promise<ImportCheckpoint>;
}

const MAX_HELD_REJECTIONS = 1000;

/**
 * Reads a file through its importer from a checkpoint (or its start) until its end, or until the
 * budget is spent; answers the checkpoint saved there (`finished` when the file was read to its end).
 */
async function readFile(
  file: ImportFile,
  importer: Importer,
  from: ImportCheckpoint | undefined,
  carried: Carry | undefined,
  budget: ImportBudget | undefined,
  hooks: ReadHooks,
): Promise<ImportCheckpoint> {
  const tally: Tally = from ? structuredClone(from.tally) : emptyTally();
  let rows = from?.rows ?? 0;
  let stopped = from?.stopped;
  let error: Problem | undefined;
  // Where the next record starts: the checkpoint's position, once every row before it is settled.
  let offset = from?.offset ?? 0;
  let line = from?.line ?? 0;
  let names = from?.header;
  let encoding = from?.encoding;
  let saved = from;

  const checkpoint = (finished?: ImportCheckpoint['finished']): ImportCheckpoint => ({
    seq: saved?.seq ?? 0,
    offset,
    line,
    rows,
    tally: structuredClone(tally),
    ...(names ? { header: [...names] } : {}),
    ...(encoding && encoding !== 'utf8' ? { encoding } : {}),
    ...(stopped ? { stopped } : {}),
    errorParts: saved?.errorParts ?? [],
    ...(finished ? { finished } : {}),
  });

  // Rejections wait until every earlier row is settled, so that the errors CSV is in row order
  // (up to MAX_HELD_REJECTIONS waiting; then the pending chunk is sent early).
  let held: RowError[] = carried?.held ?? [];
  const reject = async (e: RowError) => {
    tally.rejected++;
    held.push(e);
  };
  const release = async (before: number) => {
    if (held.length === 0) return;
    held.sort((a, b) => a.row - b.row);
    const ready = held.filter((e) => e.row < before);
    held = held.slice(ready.length);
    for (const e of ready) await hooks.writeError(errorReportLine(e));
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
  const finish = async (sink: RowSink | undefined) => {
    // Rows read before a stop are sent, whatever stopped the reading.
    await sink?.end();
    await release(Number.POSITIVE_INFINITY);
    if (!names)
      error ??= {
        code: 'VALIDATION_FAILED',
        message: `the file is empty: expected the header ${expectedHeader(file.target.kind)}`,
      };
    return hooks.save(checkpoint(error ? { error } : {}), undefined, false);
  };
  /** Settles every row read so far that can be settled, and saves where the file stands. */
  const pause = async (sink: RowSink, handOff: boolean) => {
    await sink.flush();
    await release(sink.firstPending() ?? Number.POSITIVE_INFINITY);
    const state = sink.suspend?.();
    const carry =
      held.length > 0 || state !== undefined ? { held, ...(state !== undefined ? { sink: state } : {}) } : undefined;
    saved = await hooks.save(checkpoint(), carry, handOff);
    return saved;
  };

  if (!from) {
    try {
      await importer.check?.(file);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      error = { code: e.code, message: e.message };
      return finish(undefined);
    }
  }
  const opened = await openImportFile(file, offset);
  if (!opened.ok) {
    error = {
      code: 'NOT_FOUND',
      message:
        opened.reason === 'gone'
          ? 'the file no longer exists (deleted before it could be imported)'
          : `the file was replaced while it was imported; the rows after row ${rows} were not imported`,
    };
    return finish(undefined);
  }

  let header = names ? headerOf(file, names) : undefined;
  let sink = header ? importer.open(header, run, carried?.sink) : undefined;
  // Positions in this read count from where it started.
  const start = { offset, line };
  const limits = budget
    ? { deadline: budget.deadline, maxRows: budget.maxRows ?? Number.POSITIVE_INFINITY }
    : undefined;
  const checkpointEveryMs = budget?.checkpointEveryMs ?? CHECKPOINT_EVERY_MS;
  let nextCheckpoint = Date.now() + checkpointEveryMs;
  let readHere = 0;
  try {
    for await (const record of csvRecords(opened.body, encoding ? { encoding } : {})) {
      if (!header) {
        const h = readHeader(file.target.kind, record.cells);
        if (!h.ok) {
          error = h.problem;
          break;
        }
        header = h.value;
        names = [...h.value.names];
        encoding = record.encoding;
        sink = importer.open(header, run);
        offset = start.offset + record.end;
        line = start.line + record.line;
        continue;
      }
      // At least one row per invocation, so that every invocation moves the file on.
      if (limits && readHere > 0 && (Date.now() > limits.deadline || readHere >= limits.maxRows))
        return await pause(sink!, true);
      const row = ++rows;
      readHere++;
      const problem = stopped ?? shapeProblem(header, record.cells);
      if (problem) await reject({ row, record: record.cells, ...problem });
      else await sink!.add(row, record.cells);
      if (held.length >= MAX_HELD_REJECTIONS) await sink!.flush();
      await release(sink!.firstPending() ?? row + 1);
      // Only a replacement group still open can keep this many waiting: memory wins over order.
      if (held.length >= MAX_HELD_REJECTIONS) await release(Number.POSITIVE_INFINITY);
      offset = start.offset + record.end;
      line = start.line + record.line;
      if (Date.now() >= nextCheckpoint) {
        await pause(sink!, false);
        nextCheckpoint = Date.now() + checkpointEveryMs;
      }
    }
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    error = parseFailure(e, rows, start.line + Number(e.lines ?? 0));
  }
  return finish(sink);
}

/** The header a checkpoint recorded (checked when it was first read). */
function headerOf(file: ImportFile, names: readonly string[]): Header {
  const h = readHeader(file.target.kind, names);
  if (!h.ok) throw new Error(`the checkpoint of ${file.key} holds a header that does not check: ${h.problem.message}`);
  return h.value;
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
        if (r.originalEventId === undefined) return run.reject({ row, record, ...r.problem });
        const groupRow: GroupRow = {
          row,
          record,
          ...(r.event ? { event: r.event } : {}),
          ...(r.problem ? { problem: r.problem } : {}),
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
