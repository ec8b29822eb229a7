// Reading usage events with their lineage.
import type { EventFilter } from '../store/usage-events';
import { childEventIds, listEvents, requireEvent } from '../store/usage-events';
import { requireSubscription } from '../store/subscriptions';

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
