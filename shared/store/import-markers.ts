// Import markers: one item per uploaded file version, so that a file is imported once however
// often S3 notifies (it delivers at least once). An import claims its file with a conditional
// write that holds a lease and renews it while it works, and saves its checkpoint there. A
// crashed import's lease runs out and the next delivery goes on from the last checkpoint;
// re-reading rows after it is safe because every row's effect is idempotent.
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { ImportCheckpoint } from '../domain/csv-import-report';
import type { ErrorCode } from '../domain/errors';
import type { ImportFile, ImportResult } from '../domain/import-keys';
import { clients } from './clients';
import { fromWire, isConditionFailure } from './errors';
import { keys } from './keys';

/**
 * How long a claim lasts without renewal. Shorter than the minute Lambda waits before retrying a
 * failed asynchronous invocation, so a retry after a hard crash (timeout, out of memory) finds it run out.
 */
export const LEASE_MS = 45_000;
/** Renewed this often while the import runs. */
export const LEASE_RENEW_MS = 10_000;
/** Markers outlive the reports they stand for (results/ expires after 90 days). */
export const MARKER_TTL_SECONDS = 100 * 86_400;

/** FAILED: the import ended without importing the file (empty, unreadable, …); the file may be imported again. */
export type MarkerStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

export interface ImportMarker {
  status: MarkerStatus;
  owner: string;
  leaseUntil: number;
  attempts: number;
  startedAt: string;
  finishedAt?: string;
  result?: Pick<ImportResult, 'status' | 'rows' | 'accepted' | 'rejected' | 'duplicates'>;
  checkpoint?: ImportCheckpoint;
}

/** A claim answers the checkpoint to go on from (none: the file is read from its start). */
export type Claim =
  | { claimed: true; attempt: number; checkpoint?: ImportCheckpoint }
  | { claimed: false; marker: ImportMarker };

const keyOf = (file: ImportFile) => keys.importMarker(file.bucket, file.key, file.version);

// Every attribute name goes through ExpressionAttributeNames: status, key, owner and others are reserved words.
const names = {
  '#status': 'status',
  '#owner': 'owner',
  '#leaseUntil': 'leaseUntil',
};

// Numbers come back from the table as bigints.
const count = z.coerce.number().int().nonnegative();
const refusal = z.object({ code: z.string().transform((c) => c as ErrorCode), message: z.string() });
const StoredCheckpoint = z.object({
  seq: count,
  offset: count,
  line: count,
  rows: count,
  tally: z.object({
    accepted: count,
    duplicates: count,
    rejected: count,
    children: z.object({ added: count, rejected: count }),
  }),
  header: z.array(z.string()).optional(),
  encoding: z
    .string()
    .transform((e) => e as BufferEncoding)
    .optional(),
  stopped: refusal.optional(),
  errorParts: z.array(z.string()),
  carry: z.string().optional(),
  finished: z.object({ error: refusal.optional() }).optional(),
});

const toCheckpoint = (value: unknown): ImportCheckpoint | undefined =>
  value === undefined ? undefined : StoredCheckpoint.parse(value);

function toMarker(item: Record<string, unknown>): ImportMarker {
  const result = item.result as Record<string, unknown> | undefined;
  const checkpoint = toCheckpoint(item.checkpoint);
  return {
    status: item.status as MarkerStatus,
    owner: item.owner as string,
    leaseUntil: Number(item.leaseUntil),
    attempts: Number(item.attempts ?? 0),
    startedAt: item.startedAt as string,
    ...(item.finishedAt ? { finishedAt: item.finishedAt as string } : {}),
    ...(result
      ? {
          result: {
            status: result.status as ImportResult['status'],
            rows: Number(result.rows),
            accepted: Number(result.accepted),
            rejected: Number(result.rejected),
            ...(result.duplicates !== undefined ? { duplicates: Number(result.duplicates) } : {}),
          },
        }
      : {}),
    ...(checkpoint ? { checkpoint } : {}),
  };
}

