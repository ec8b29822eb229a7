// Many entries' conditional writes in as few transactions as the item limit allows. A
// transaction is all or nothing, so an entry refused by its own condition is taken out and the
// rest are written again: one refusal never blocks the others, and nothing is half-written.
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { clients } from './clients';
import { isTransactionCanceled, retryOnConflict } from './errors';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export interface GroupedWrite<T> {
  /** The items one entry writes; any of them may refuse the entry by its condition. */
  itemsOf(entry: T): TransactItem[];
  /** Items checked once per transaction, after the entries' (a batch's gate, say). */
  shared?(entries: readonly T[]): TransactItem[];
  /** What to throw when a shared item's condition fails: the whole write is refused. */
  sharedRefused?(): Error;
}

/**
 * Writes every entry once in transactions of up to `perTransaction` entries. Returns the entries
 * refused by a condition of their own, with the reason DynamoDB gave (its item, when asked for).
 */
export async function writeGrouped<T>(entries: readonly T[], spec: GroupedWrite<T>, perTransaction: number): Promise<Map<T, CancellationReason>> {
  const refused = new Map<T, CancellationReason>();
  for (let i = 0; i < entries.length; i += perTransaction) {
    let pending = entries.slice(i, i + perTransaction);
    while (pending.length > 0) {
      const own = pending.map((e) => spec.itemsOf(e));
      const shared = spec.shared?.(pending) ?? [];
      const items = [...own.flat(), ...shared];
      try {
        await retryOnConflict(() => clients.dynamo.send(new TransactWriteCommand({ TransactItems: items })));
        break;
      } catch (err) {
        if (!isTransactionCanceled(err)) throw err;
        const reasons = err.CancellationReasons ?? [];
        if (reasons.slice(items.length - shared.length).some((r) => r.Code === 'ConditionalCheckFailed')) throw spec.sharedRefused?.() ?? err;
        let at = 0;
        const before = refused.size;
        for (const [k, entry] of pending.entries()) {
          const mine = reasons.slice(at, at + own[k]!.length);
          at += own[k]!.length;
          const reason = mine.find((r) => r.Code === 'ConditionalCheckFailed');
          if (reason) refused.set(entry, reason);
        }
        // Refused for another reason (validation, conflict past its retries): not ours to decode.
        if (refused.size === before) throw err;
        pending = pending.filter((e) => !refused.has(e));
      }
    }
  }
  return refused;
}
