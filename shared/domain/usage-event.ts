// Usage events: the input shape, per-event validation, and the stored shape. Pure.
import { z } from 'zod';
import type { Refusal } from './errors';
import { subscriptionStart, type Subscription } from './subscription';
import { Id, Instant, Quantity } from './values';

export const EVENT_STATUSES = ['LOADED', 'RATED', 'EXCLUDED', 'REVERSED'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

import type { EventRating, GrantDraw } from './rating';

export type { GrantDraw };

/** The rating an event carries once rated: the engine's rating, with the plan it used and when. */
export type StoredRating = Omit<EventRating, 'eventId' | 'productId'> & { planVersion: number; ratedAt: string };

export interface UsageEvent {
  eventId: string;
  subscriptionId: string;
  productId: string;
  register: string;
  quantity: bigint;
  occurredAt: string;
  attributes: Record<string, string>;
  parentEventId?: string;
  /** How many events name this one as parent (only a parent with children is looked up). */
  childCount?: number;
  status: EventStatus;
  rating?: StoredRating;
  /** Grows with every change of the rating: chunk writes are conditional on it. */
  ratingRev: number;
  heldBy?: string;
  lockedBy?: string;
  replaces?: string;
  replacedBy?: string[];
  /**
   * A replacement listed through its original's index entries (it has none of its own): the
   * original it replaces, whose place in rating order it takes (see indexedViaFor).
   */
  indexedVia?: string;
  /** The batch that reversed the event. */
  reversedBy?: string;
  reversedAt?: string;
  /** The batch that inserted the event as a replacement (or, for an undo, as a restored event). */
  insertedByBatch?: string;
  /** A restored event: the reversed event an undo brought back (it also `replaces` it). */
  restores?: string;
  /** Every batch that holds or held the event as a member (one removed from it is forgotten). */
  touchedBy?: string[];
  createdAt: string;
}

/**
 * The original a replacement is listed through, when it can be: a replacement without a parent,
 * in its original's partition at its original's instant, of an original listed by its own index
 * entries (so a lookup is one step). Such a replacement is written without index entries, which
 * saves its two index writes; readers of the indexes find it through its original's
 * `replacedBy`, at the original's place. Any other replacement is indexed like any event.
 */
export function indexedViaFor(
  r: { subscriptionId: string; register: string; occurredAt: string; parentEventId?: string | undefined },
  original: Pick<UsageEvent, 'eventId' | 'subscriptionId' | 'register' | 'occurredAt' | 'indexedVia'> | undefined,
): string | undefined {
  if (!original || r.parentEventId || original.indexedVia !== undefined) return undefined;
  const samePlace =
    r.subscriptionId === original.subscriptionId &&
    r.register === original.register &&
    r.occurredAt === original.occurredAt;
  return samePlace ? original.eventId : undefined;
}

export const MAX_EVENTS_PER_REQUEST = 500;
const MAX_ATTRIBUTES = 20;

export const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

const Attributes = z
  .record(z.string().regex(ATTRIBUTE_NAME, 'attribute names are 1-64 of A-Z a-z 0-9 _'), z.string().max(256))
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`);

export const UsageEventInput = z.strictObject({
  eventId: Id,
  subscriptionId: Id,
  productId: Id,
  quantity: Quantity,
  occurredAt: Instant,
  parentEventId: Id.optional(),
  attributes: Attributes.optional(),
});

export type NewUsageEvent = z.output<typeof UsageEventInput>;

/** Clock skew we tolerate between producers and us before calling an event future-dated. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** Rules that need the subscription and the clock; shape rules are in the schema. */
export function eventRefusal(event: NewUsageEvent, sub: Subscription | undefined, now: string): Refusal | undefined {
  if (!sub) return { code: 'NOT_FOUND', message: `subscription ${event.subscriptionId} does not exist` };
  if (!sub.products[event.productId]) {
    return {
      code: 'VALIDATION_FAILED',
      message: `product ${event.productId} is not in subscription ${sub.subscriptionId}'s plan`,
    };
  }
  if (event.occurredAt < subscriptionStart(sub)) {
    return { code: 'BACKDATE_OUT_OF_RANGE', message: `occurredAt is before the subscription's start ${sub.startDate}` };
  }
  if (Date.parse(event.occurredAt) > Date.parse(now) + FUTURE_TOLERANCE_MS) {
    return { code: 'FUTURE_DATED', message: 'occurredAt is in the future' };
  }
  if (event.parentEventId === event.eventId)
    return { code: 'VALIDATION_FAILED', message: 'an event cannot be its own parent' };
  return undefined;
}

/** The caller-supplied content of an event: two deliveries are duplicates when these are equal. */
export function contentFingerprint(
  e: Pick<UsageEvent, 'eventId' | 'subscriptionId' | 'productId' | 'quantity' | 'occurredAt' | 'parentEventId'> & {
    attributes?: Record<string, string>;
  },
): string {
  const attributes = Object.entries(e.attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    e.eventId,
    e.subscriptionId,
    e.productId,
    e.quantity.toString(),
    e.occurredAt,
    e.parentEventId ?? null,
    attributes,
  ]);
}
