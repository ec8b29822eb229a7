// Exclusivity and lineage, read from the events, member items, claims and selections: an event
// is in at most one open batch, and every batch an event names took it.
import { FINISHED } from '../domain/batch';
import { getBatch, getMembers } from './batches';
import type { Violation } from './violation';
import { partitionEvents } from './partition-rating';
import { scanItems } from './query-all';
import { getSelection, listSelections, resolvedMembers } from './selections';

/**
 * Exclusivity (DESIGN.md §2.3): an event is held only by a batch that lists it as a member and
 * has not finished. Lineage: every batch an event names in `touchedBy` lists it as a member (a
 * hold adds both, a release takes both away). Read from the events that carry either.
 */
export async function checkHolds(): Promise<Violation[]> {
  const v: Violation[] = [];
  const events = await scanItems('EVENT', '(attribute_exists(heldBy) OR attribute_exists(touchedBy))');
  const held = events.filter((e) => e.heldBy !== undefined);
  const touched = new Map<string, string[]>();
  for (const e of events)
    for (const b of (e.touchedBy as Set<string> | undefined) ?? [])
      touched.set(b, [...(touched.get(b) ?? []), e.eventId as string]);
  for (const [batchId, eventIds] of touched) {
    const members = new Set([
      ...(await getMembers(batchId, eventIds)).map((m) => m.eventId),
      ...(await resolvedOf(batchId)),
    ]);
    for (const eventId of eventIds) {
      if (!members.has(eventId))
        v.push({
          rule: 'touched-with-membership',
          detail: `event ${eventId} names batch ${batchId} in touchedBy but is not its member`,
        });
    }
  }
  const byBatch = new Map<string, string[]>();
  for (const e of held)
    byBatch.set(e.heldBy as string, [...(byBatch.get(e.heldBy as string) ?? []), e.eventId as string]);
  for (const [batchId, eventIds] of byBatch) {
    const batch = await getBatch(batchId);
    const members = new Set((await getMembers(batchId, eventIds)).map((m) => m.eventId));
    for (const eventId of eventIds) {
      if (!batch)
        v.push({ rule: 'held-by-existing-batch', detail: `event ${eventId} is held by unknown batch ${batchId}` });
      else if (FINISHED.has(batch.status))
        v.push({
          rule: 'not-held-by-finished-batch',
          detail: `event ${eventId} is held by ${batch.status} batch ${batchId}`,
        });
      if (!members.has(eventId))
        v.push({
          rule: 'held-with-membership',
          detail: `event ${eventId} is held by batch ${batchId} but is not its member`,
        });
    }
  }
  return v;
}

/** The events lock resolved from a batch's selections: members without a member item. */
async function resolvedOf(batchId: string): Promise<string[]> {
  const ids: string[] = [];
  for (const s of await listSelections(batchId))
    ids.push(...(await resolvedMembers(batchId, s.subscriptionId, s.register)).map((m) => m.eventId));
  return ids;
}

/**
 * Partitions held whole: a claim names an open batch (or one finishing: it lets go before its
 * last move) that has the partition's selection, and no other batch holds an event there.
 */
export async function checkClaims(): Promise<Violation[]> {
  const v: Violation[] = [];
  for (const claim of await scanItems('PARTITION_CLAIM', 'attribute_exists(selectedBy)')) {
    const batchId = String(claim.selectedBy);
    const subscriptionId = String(claim.PK).slice('SUB#'.length);
    const register = String(claim.SK).slice('CLAIM#'.length);
    const where = `${subscriptionId} ${register}`;
    const batch = await getBatch(batchId);
    if (!batch || batch.status === 'COMPLETED' || batch.status === 'COMPLETED_WITH_ERRORS' || batch.status === 'FAILED')
      v.push({
        rule: 'claimed-by-open-batch',
        detail: `partition ${where} is claimed by ${batch?.status ?? 'unknown'} batch ${batchId}`,
      });
    if (!(await getSelection(batchId, subscriptionId, register)))
      v.push({
        rule: 'claimed-with-selection',
        detail: `partition ${where} is claimed by batch ${batchId}, which has no selection of it`,
      });
    const foreign = (await partitionEvents(subscriptionId, register)).find(
      (e) => e.heldBy !== undefined && e.heldBy !== batchId,
    );
    if (foreign)
      v.push({
        rule: 'claimed-partition-held-once',
        detail: `event ${foreign.eventId} of partition ${where}, claimed by batch ${batchId}, is held by batch ${foreign.heldBy}`,
      });
  }
  return v;
}
