// Undo of a completed batch: the inverse of what it wrote, event by event. Pure.
//
// Every event the original changed goes back to what it was before: a re-rated event to the
// rating it had, a rated one to LOADED, a replacement it inserted is reversed, and an event it
// reversed comes back as a new event (a restored event) carrying the rating it had. The totals
// follow from these changes exactly as for any plan (grants, register, bill lines).
import { createHash } from 'node:crypto';
import { billDeltas, drawDeltas, type EventChange } from './partition-plan';
import type { EventStatus, StoredRating, UsageEvent } from './usage-event';

/** One event change the original batch wrote (from its change set), with the rating it replaced. */
export interface OriginalChange {
  eventId: string;
  fromRev: number;
  status: EventStatus;
  rating: StoredRating;
  before?: StoredRating;
}

/** The id of the event an undo restores in place of a reversed one: the same for every attempt. */
export function restoredEventId(undoBatchId: string, eventId: string): string {
  const h = createHash('sha256').update(`${undoBatchId}#${eventId}`).digest('hex').slice(0, 12);
  return `${eventId.slice(0, 110)}.r${h}`;
}

/** A restored event to insert: a copy of the reversed event under a new id, linked to it. */
export interface RestoredEvent {
  eventId: string;
  restores: UsageEvent;
  /** The restored copy of the parent when the parent is restored too, else the original parent. */
  parentEventId?: string;
}

const statusOf = (e: Pick<UsageEvent, 'quantity'>): EventStatus => (e.quantity === 0n ? 'EXCLUDED' : 'RATED');

/** Would an undo's hold find the event as the original left it? (Its revision moves with every change.) */
export const unchangedSince = (c: OriginalChange, e: Pick<UsageEvent, 'ratingRev'>) => e.ratingRev === c.fromRev + 1;

/**
 * The inverse of the original's changes in one partition. `events`: the events they name, as
 * stored now (unchanged since the original: the undo holds them). `originalBatchId` tells the
 * replacements the original inserted (reversed) from the events it rated (back to LOADED).
 */
export function undoChanges(
  originals: readonly OriginalChange[],
  events: ReadonlyMap<string, UsageEvent>,
  originalBatchId: string,
  undoBatchId: string,
): { changes: EventChange[]; restored: RestoredEvent[] } {
  const changes: EventChange[] = [];
  const restored: RestoredEvent[] = [];
  const reversedByOriginal = new Set(originals.filter((c) => c.status === 'REVERSED').map((c) => c.eventId));
  for (const c of originals) {
    const e = events.get(c.eventId);
    if (!e) continue;
    if (c.status === 'REVERSED') {
      const parent = e.parentEventId;
      const copy: RestoredEvent = {
        eventId: restoredEventId(undoBatchId, e.eventId),
        restores: e,
        ...(parent
          ? { parentEventId: reversedByOriginal.has(parent) ? restoredEventId(undoBatchId, parent) : parent }
          : {}),
      };
      restored.push(copy);
      // An event reversed before it was rated comes back unrated.
      if (!c.before) continue;
      changes.push({
        eventId: copy.eventId,
        fromRev: 0,
        status: statusOf(e),
        rating: c.before,
        grantDeltas: drawDeltas([], c.before.draws),
        consumedDelta: c.before.allowanceUsed,
        billDeltas: billDeltas(undefined, c.before),
      });
      continue;
    }
    const current = e.rating ?? c.rating;
    const gone = {
      grantDeltas: drawDeltas(current.draws, []),
      consumedDelta: -current.allowanceUsed,
      billDeltas: [{ period: current.billPeriod, usageAmount: -current.amount, eventCount: -1 }],
    };
    if (c.before) {
      changes.push({
        eventId: e.eventId,
        fromRev: e.ratingRev,
        status: statusOf(e),
        rating: c.before,
        before: current,
        grantDeltas: drawDeltas(current.draws, c.before.draws),
        consumedDelta: c.before.allowanceUsed - current.allowanceUsed,
        billDeltas: billDeltas(current, c.before),
      });
    } else if (e.insertedByBatch === originalBatchId) {
      // A replacement (or restored event) the original inserted is reversed, its rating kept as history.
      changes.push({
        eventId: e.eventId,
        fromRev: e.ratingRev,
        status: 'REVERSED',
        rating: current,
        before: current,
        ...gone,
      });
    } else {
      // Rated by the original from LOADED: back to LOADED, unrated.
      changes.push({
        eventId: e.eventId,
        fromRev: e.ratingRev,
        status: 'LOADED',
        rating: current,
        before: current,
        ...gone,
      });
    }
  }
  return { changes, restored };
}
