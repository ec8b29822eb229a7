// A REVERSE_REPLACE batch claims the partitions of the originals it reverses, where it can, so
// that an original costs its member item and no hold (see store/claims-for-originals.ts). Where it cannot (another batch holds an event of the partition, or selected
// it, or the batch's edits closed meanwhile) the originals are held one by one, as before: that
// path answers each of them with its own refusal.
import type { Batch } from '../domain/batch';
import type { PreparedReplacement } from '../store/batch-members';
import { partitionKey } from '../store/batch-partitions';
import { mapLimit } from '../store/concurrency';
import { heldElsewhereIn } from '../store/partition-rating';
import { confirmClaim, releaseUnconfirmed } from '../store/claims-for-originals';
import { getSelection, selectPartition } from '../store/selections';
import { getEvents } from '../store/usage-events';
import { eligibilityRefusal } from '../domain/batch';

/** Partitions claimed at once. */
const PARTITIONS_AT_ONCE = 8;

/**
 * Events a claim reads of its partition (twice: before and after claiming) on a request path; a
 * larger partition's originals are held one by one, which reads none of it.
 */
export const MAX_CLAIM_READ = 20_000;

export interface ClaimedOriginals {
  /** Originals of partitions the batch claims (confirmed), as read after the confirmation. */
  claimed: PreparedReplacement[];
  /** The rest: held one by one. */
  byHold: PreparedReplacement[];
}

/**
 * Sorts the originals into those whose partition the batch claims (claiming it where it can) and
 * those to hold one by one. An original already held (by this batch, or another) is held one by
 * one: that path attaches to this batch's own member or refuses.
 */
export async function claimForOriginals(
  batch: Batch,
  ready: readonly PreparedReplacement[],
  now: string,
  maxRead = MAX_CLAIM_READ,
  confirmedBeforeRead: ReadonlySet<string> = new Set(),
): Promise<ClaimedOriginals> {
  const out: ClaimedOriginals = { claimed: [], byHold: [] };
  const groups = new Map<string, PreparedReplacement[]>();
  for (const p of ready) {
    if (p.original.heldBy !== undefined) out.byHold.push(p);
    else groups.set(partitionKey(p.original), [...(groups.get(partitionKey(p.original)) ?? []), p]);
  }
  await mapLimit([...groups.values()], PARTITIONS_AT_ONCE, async (group) => {
    const { subscriptionId, register } = group[0]!.original;
    // Claimed and confirmed before the originals were read: no other batch can have changed them since.
    if (confirmedBeforeRead.has(partitionKey(group[0]!.original))) {
      for (const p of group)
        (eligibilityRefusal(batch.type, p.original, batch.batchId) ? out.byHold : out.claimed).push(p);
      return;
    }
    if (!(await claimConfirmed(batch, subscriptionId, register, now, maxRead))) return void out.byHold.push(...group);
    // Read again after the confirmation: from then on no other batch can change them.
    const current = new Map((await getEvents(group.map((p) => p.original.eventId))).map((e) => [e.eventId, e]));
    for (const p of group) {
      const original = current.get(p.original.eventId);
      if (original && original.heldBy === undefined && !eligibilityRefusal(batch.type, original, batch.batchId))
        out.claimed.push({ ...p, original });
      else out.byHold.push(original ? { ...p, original } : p);
    }
  });
  return out;
}

/** Whether the batch holds a confirmed claim of the partition, claiming and confirming it if it can. */
async function claimConfirmed(
  batch: Batch,
  subscriptionId: string,
  register: string,
  now: string,
  maxRead: number,
): Promise<boolean> {
  const shared = (consistent: boolean) => heldElsewhereIn(subscriptionId, register, batch.batchId, maxRead, consistent);
  const before = await getSelection(batch.batchId, subscriptionId, register);
  if (before?.confirmedAt) return true;
  if (!before) {
    // A hint, read at half the units: the read after the claim decides.
    if ((await shared(false)) !== false) return false;
    // Closed, or another batch's: the holds one by one answer that.
    if ((await selectPartition(batch.batchId, subscriptionId, register, undefined, now)) !== 'selected') return false;
  }
  // A hold by id that landed between the read and the claim: the claim goes again, unless an add
  // beside this one confirmed it meanwhile (then no other batch held an event there).
  if ((await shared(true)) !== false) {
    if (await releaseUnconfirmed(batch.batchId, subscriptionId, register)) return false;
    return (await getSelection(batch.batchId, subscriptionId, register))?.confirmedAt !== undefined;
  }
  return confirmClaim(batch.batchId, subscriptionId, register, now);
}
