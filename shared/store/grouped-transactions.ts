// Many entries' conditional writes in as few transactions as the item limit allows. A
// transaction is all or nothing, so an entry refused by its own condition is taken out and the
// rest are written again: one refusal never blocks the others, and nothing is half-written.
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import { intent, refusals, transact, type Intent, type TransactItem } from './intents';

export type { TransactItem };

export interface GroupedWrite<T> {
  /** The items one entry writes; any of them may refuse the entry by its condition. */
  itemsOf(entry: T): TransactItem[];
  /**
   * An item entries share, keyed: sent once per transaction for all the entries of its key (the
   * claim of their partition, say). Its refusal refuses each of them, with its reason.
   */
  keyedOf?(entry: T): { key: string; item: TransactItem } | undefined;
  /** Items checked once per transaction, after the entries' (a batch's gate, say). */
  shared?(entries: readonly T[]): TransactItem[];
  /** What to throw when a shared item's condition fails: the whole write is refused. */
  sharedRefused?(): Error;
}

/** The label of the items checked once per transaction (see GroupedWrite.shared). */
const SHARED = Symbol('shared');

/** The label of a keyed item (see GroupedWrite.keyedOf). */
interface KeyedLabel {
  key: string;
}

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
  const keyed = new Map(entries.map((e) => [e, spec.keyedOf?.(e)]));
  const labels = new Map<string, KeyedLabel>();
  const labelOf = (key: string) => labels.get(key) ?? labels.set(key, { key }).get(key)!;
  for (const group of groupsOf(
    entries,
    own,
    keyed,
    perTransaction,
    spec.shared ? spec.shared(entries.slice(0, 1)).length : 0,
  )) {
    let pending = group;
    while (pending.length > 0) {
      type Label = T | typeof SHARED | KeyedLabel;
      const shared = new Map<string, TransactItem>();
      for (const e of pending) {
        const k = keyed.get(e);
        if (k && !shared.has(k.key)) shared.set(k.key, k.item);
      }
      const intents: Array<Intent<Label>> = [
        ...pending.flatMap((e) => own.get(e)!.map((item) => intent<Label>(e, item))),
        ...[...shared].map(([key, item]) => intent<Label>(labelOf(key), item)),
        ...(spec.shared?.(pending) ?? []).map((item) => intent<Label>(SHARED, item)),
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
          const k = keyed.get(entry);
          const reason = reasons.get(entry) ?? (k ? reasons.get(labelOf(k.key)) : undefined);
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

/**
 * Consecutive groups of at most `perTransaction` entries whose items, with the keyed and shared
 * ones, fit one transaction.
 */
function groupsOf<T>(
  entries: readonly T[],
  own: ReadonlyMap<T, TransactItem[]>,
  keyed: ReadonlyMap<T, { key: string } | undefined>,
  perTransaction: number,
  sharedCount: number,
): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let keys = new Set<string>();
  let items = sharedCount;
  for (const e of entries) {
    const k = keyed.get(e)?.key;
    const n = own.get(e)!.length + (k !== undefined && !keys.has(k) ? 1 : 0);
    if (current.length > 0 && (current.length >= perTransaction || items + n > MAX_TRANSACTION_ITEMS)) {
      groups.push(current);
      current = [];
      keys = new Set();
      items = sharedCount;
    }
    current.push(e);
    items += k !== undefined && current.length === 1 ? own.get(e)!.length + 1 : n;
    if (k !== undefined) keys.add(k);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
