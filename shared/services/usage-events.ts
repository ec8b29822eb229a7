// Reading usage events with their lineage.
import type { Batch, MemberRole } from '../domain/batch';
import type { UsageEvent } from '../domain/usage-event';
import { batchesOfEvents, getBatches } from '../store/batches';
import { selectionMemberships } from './members';
import { mapLimit } from '../store/concurrency';
import { listEvents, type EventFilter } from '../store/usage-event-list';
import { childEventIds, getEvents, requireEvent } from '../store/usage-events';
import { getSubscriptions, requireSubscription } from '../store/subscriptions';

export async function eventDetail(eventId: string) {
  const event = await requireEvent(eventId);
  const [sub, children] = await Promise.all([requireSubscription(event.subscriptionId), childEventIds(eventId)]);
  return { event, currency: sub.currency, children };
}

export async function listUsageEvents(filter: EventFilter, limit: number, cursor?: string) {
  const sub = await requireSubscription(filter.subscriptionId);
  const page = await listEvents(filter, sub, limit, cursor);
  return { ...page, currency: sub.currency };
}

/** Events one lineage answer holds: nearest first, so what is cut is the far end of the chain. */
export const LINEAGE_MAX_EVENTS = 100;
/** Batches listed per event of a lineage, newest first. */
export const LINEAGE_MAX_BATCHES = 20;

/** A batch that touched an event: held it as a member (with its role), or inserted it as a replacement. */
export interface LineageBatch {
  batch: Batch;
  role: MemberRole;
  /** When the batch took the event (inserted it, for a replacement). */
  at: string;
}

export interface LineageNode {
  event: UsageEvent;
  currency: string;
  /** Replacement generations from the asked event: -1 what it replaced, +1 what replaced it; parent and child share one. */
  generation: number;
  childEventIds: string[];
  batches: LineageBatch[];
}

export interface Lineage {
  eventId: string;
  nodes: LineageNode[];
  /** The chain goes on past the bounds: some listed links name events (or batches) not in the answer. */
  truncated: boolean;
}

/**
 * The whole chain around an event, both ways: parent and children, what it replaced and what
 * replaced it, and each of theirs in turn, breadth first up to LINEAGE_MAX_EVENTS events, each
 * with the batches that touched it. Reads by key (children by their index), never a scan.
 */
export async function eventLineage(eventId: string): Promise<Lineage> {
  const start = await requireEvent(eventId);
  const generation = new Map<string, number>([[eventId, 0]]);
  const events = new Map<string, UsageEvent>();
  const children = new Map<string, string[]>();
  let truncated = false;
  let frontier: UsageEvent[] = [start];
  while (frontier.length > 0) {
    for (const e of frontier) events.set(e.eventId, e);
    // Only an event that counts children asks the index for them.
    await mapLimit(frontier, 16, async (e) => {
      const ids = (e.childCount ?? 0) > 0 ? (await childEventIds(e.eventId)).sort() : [];
      if (ids.length > LINEAGE_MAX_EVENTS) truncated = true;
      children.set(e.eventId, ids.slice(0, LINEAGE_MAX_EVENTS));
    });
    const next: string[] = [];
    const reach = (id: string | undefined, gen: number) => {
      if (!id || generation.has(id)) return;
      if (events.size + next.length >= LINEAGE_MAX_EVENTS) {
        truncated = true;
        return;
      }
      generation.set(id, gen);
      next.push(id);
    };
    for (const e of frontier) {
      const gen = generation.get(e.eventId)!;
      reach(e.parentEventId, gen);
      for (const c of children.get(e.eventId) ?? []) reach(c, gen);
      reach(e.replaces, gen - 1);
      for (const r of e.replacedBy ?? []) reach(r, gen + 1);
    }
    frontier = await getEvents(next);
  }

  const all = [...events.values()];
  const [touches, inserters, subs] = await Promise.all([
    // An event held or reversed before events named their batches in touchedBy still names them in heldBy and reversedBy.
    batchesOfEvents(
      all.map((e) => ({
        eventId: e.eventId,
        touchedBy: [...new Set([...(e.touchedBy ?? []), ...[e.heldBy, e.reversedBy].filter((b): b is string => !!b)])],
      })),
      LINEAGE_MAX_BATCHES,
    ),
    getBatches(all.flatMap((e) => (e.insertedByBatch ? [e.insertedByBatch] : []))),
    getSubscriptions([...new Set(all.map((e) => e.subscriptionId))]),
  ]);
  const inserter = new Map(inserters.map((b) => [b.batchId, b]));
  // A batch that selected the event's partition whole has no member item for it: its selection says.
  const unlisted = all.flatMap((e) =>
    (e.touchedBy ?? [])
      .filter((b) => !(touches.get(e.eventId)?.items ?? []).some((t) => t.batch.batchId === b))
      .map((batchId) => ({ eventId: e.eventId, batchId, subscriptionId: e.subscriptionId, register: e.register })),
  );
  const [selected, selecting] = await Promise.all([
    selectionMemberships(unlisted),
    getBatches(unlisted.map((u) => u.batchId)),
  ]);
  const selectingBatch = new Map(selecting.map((b) => [b.batchId, b]));
  const currency = new Map(subs.map((s) => [s.subscriptionId, s.currency]));
  const nodes = all.map((event): LineageNode => {
    const t = touches.get(event.eventId);
    if (t?.more) truncated = true;
    const held = [
      ...(t?.items ?? []).map(({ batch, member }): LineageBatch => ({ batch, role: member.role, at: member.addedAt })),
      ...(event.touchedBy ?? []).flatMap((batchId): LineageBatch[] => {
        const m = selected.get(`${event.eventId}|${batchId}`);
        const batch = selectingBatch.get(batchId);
        return m && batch ? [{ batch, role: m.role, at: m.addedAt }] : [];
      }),
    ];
    // A replacement has no member item in the batch that inserted it: the event names that batch.
    const insertedBy = event.insertedByBatch ? inserter.get(event.insertedByBatch) : undefined;
    const batches =
      insertedBy && !held.some((b) => b.batch.batchId === insertedBy.batchId)
        ? [...held, { batch: insertedBy, role: 'REPLACEMENT' as const, at: event.createdAt }]
        : held;
    batches.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    return {
      event,
      currency: currency.get(event.subscriptionId) ?? '',
      generation: generation.get(event.eventId)!,
      childEventIds: children.get(event.eventId) ?? [],
      batches,
    };
  });
  // Oldest generation first; in a generation, parents before children, then by time.
  nodes.sort(
    (a, b) =>
      a.generation - b.generation ||
      Number(!!a.event.parentEventId) - Number(!!b.event.parentEventId) ||
      cmp(a.event.occurredAt, b.event.occurredAt) ||
      cmp(a.event.eventId, b.event.eventId),
  );
  return { eventId, nodes, truncated };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
