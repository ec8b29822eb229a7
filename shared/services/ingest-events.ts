// Ingesting usage events, as POST /v1/usage-events and CSV drops do: each event on its own, a bad
// one rejected with its index and code while the good ones land. Idempotent on `eventId`: the same
// content again is a duplicate, other content under the same id is EVENT_ID_CONFLICT. Guards are
// conditional puts (store/usage-events.ts), never read-then-write.
import {
  byParentDepth,
  idConflict,
  missingParent,
  parentRefusals,
  parentsToRead,
  parseEvents,
  requestItemName,
  screenEvents,
  type IngestRefusal,
  type IngestResult,
  type ItemName,
} from '../domain/event-ingest';
import { contentFingerprint } from '../domain/usage-event';
import { getSubscriptions } from '../store/subscriptions';
import { getEvents, landNewEvents } from '../store/usage-events';

export type { IngestRefusal, IngestResult };

export async function ingestEvents(
  raw: readonly unknown[],
  now: string,
  itemName: ItemName = requestItemName,
): Promise<IngestResult> {
  const { parsed, rejected } = parseEvents(raw);
  const subscriptions = new Map(
    (await getSubscriptions(parsed.map((p) => p.event.subscriptionId))).map((s) => [s.subscriptionId, s]),
  );
  const screened = screenEvents(parsed, subscriptions, now, itemName);
  rejected.push(...screened.rejected);
  const stored = new Map((await getEvents(parentsToRead(screened.valid))).map((e) => [e.eventId, e]));
  const refusals = parentRefusals(screened.valid, stored);
  const writable = screened.valid.filter(({ index, event }) => {
    const refusal = refusals.get(index);
    if (refusal) rejected.push({ index, eventId: event.eventId, ...refusal });
    return !refusal;
  });
  let accepted = 0;
  let duplicates = 0;
  // Parents land before their children: a child's write also counts it on its parent.
  for (const level of byParentDepth(writable)) {
    const writes = level.map(({ index, event, sub }) => ({
      index,
      event,
      register: sub.products[event.productId]!.register,
    }));
    for (const { write, outcome } of await landNewEvents(writes, now)) {
      const { index, event } = write;
      if (outcome.kind === 'landed') accepted++;
      else if (outcome.kind === 'no-parent')
        rejected.push({ index, eventId: event.eventId, ...missingParent(event.parentEventId) });
      // The id was taken: by this very content (an earlier delivery), or by other content.
      else if (outcome.existing && contentFingerprint(outcome.existing) === contentFingerprint(event)) duplicates++;
      else rejected.push({ index, eventId: event.eventId, ...idConflict() });
    }
  }
  rejected.sort((a, b) => a.index - b.index);
  return { accepted, duplicates, rejected };
}
