// Publishes domain events to an EventBridge bus. The client is built here, on first use, because
// only the routes with `access.events` (and the outbox relay) ever publish.
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DomainEvent, EventPublisher } from '../domain/domain-events';

/** PutEvents takes at most 10 entries a call. */
const MAX_ENTRIES = 10;

export function eventBridgePublisher(busName: string, region: string): EventPublisher {
  let client: EventBridgeClient | undefined;
  return {
    async publish(events: readonly DomainEvent[]) {
      client ??= new EventBridgeClient({ region });
      for (let i = 0; i < events.length; i += MAX_ENTRIES) {
        const slice = events.slice(i, i + MAX_ENTRIES);
        const res = await client.send(
          new PutEventsCommand({
            Entries: slice.map((e) => ({
              EventBusName: busName,
              Source: e.source,
              DetailType: e.type,
              Time: new Date(e.occurredAt),
              Detail: JSON.stringify(e),
            })),
          }),
        );
        if ((res.FailedEntryCount ?? 0) > 0) {
          const failed = (res.Entries ?? [])
            .map((r, j) => (r.ErrorCode ? `${slice[j]?.eventId}: ${r.ErrorCode}` : undefined))
            .filter(Boolean);
          throw new Error(`EventBridge refused ${res.FailedEntryCount} event(s): ${failed.join('; ')}`);
        }
      }
    },
  };
}