/** Claims the file for `owner` unless it is done or another import holds a live lease on it. */
export async function claimImport(file: ImportFile, owner: string, nowMs: number): Promise<Claim> {
  try {
    const res = await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keyOf(file),
        UpdateExpression:
          'SET itemType = :type, #bucket = :bucket, objectKey = :key, objectVersion = :version, #status = :running, #owner = :owner, #leaseUntil = :until, startedAt = if_not_exists(startedAt, :now), expiresAt = :expires ADD attempts :one',
        // A failed import does not block its file: a new notification or upload imports it again
        // (it starts over: the failure's checkpoint, if any, was removed when it failed).
        ConditionExpression:
          'attribute_not_exists(PK) OR (#status = :running AND #leaseUntil < :nowMs) OR #status = :failed',
        ExpressionAttributeNames: { ...names, '#bucket': 'bucket' },
        ExpressionAttributeValues: {
          ':type': 'IMPORT_MARKER',
          ':bucket': file.bucket,
          ':key': file.key,
          ':version': file.version,
          ':running': 'IN_PROGRESS',
          ':failed': 'FAILED',
          ':owner': owner,
          ':until': nowMs + LEASE_MS,
          ':nowMs': nowMs,
          ':now': new Date(nowMs).toISOString(),
          ':expires': Math.floor(nowMs / 1000) + MARKER_TTL_SECONDS,
          ':one': 1,
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const checkpoint = toCheckpoint(res.Attributes?.checkpoint);
    return { claimed: true, attempt: Number(res.Attributes?.attempts ?? 1), ...(checkpoint ? { checkpoint } : {}) };
  } catch (err) {
    if (!isConditionFailure(err) || !err.Item) throw err;
    return { claimed: false, marker: toMarker(fromWire(err.Item)) };
  }
}

/** Extends the lease; false when another import has taken the file over (or it is done). */
export async function renewLease(file: ImportFile, owner: string, nowMs: number): Promise<boolean> {
  return ownerUpdate(file, owner, 'SET #leaseUntil = :until', { ':until': nowMs + LEASE_MS });
}

/**
 * Saves where the import stands; false when another import has taken the file over. `handOff`
 * also gives the lease up, for the invocation that goes on from here to claim it at once.
 */
export async function saveCheckpoint(
  file: ImportFile,
  owner: string,
  checkpoint: ImportCheckpoint,
  nowMs: number,
  handOff = false,
): Promise<boolean> {
  const names = { '#checkpoint': 'checkpoint' };
  if (!handOff)
    return ownerUpdate(
      file,
      owner,
      'SET #checkpoint = :checkpoint, #leaseUntil = :until',
      { ':checkpoint': checkpoint, ':until': nowMs + LEASE_MS },
      names,
    );
  // The owner changes too, so that a renewal still on its way from this invocation cannot revive the lease.
  return ownerUpdate(
    file,
    owner,
    'SET #checkpoint = :checkpoint, #leaseUntil = :zero, #owner = :nobody',
    { ':checkpoint': checkpoint, ':zero': 0, ':nobody': HANDED_OFF },
    names,
  );
}

/** The owner of a file handed from one invocation to the next, until the next claims it. */
const HANDED_OFF = 'handed-off';

/** Gives the file up at once, so that Lambda's retry takes it over without waiting for the lease. */
export async function releaseLease(file: ImportFile, owner: string): Promise<void> {
  await ownerUpdate(file, owner, 'SET #leaseUntil = :zero', { ':zero': 0 });
}

/** Marks the file imported, with the summary of its report; false when the lease was lost. */
export async function completeImport(
  file: ImportFile,
  owner: string,
  result: ImportResult,
  nowMs: number,
): Promise<boolean> {
  const summary = {
    status: result.status,
    rows: result.rows,
    accepted: result.accepted,
    rejected: result.rejected,
    ...(result.duplicates !== undefined ? { duplicates: result.duplicates } : {}),
  };
  // A failed import forgets its checkpoint, so that importing the file again reads it from the start.
  const failed = result.status === 'FAILED';
  return ownerUpdate(
    file,
    owner,
    `SET #status = :done, finishedAt = :now, #result = :result REMOVE #leaseUntil${failed ? ', checkpoint' : ''}`,
    {
      ':done': failed ? 'FAILED' : 'COMPLETED',
      ':now': new Date(nowMs).toISOString(),
      ':result': summary,
    },
    { '#result': 'result' },
  );
}

async function ownerUpdate(
  file: ImportFile,
  owner: string,
  update: string,
  values: Record<string, unknown>,
  extraNames: Record<string, string> = {},
): Promise<boolean> {
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keyOf(file),
        UpdateExpression: update,
        ConditionExpression: '#status = :running AND #owner = :owner',
        ExpressionAttributeNames: { ...names, ...extraNames },
        ExpressionAttributeValues: { ...values, ':running': 'IN_PROGRESS', ':owner': owner },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

export async function getImportMarker(
  file: Pick<ImportFile, 'bucket' | 'key' | 'version'>,
): Promise<ImportMarker | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({
      TableName: clients.tableName,
      Key: keys.importMarker(file.bucket, file.key, file.version),
      ConsistentRead: true,
    }),
  );
  return res.Item ? toMarker(res.Item) : undefined;
}
