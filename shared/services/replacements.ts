// The rules a replacement request must meet before anything is held: its original exists and may
// be reversed by this batch, each replacement is a valid new event of a subscription that takes it,
// and no replacement id repeats the request's others or names an event that exists.
import { eligibilityRefusal, MAX_REPLACEMENTS_PER_ORIGINAL, type Batch } from '../domain/batch';
import type { ErrorCode } from '../domain/errors';
import type { Subscription } from '../domain/subscription';
import { eventRefusal, UsageEventInput } from '../domain/usage-event';
import {
  selectedElsewhere,
  type PreparedReplacement,
  type ReplacementRefusal,
  type ReplacementRequest,
} from '../store/batch-members';
import { claimedElsewhere } from '../store/claims-for-originals';
import { mapLimit } from '../store/concurrency';
import { getSubscription } from '../store/subscriptions';
import { getEvents } from '../store/usage-events';

const CONCURRENCY = 16;

/** The requests that may be held, checked, and those refused with why (in the order found). */
export async function prepareReplacements(
  batch: Batch,
  requests: readonly ReplacementRequest[],
  now: string,
): Promise<{ ready: PreparedReplacement[]; rejected: ReplacementRefusal[] }> {
  const rejected: ReplacementRefusal[] = [];
  const originals = new Map((await getEvents(requests.map((r) => r.originalEventId))).map((e) => [e.eventId, e]));
  const seenNew = new Set<string>();
  const subscriptions = new Map<string, Promise<Subscription | undefined>>();
  const subscriptionOf = (id: string) => {
    if (!subscriptions.has(id)) subscriptions.set(id, getSubscription(id));
    return subscriptions.get(id)!;
  };
  const prepared: PreparedReplacement[] = [];
  const rejectFor =
    (originalEventId: string) =>
    (code: ErrorCode, message: string, extra: Partial<ReplacementRefusal> = {}) =>
      void rejected.push({ originalEventId, code, message, ...extra });
  await mapLimit(requests, CONCURRENCY, async (req) => {
    const reject = rejectFor(req.originalEventId);
    const original = originals.get(req.originalEventId);
    if (!original) return reject('EVENT_NOT_FOUND', 'the original event does not exist');
    if (req.events.length > MAX_REPLACEMENTS_PER_ORIGINAL)
      return reject('VALIDATION_FAILED', `at most ${MAX_REPLACEMENTS_PER_ORIGINAL} replacement events per original`);
    const parsed: PreparedReplacement['parsed'] = [];
    for (const [index, raw] of req.events.entries()) {
      const r = UsageEventInput.safeParse(raw);
      if (!r.success)
        return reject('VALIDATION_FAILED', `${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`, {
          index,
        });
      const sub = await subscriptionOf(r.data.subscriptionId);
      const refusal = eventRefusal(r.data, sub, now);
      if (refusal) return reject(refusal.code, refusal.message, { index, eventId: r.data.eventId });
      if (seenNew.has(r.data.eventId))
        return reject('EVENT_ID_CONFLICT', 'the replacement event id repeats another of this request', {
          index,
          eventId: r.data.eventId,
        });
      seenNew.add(r.data.eventId);
      parsed.push({ ...r.data, register: sub!.products[r.data.productId]!.register });
    }
    prepared.push({ original, parsed });
  });
  // One read for every replacement id of the request: an id in use is refused.
  const taken = new Set(
    (await getEvents(prepared.flatMap((p) => p.parsed.map((e) => e.eventId)))).map((e) => e.eventId),
  );
  // Held by another batch comes first, and a batch that claims the partition holds its events.
  const claimed = await claimedElsewhere(
    batch.batchId,
    prepared
      .map((p) => p.original)
      .filter((o) => o.heldBy === undefined && eligibilityRefusal(batch.type, o, batch.batchId) !== undefined),
  );
  const ready = prepared.filter(({ original, parsed }) => {
    const reject = rejectFor(original.eventId);
    const used = parsed.find((e) => taken.has(e.eventId));
    if (used) return reject('EVENT_ID_CONFLICT', `event ${used.eventId} already exists`, { eventId: used.eventId });
    const by = claimed.get(original.eventId);
    if (by) {
      const { code, message } = selectedElsewhere(by);
      return reject(code, message);
    }
    const early =
      original.heldBy === batch.batchId ? undefined : eligibilityRefusal(batch.type, original, batch.batchId);
    if (early) return reject(early, `the original cannot be reversed (${early})`);
    return true;
  });
  return { ready, rejected };
}
