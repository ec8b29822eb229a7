// Recognising DynamoDB's condition failures, which are how every guard speaks.
import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** Items returned with a failed condition come in wire format; read them like every other item (bigints). */
export const fromWire = (item: Record<string, AttributeValue>): Record<string, unknown> =>
  unmarshall(item, { wrapNumbers: (v: string) => BigInt(v) });

export const isConditionFailure = (err: unknown): err is ConditionalCheckFailedException =>
  err instanceof ConditionalCheckFailedException ||
  (err as { name?: string })?.name === 'ConditionalCheckFailedException';

export const isTransactionCanceled = (err: unknown): err is TransactionCanceledException =>
  err instanceof TransactionCanceledException || (err as { name?: string })?.name === 'TransactionCanceledException';

/** The cancellation's reason codes ('None' for items that passed); read as a set, never by position (see intents.ts). */
function cancellationCodes(err: TransactionCanceledException): string[] {
  return (err.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
}

/**
 * A transaction cancelled by conditions alone: some item's own condition refused it, and every
 * other item passed (no contention, throttling or validation among the reasons).
 */
export function isConditionCancellation(err: unknown): boolean {
  if (!isTransactionCanceled(err)) return false;
  const codes = cancellationCodes(err);
  return codes.includes('ConditionalCheckFailed') && codes.every((c) => c === 'None' || c === 'ConditionalCheckFailed');
}

/** Cancellation reasons that say "try again": another transaction on the same items, or throttling. */
const BUSY_REASONS = new Set(['None', 'TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/**
 * A transaction cancelled only by contention or throttling is worth sending again as it is. The
 * SDK retries neither: a cancellation is not a throttling error to it.
 */
export function isBusyCancellation(err: unknown): boolean {
  if (!isTransactionCanceled(err)) return (err as { name?: string })?.name === 'TransactionConflictException';
  const codes = cancellationCodes(err);
  return codes.some((c) => c !== 'None') && codes.every((c) => BUSY_REASONS.has(c));
}

/** Repeats `op` while it fails with an error `worth` repeating, up to `attempts` tries, with jittered backoff from `baseMs`. */
async function repeatWhile<T>(
  op: () => Promise<T>,
  worth: (err: unknown) => boolean,
  attempts: number,
  baseMs: number,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt >= attempts || !worth(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * baseMs * 2 ** attempt));
    }
  }
}

/** Retries an operation whose transaction was cancelled by contention or throttling, with jittered backoff. */
export const retryOnConflict = <T>(op: () => Promise<T>, attempts = 8): Promise<T> =>
  repeatWhile(op, isBusyCancellation, attempts, 20);

/**
 * Repeats an idempotent single write that failed transiently (throttled, or its answer lost), a
 * few times with jittered backoff, before the failure goes to the workflow's Retry: a unit of work
 * made of many single writes then survives what one transaction of them would.
 */
export const retryTransient = <T>(op: () => Promise<T>, attempts = 5): Promise<T> =>
  repeatWhile(op, isTransient, attempts, 10);

/**
 * The one list of transient errors: a failure under one of these names is worth repeating as it
 * is. The workflows' Task Retry blocks list every one (a test checks each Task against it), and
 * nothing here is ever a batch's or member's failure.
 */
export const TRANSIENT_ERRORS = [
  // DynamoDB throttling and contention.
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TransactionInProgressException',
  // A transaction cancelled only by contention or throttling (see isBusyCancellation): workflow
  // tasks report it under this name, since TransactionCanceledException also means a guard said no.
  'TransactionBusy',
  // The service or the network failing for a while.
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  // An attempt that ran out of time or whose process died (timeout, out of memory, crash).
  'States.Timeout',
  'Sandbox.Timedout',
  'Runtime.ExitError',
] as const;

/**
 * How every Task's Retry repeats the transient errors (a test checks each one). Ten retries
 * (eleven attempts), the wait doubling from 1 s and capped at 20 s, jittered so parallel shards throttled together do
 * not come back together: about two minutes of an outage or a hot partition before a batch fails.
 */
export const TRANSIENT_RETRY = {
  IntervalSeconds: 1,
  MaxAttempts: 10,
  BackoffRate: 2,
  MaxDelaySeconds: 20,
  JitterStrategy: 'FULL',
} as const;

const TRANSIENT: ReadonlySet<string> = new Set(TRANSIENT_ERRORS);

/** Errors worth retrying as they are: the workflow's Retry handles them, not a partition failure. */
export const isTransient = (err: unknown): boolean =>
  TRANSIENT.has((err as { name?: string })?.name ?? '') || isBusyCancellation(err);

/** The error as a workflow task reports it: a busy cancellation is renamed so a Retry can match it. */
export function asTaskError(err: unknown): unknown {
  if (isTransactionCanceled(err) && isBusyCancellation(err)) {
    const busy = new Error(`transaction cancelled by contention or throttling: ${(err as Error).message}`, {
      cause: err,
    });
    busy.name = 'TransactionBusy';
    return busy;
  }
  return err;
}
