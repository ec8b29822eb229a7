// Many entries' conditional writes in as few transactions as the item limit allows. A
// transaction is all or nothing, so an entry refused by its own condition is taken out and the
// rest are written again: one refusal never blocks the others, and nothing is half-written.
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { intent, refusals, transact, type Intent } from './intents';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export interface GroupedWrite<T> {
  /** The items one entry writes; any of them may refuse the entry by its condition. */
  itemsOf(entry: T): TransactItem[];
  /** Items checked once per transaction, after the entries' (a batch's gate, say). */
  shared?(entries: readonly T[]): TransactItem[];
  /** What to throw when a shared item's condition fails: the whole write is refused. */
  sharedRefused?(): Error;
}

/** The label of the items checked once per transaction (see GroupedWrite.shared). */
const SHARED = Symbol('shared');

/** DynamoDB's limit on the actions of one transaction. */
export const MAX_TRANSACTION_ITEMS = 100;

/**
 * Writes every entry once, in transactions of up to `perTransaction` entries and the item limit.
 * Returns the entries refused by a condition of their own, with the reason DynamoDB gave (its
 * item, when asked for).
 */
export async function writeGrouped<T>(
  entries: readonly T[],
  spec: GroupedWrite<T>,
  perTransaction: number,
): Promise<Map<T, CancellationReason>> {
  const refused = new Map<T, CancellationReason>();
  const own = new Map(entries.map((e) => [e, spec.itemsOf(e)]));
  for (const group of groupsOf(
    entries,
    own,
    perTransaction,
    spec.shared ? spec.shared(entries.slice(0, 1)).length : 0,
  )) {
    let pending = group;
    while (pending.length > 0) {
      const intents: Array<Intent<T | typeof SHARED>> = [
        ...pending.flatMap((e) => own.get(e)!.map((item) => intent<T | typeof SHARED>(e, item))),
        ...(spec.shared?.(pending) ?? []).map((item) => intent<T | typeof SHARED>(SHARED, item)),
      ];
      try {
        await transact(intents);
        break;
      } catch (err) {
        const reasons = refusals(err, intents);
        if (!reasons) throw err;
        if (reasons.has(SHARED)) throw spec.sharedRefused?.() ?? err;
        const before = refused.size;
        for (const entry of pending) {
          const reason = reasons.get(entry);
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

/** Consecutive groups of at most `perTransaction` entries whose items, with the shared ones, fit one transaction. */
function groupsOf<T>(
  entries: readonly T[],
  own: ReadonlyMap<T, TransactItem[]>,
  perTransaction: number,
  sharedCount: number,
): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let items = sharedCount;
  for (const e of entries) {
    const n = own.get(e)!.length;
    if (current.length > 0 && (current.length >= perTransaction || items + n > MAX_TRANSACTION_ITEMS)) {
      groups.push(current);
      current = [];
      items = sharedCount;
    }
    current.push(e);
    items += n;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
