// Publishing what the outbox holds: right after a change commits (the common path), and by a
// relay that picks up whatever a crash or an EventBridge outage left pending.
import type { DomainEvent } from '../domain/domain-events';
import { eventPublisher } from '../events/publisher';
import { logger } from '../logger';
import { listPendingEvents, markPublished } from '../store/outbox';

/**
 * Publishes events whose change has committed. A failure is logged, not thrown: the change
 * stands and the event stays pending for the relay. Delivery is at least once (a crash between
 * publishing and marking republishes); consumers deduplicate on `eventId`.
 */
export async function publishCommitted(events: readonly DomainEvent[], now: string): Promise<void> {
  try {
    await eventPublisher().publish(events);
    await Promise.all(events.map((e) => markPublished(e.eventId, now)));
  } catch (error) {
    logger.warn('domain events left in the outbox for the relay', {
      eventIds: events.map((e) => e.eventId),
      error: error as Error,
    });
  }
}

/** The relay: publishes pending events, oldest first, and reports how many went out. */
export async function publishPending(now: string, limit = 100): Promise<{ published: number }> {
  const pending = await listPendingEvents(limit);
  if (pending.length === 0) return { published: 0 };
  await eventPublisher().publish(pending);
  await Promise.all(pending.map((e) => markPublished(e.eventId, now)));
  return { published: pending.length };
}
