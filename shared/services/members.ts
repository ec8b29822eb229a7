// A batch's members as users and workflows see them: the member items of events held one by one,
// then the members of each partition held whole by selection (resolved at lock and fixed from
// then on; before lock, the events the selection takes now), in the state of their partition.
import type { Batch, BatchMember } from '../domain/batch';
import type { UsageEvent } from '../domain/usage-event';
import { listPartitions, partitionKey, type BatchPartition } from '../store/batch-partitions';
import { listMembers, type MemberFilter } from '../store/batches';
import { decodeCursor, encodeCursor } from '../store/cursor';
import { partitionEvents } from '../store/partition-rating';
import type { Page } from '../store/query-all';
import { getSelection, listSelections, resolvedMembers, selectionTakes, type Selection } from '../store/selections';

/** The events a selection takes now (a draft's, or before lock resolved it): free ones only. */
export const liveSelected = (sel: Selection, events: readonly UsageEvent[]): UsageEvent[] =>
  events.filter((e) => e.heldBy === undefined && selectionTakes(sel, e));

/** The state a selected member shows: its partition's outcome. */
function stateOf(p: BatchPartition | undefined): Pick<BatchMember, 'state' | 'errorCode' | 'errorMessage'> {
  if (p?.state === 'ERROR' || p?.state === 'FAILED')
    return {
      state: p.state,
      ...(p.errorCode ? { errorCode: p.errorCode } : {}),
      ...(p.errorMessage ? { errorMessage: p.errorMessage } : {}),
    };
  return { state: 'HELD' };
}

/** The members of one selection, in rating order. */
export async function selectionMembers(sel: Selection, partition: BatchPartition | undefined): Promise<BatchMember[]> {
  const base = {
    subscriptionId: sel.subscriptionId,
    register: sel.register,
    addedAt: sel.addedAt,
    ...stateOf(partition),
  };
  const resolved = await resolvedMembers(sel.batchId, sel.subscriptionId, sel.register);
  if (resolved.length > 0 || partition?.state === 'READY' || partition?.state === 'DONE')
    return resolved.map((r) => ({
      ...base,
      eventId: r.eventId,
      occurredAt: r.occurredAt,
      role: r.role,
      ...(r.role === 'RELATED' ? { relatedReason: 'LATER_IN_PARTITION' as const } : {}),
    }));
  // A claim for originals has no ranges: it takes no event itself (its originals are members).
  if (sel.ranges.length === 0) return [];
  return liveSelected(sel, await partitionEvents(sel.subscriptionId, sel.register)).map((e) => ({
    ...base,
    eventId: e.eventId,
    occurredAt: e.occurredAt,
    role: 'MEMBER' as const,
  }));
}

/** Every selection of the batch with its members, a selection at a time. */
export async function* allSelectionMembers(
  batchId: string,
): AsyncGenerator<{ selection: Selection; members: BatchMember[] }> {
  const partitions = new Map((await listPartitions(batchId)).map((p) => [partitionKey(p), p]));
  for (const selection of await listSelections(batchId))
    yield { selection, members: await selectionMembers(selection, partitions.get(partitionKey(selection))) };
}

type MemberCursor = { m: string } | { s: number; o: number };

const isMemberCursor = (v: unknown): v is MemberCursor =>
  typeof v === 'object' &&
  v !== null &&
  (typeof (v as { m?: unknown }).m === 'string' ||
    (Number.isInteger((v as { s?: unknown }).s) && Number.isInteger((v as { o?: unknown }).o)));

/** One page of the batch's members: member items first, then each selection's. */
export async function memberPage(
  batch: Pick<Batch, 'batchId'>,
  filter: MemberFilter,
  limit: number,
  cursor?: string,
): Promise<Page<BatchMember>> {
  const at = decodeCursor(cursor, isMemberCursor) ?? { s: -1, o: 0 };
  const items: BatchMember[] = [];
  if ('m' in at || at.s < 0) {
    const page = await listMembers(batch.batchId, filter, limit, 'm' in at ? at.m : undefined);
    if (page.nextCursor) return { items: page.items, nextCursor: encodeCursor({ m: page.nextCursor }) };
    items.push(...page.items);
  }
  const selections = await listSelections(batch.batchId);
  if (selections.length === 0) return { items };
  const partitions = new Map((await listPartitions(batch.batchId)).map((p) => [partitionKey(p), p]));
  let s = 'm' in at || at.s < 0 ? 0 : at.s;
  let o = 'm' in at || at.s < 0 ? 0 : at.o;
  for (; s < selections.length; s++, o = 0) {
    const sel = selections[s]!;
    const members = (await selectionMembers(sel, partitions.get(partitionKey(sel)))).filter(
      (m) => (!filter.state || m.state === filter.state) && (!filter.errorCode || m.errorCode === filter.errorCode),
    );
    const room = limit - items.length;
    items.push(...members.slice(o, o + room));
    if (members.length - o > room) return { items, nextCursor: encodeCursor({ s, o: o + room }) };
  }
  return { items };
}

export interface SelectionCounts {
  events: number;
  related: number;
  errored: number;
  processed: number;
}

/**
 * What the batch's selections count: members and related events, errored by the state of their
 * partitions or, at submit's end, because `failed` says their partition was not applied.
 */
export async function selectionCounts(
  batchId: string,
  failed: (sel: Selection) => boolean = () => false,
): Promise<SelectionCounts> {
  const counts: SelectionCounts = { events: 0, related: 0, errored: 0, processed: 0 };
  for await (const { selection, members } of allSelectionMembers(batchId))
    for (const m of members) {
      if (m.role === 'RELATED') counts.related++;
      else counts.events++;
      if (failed(selection) || m.state === 'ERROR' || m.state === 'FAILED') counts.errored++;
      else counts.processed++;
    }
  return counts;
}

/**
 * Which of the (event, batch) pairs are members of the batch's selection of the event's partition,
 * with their role and when the selection was made: the lineage of an event no member item names.
 */
export async function selectionMemberships(
  pairs: ReadonlyArray<{ eventId: string; batchId: string; subscriptionId: string; register: string }>,
): Promise<Map<string, { role: BatchMember['role']; addedAt: string }>> {
  const found = new Map<string, { role: BatchMember['role']; addedAt: string }>();
  const byPartition = new Map<string, typeof pairs>();
  for (const p of pairs) {
    const k = `${p.batchId}|${p.subscriptionId}#${p.register}`;
    byPartition.set(k, [...(byPartition.get(k) ?? []), p]);
  }
  for (const group of byPartition.values()) {
    const { batchId, subscriptionId, register } = group[0]!;
    const sel = await getSelection(batchId, subscriptionId, register);
    if (!sel) continue;
    const roles = new Map((await resolvedMembers(batchId, subscriptionId, register)).map((m) => [m.eventId, m.role]));
    for (const p of group) {
      const role = roles.get(p.eventId);
      if (role) found.set(`${p.eventId}|${batchId}`, { role, addedAt: sel.addedAt });
    }
  }
  return found;
}
