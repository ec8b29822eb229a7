// CSV imports (DESIGN §4, CSV drops). A file is streamed row by row into the very service calls
// the API makes, in chunks; every data row ends accepted, a duplicate, or rejected with its code
// in results/<key>.errors.csv. A file version is imported once (import markers), and a re-run
// after a crash is safe because every call below is idempotent. A file too long for one
// invocation is read in several: each saves a checkpoint in the marker (where the next record
// starts, the counts, the errors CSV parts written) and a fresh invocation goes on from there.
import { randomUUID } from 'node:crypto';
import { errorReportHeader, importResultOf, type ImportCheckpoint } from '../../domain/csv-import-report';
import {
  errorsKeyOf,
  importPartsFolder,
  resultKeyOf,
  type ImportFile,
  type ImportResult,
} from '../../domain/import-keys';
import { logger } from '../../logger';
import { metricFields, metricNames } from '../../metrics';
import {
  composeErrorReport,
  currentETag,
  emptyErrorReport,
  errorPartWriter,
  importPartKey,
  readImportPart,
  writeImportPart,
  writeImportResult,
  type ErrorReportWriter,
} from '../../store/import-files';
import {
  claimImport,
  completeImport,
  LEASE_RENEW_MS,
  releaseLease,
  renewLease,
  saveCheckpoint,
} from '../../store/import-markers';
import { type Carry, type ImportBudget, type Importer, LeaseLost, type ReadHooks } from './importer';
import { readFile } from './read-file';

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
  if (await replacedByLaterUpload(file)) return undefined;
  const owner = randomUUID();
  const claim = await claimImport(file, owner, Date.now());
  if (!claim.claimed) {
    logger.info('import skipped: this file version is imported already or being imported', {
      ...describe(file),
      marker: claim.marker.status,
    });
    return undefined;
  }
  const lease = holdLease(file, owner);
  const stretch = new Stretch(file, owner, claim.checkpoint?.seq ?? 0, lease);
  try {
    const from = claim.checkpoint;
    logger.info(from ? 'import resumed' : 'import started', {
      ...describe(file),
      attempt: claim.attempt,
      ...(from ? { checkpoint: from.seq, rows: from.rows } : {}),
    });
    const carried = from?.carry
      ? ((await readImportPart(file.bucket, importPartKey(stretch.folder, from.carry))) as Carry)
      : undefined;
    const end = from?.finished ? from : await readFile(file, importer, from, carried, budget, stretch.hooks);
    if (!end.finished) {
      await budget!.continueLater(file, end.seq);
      logger.info('import continues in a fresh invocation', { ...describe(file), checkpoint: end.seq, rows: end.rows });
      return undefined;
    }
    const result = await report(file, stretch.folder, end);
    // Checked with a write, not the timer's last word: only the holder of the lease reports.
    if (lease.lost() || !(await renewLease(file, owner, Date.now()))) throw new LeaseLost();
    await writeImportResult(file.bucket, resultKeyOf(file.key), result);
    if (!(await completeImport(file, owner, result, Date.now())))
      logger.warn('import lease lost after the report was written', describe(file));
    logResult(file, result);
    return result;
  } catch (error) {
    await stretch.abort();
    if (error instanceof LeaseLost) {
      logger.warn('import stopped: another delivery took this file over', describe(file));
      return undefined;
    }
    await releaseLease(file, owner).catch((releaseError: unknown) =>
      logger.warn('import lease release failed', { ...describe(file), error: releaseError }),
    );
    throw error;
  } finally {
    lease.stop();
  }
}

/**
 * A notification that arrives after a later PUT of the key (S3 does not keep their order) names
 * a version no longer there: without version ids it cannot be read, and the later PUT's own
 * notification imports the key, so this one changes nothing (no marker, no report).
 */
async function replacedByLaterUpload(file: ImportFile): Promise<boolean> {
  if (file.versionId) return false;
  const current = await currentETag(file.bucket, file.key);
  if (current === undefined || current === file.version.replace(/"/g, '')) return false;
  logger.info('import skipped: a later upload replaced this file version', { ...describe(file), current });
  return true;
}

interface Lease {
  /** A renewal found another owner holding the file. */
  lost(): boolean;
  /** No renewal is sent after this. */
  stop(): void;
}

/** Renews the claim on the file every LEASE_RENEW_MS while this invocation reads it. */
function holdLease(file: ImportFile, owner: string): Lease {
  let lost = false;
  const renewal = setInterval(() => {
    renewLease(file, owner, Date.now()).then(
      (held) => (lost ||= !held),
      (error: unknown) => logger.warn('import lease renewal failed', { ...describe(file), error }),
    );
  }, LEASE_RENEW_MS);
  renewal.unref();
  return { lost: () => lost, stop: () => clearInterval(renewal) };
}

/** The stretch of a file read since the last checkpoint: its errors CSV part, and the checkpoint that ends it. */
class Stretch {
  readonly folder: string;
  private part: { name: string; writer: ErrorReportWriter } | undefined;
  readonly hooks: ReadHooks;

  constructor(
    private readonly file: ImportFile,
    private readonly owner: string,
    private seq: number,
    private readonly lease: Lease,
  ) {
    this.folder = importPartsFolder(file);
    this.hooks = {
      assertLease: () => {
        if (this.lease.lost()) throw new LeaseLost();
      },
      writeError: (line) => this.writeError(line),
      save: (checkpoint, carry, handOff) => this.save(checkpoint, carry, handOff),
    };
  }

  private async writeError(line: readonly string[]): Promise<void> {
    if (!this.part) {
      const name = partName(this.seq + 1, this.owner, 'errors.csv');
      this.part = { name, writer: errorPartWriter(this.file.bucket, importPartKey(this.folder, name)) };
    }
    await this.part.writer.write(line);
  }

  private async save(
    checkpoint: ImportCheckpoint,
    carry: Carry | undefined,
    handOff: boolean,
  ): Promise<ImportCheckpoint> {
    // What a checkpoint names is written before it: its errors part and the state it carries.
    const next: ImportCheckpoint = { ...checkpoint, seq: this.seq + 1, errorParts: [...checkpoint.errorParts] };
    delete next.carry;
    if (this.part) {
      await this.part.writer.finish();
      if (this.part.writer.lines > 0) next.errorParts.push(this.part.name);
      this.part = undefined;
    }
    if (carry) {
      next.carry = partName(next.seq, this.owner, 'carry.json');
      await writeImportPart(this.file.bucket, importPartKey(this.folder, next.carry), carry);
    }
    // No renewal may land after the lease is handed on.
    if (handOff) this.lease.stop();
    if (this.lease.lost() || !(await saveCheckpoint(this.file, this.owner, next, Date.now(), handOff)))
      throw new LeaseLost();
    this.seq = next.seq;
    return next;
  }

  /** Drops the errors part being written (its rows are read again from the last checkpoint). */
  async abort(): Promise<void> {
    await this.part?.writer.abort();
  }
}

/** The finished file's report; its errors CSV composed from the parts the checkpoints name. */
async function report(file: ImportFile, folder: string, end: ImportCheckpoint): Promise<ImportResult> {
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
  return result;
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
