// Transactions built from labelled intents, and their cancellations read back by label. DynamoDB
// answers a cancelled transaction with one reason per item, by position: only this module maps a
// position back to what the item stands for, so no caller counts items.
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { clients } from './clients';
import { isTransactionCanceled, retryOnConflict } from './errors';

/** One item of a transaction: a put, update, delete or condition check. */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** One write of a transaction and what it stands for (a name, or the entry it writes). */
export interface Intent<L> {
  label: L;
  item: TransactItem;
}

export const intent = <L>(label: L, item: TransactItem): Intent<L> => ({ label, item });

/**
 * Sends the intents as one transaction; one cancelled only by contention or throttling is sent
 * again, unless `once`: then the caller's own retry handles it (a workflow's Retry, a re-plan).
 */
export async function transact(intents: readonly Intent<unknown>[], opts: { once?: boolean } = {}): Promise<void> {
  const TransactItems = intents.map((i) => i.item);
  const send = () => clients.dynamo.send(new TransactWriteCommand({ TransactItems }));
  await (opts.once ? send() : retryOnConflict(send));
}

/**
 * The intents whose own condition cancelled the transaction that `err` reports, by label, each
 * with DynamoDB's reason (the item as it was, when the intent asked for it); undefined when `err`
 * is not a cancelled transaction. A label written by several intents answers the first refused.
 */
export function refusals<L>(err: unknown, intents: readonly Intent<L>[]): Map<L, CancellationReason> | undefined {
  if (!isTransactionCanceled(err)) return undefined;
  const reasons = err.CancellationReasons ?? [];
  const refused = new Map<L, CancellationReason>();
  intents.forEach((intent, i) => {
    const reason = reasons[i];
    if (reason?.Code === 'ConditionalCheckFailed' && !refused.has(intent.label)) refused.set(intent.label, reason);
  });
  return refused;
}
