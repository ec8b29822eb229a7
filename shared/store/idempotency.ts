// Idempotency-Key records: the same key and request replay the stored answer; the same key
// with another request is refused. Written by hand rather than with Powertools idempotency,
// whose DynamoDB layer wants the key as the table's partition key or one static partition for
// all records: here each record is its own item (`IDEM#<key>`) in the single table.
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { clients } from './clients';
import { fromWire, isConditionFailure } from './errors';
import { keys } from './keys';

/** How long a key is remembered; clients retry within minutes, 24 hours is generous. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export interface StoredResponse {
  status: number;
  body: string;
}

export type Claim =
  | { outcome: 'claimed' }
  | { outcome: 'replay'; response: StoredResponse }
  | { outcome: 'in-progress' }
  | { outcome: 'reused' };

/**
 * Claims a key for one attempt. `remainingMs` is the invocation's remaining time: an attempt
 * still IN_PROGRESS after it cannot be running any more (Lambda ended it: a timeout, out of
 * memory), so a retry takes the key over instead of meeting 409 for the record's lifetime.
 */
export async function claimKey(
  recordKey: string,
  fingerprint: string,
  nowMs: number,
  remainingMs: number,
): Promise<Claim> {
  const nowSeconds = Math.floor(nowMs / 1000);
  try {
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: {
          ...keys.idempotency(recordKey),
          itemType: 'IDEMPOTENCY',
          fingerprint,
          state: 'IN_PROGRESS',
          inProgressUntil: nowMs + Math.max(0, Math.ceil(remainingMs)),
          expiresAt: nowSeconds + IDEMPOTENCY_TTL_SECONDS,
        },
        // TTL deletion lags; an expired record counts as absent. Only an attempt of the same
        // request may take over an abandoned claim (another request keeps IDEMPOTENCY_KEY_REUSED).
        ConditionExpression:
          'attribute_not_exists(PK) OR expiresAt < :now OR (#state = :inProgress AND fingerprint = :fp AND inProgressUntil < :nowMs)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':now': nowSeconds,
          ':nowMs': nowMs,
          ':inProgress': 'IN_PROGRESS',
          ':fp': fingerprint,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { outcome: 'claimed' };
  } catch (err) {
    if (!isConditionFailure(err) || !err.Item) throw err;
    const old = fromWire(err.Item);
    if (old.fingerprint !== fingerprint) return { outcome: 'reused' };
    if (old.state === 'COMPLETED') {
      const response = old.response as { status: bigint; body: string };
      return { outcome: 'replay', response: { status: Number(response.status), body: response.body } };
    }
    return { outcome: 'in-progress' };
  }
}

/** Completes the claim; a no-op when the key was completed already (a late attempt keeps the first answer). */
export async function completeKey(recordKey: string, response: StoredResponse): Promise<void> {
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.idempotency(recordKey),
        UpdateExpression: 'SET #state = :done, #response = :r REMOVE inProgressUntil',
        ConditionExpression: 'attribute_exists(PK) AND #state = :inProgress',
        ExpressionAttributeNames: { '#state': 'state', '#response': 'response' },
        ExpressionAttributeValues: {
          ':done': 'COMPLETED',
          ':inProgress': 'IN_PROGRESS',
          ':r': { status: response.status, body: response.body },
        },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** A failed request releases its key so that the client may retry with it (never a completed one). */
export async function releaseKey(recordKey: string): Promise<void> {
  try {
    await clients.dynamo.send(
      new DeleteCommand({
        TableName: clients.tableName,
        Key: keys.idempotency(recordKey),
        ConditionExpression: '#state = :inProgress',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS' },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}
