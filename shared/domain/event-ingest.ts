// The rules of ingesting usage events, each event on its own: what makes one rejected before a
// write (its shape, its subscription, a repeat in the same request, its parent), and the order in
// which a request's events are written (parents before their children).
import type { Refusal } from './errors';
import type { Subscription } from './subscription';
import { eventRefusal, UsageEventInput, type NewUsageEvent } from './usage-event';

/** An event of an ingest request that did not land: its index in the request, and why. */
export interface IngestRefusal extends Refusal {
  index: number;
  eventId?: string;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: IngestRefusal[];
}

/** How a message names another item of the request: the API's request index, or a CSV file's row. */
export type ItemName = (index: number) => string;

export const requestItemName: ItemName = (index) => `item ${index} of this request`;

export interface Indexed {
  index: number;
  event: NewUsageEvent;
}

const claimedId = (input: unknown): string | undefined => {
  if (typeof input !== 'object' || input === null || !('eventId' in input)) return undefined;
  return typeof input.eventId === 'string' ? input.eventId.slice(0, 128) : undefined;
};

/** The inputs that are events, and a VALIDATION_FAILED rejection for each that is not. */
export function parseEvents(raw: readonly unknown[]): { parsed: Indexed[]; rejected: IngestRefusal[] } {
  const parsed: Indexed[] = [];
  const rejected: IngestRefusal[] = [];
  raw.forEach((input, index) => {
    const r = UsageEventInput.safeParse(input);
    if (r.success) parsed.push({ index, event: r.data });
    else {
      const first = r.error.issues[0]!;
      const eventId = claimedId(input);
      rejected.push({
        index,
        ...(eventId ? { eventId } : {}),
        code: 'VALIDATION_FAILED',
        message: `${first.path.join('.') || 'event'}: ${first.message}`,
      });
    }
  });
  return { parsed, rejected };
}

/**
 * The events their subscription takes (see eventRefusal), each with it; a later event of the
 * request repeating an earlier one's id is EVENT_ID_CONFLICT.
 */
export function screenEvents(
  parsed: readonly Indexed[],
  subscriptions: ReadonlyMap<string, Subscription>,
  now: string,
  itemName: ItemName,
): { valid: Array<Indexed & { sub: Subscription }>; rejected: IngestRefusal[] } {
  const seen = new Map<string, number>();
  const valid: Array<Indexed & { sub: Subscription }> = [];
  const rejected: IngestRefusal[] = [];
  for (const { index, event } of parsed) {
    const sub = subscriptions.get(event.subscriptionId);
    const refusal = eventRefusal(event, sub, now);
    if (refusal) rejected.push({ index, eventId: event.eventId, ...refusal });
    else if (seen.has(event.eventId)) {
      rejected.push({
        index,
        eventId: event.eventId,
        code: 'EVENT_ID_CONFLICT',
        message: `eventId repeats ${itemName(seen.get(event.eventId)!)} with other content`,
      });
    } else {
      seen.set(event.eventId, index);
      valid.push({ index, event, sub: sub! });
    }
  }
  return { valid, rejected };
}

/** Parents a request's events name that the request itself does not hold: they must be read. */
export function parentsToRead(valid: readonly Indexed[]): string[] {
  const inRequest = new Set(valid.map((v) => v.event.eventId));
  return [...new Set(valid.map((v) => v.event.parentEventId).filter((p): p is string => !!p && !inRequest.has(p)))];
}

type ParentLike = Pick<NewUsageEvent, 'subscriptionId'> & { status?: string };

/** A child's parent must exist (stored, or earlier in this request), be in the same subscription, and not be reversed. */
export function parentRefusals(
  valid: readonly Indexed[],
  stored: ReadonlyMap<string, ParentLike>,
): Map<number, Refusal> {
  const inRequest = new Map(valid.map((v) => [v.event.eventId, v.event]));
  const refusals = new Map<number, Refusal>();
  for (const { index, event } of valid) {
    if (!event.parentEventId) continue;
    const parent: ParentLike | undefined = inRequest.get(event.parentEventId) ?? stored.get(event.parentEventId);
    if (!parent) refusals.set(index, missingParent(event.parentEventId));
    else if (parent.subscriptionId !== event.subscriptionId) {
      refusals.set(index, {
        code: 'VALIDATION_FAILED',
        message: `parent event ${event.parentEventId} belongs to another subscription`,
      });
    } else if (parent.status === 'REVERSED') {
      refusals.set(index, {
        code: 'EVENT_ALREADY_REVERSED',
        message: `parent event ${event.parentEventId} is reversed`,
      });
    }
  }
  return refusals;
}

export const missingParent = (parentEventId: string | undefined): Refusal => ({
  code: 'EVENT_NOT_FOUND',
  message: `parent event ${parentEventId} does not exist`,
});

export const idConflict = (): Refusal => ({
  code: 'EVENT_ID_CONFLICT',
  message: 'another event with this eventId and different content exists',
});

/** The request's events by depth in it: parents land before their children (a child's write counts it on its parent). */
export function byParentDepth<T extends { event: NewUsageEvent }>(items: readonly T[]): T[][] {
  const inRequest = new Map(items.map((i) => [i.event.eventId, i.event]));
  const depth = (e: NewUsageEvent, seen = 0): number =>
    e.parentEventId && inRequest.has(e.parentEventId) && seen < 10
      ? 1 + depth(inRequest.get(e.parentEventId)!, seen + 1)
      : 0;
  const levels: T[][] = [];
  for (const item of items) (levels[depth(item.event)] ??= []).push(item);
  return levels.filter(Boolean);
}
