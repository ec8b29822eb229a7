import { it } from 'vitest';
import { call } from './support/api';
import { aSubscription, anEvent, uniqueId } from './support/builders';
import { useTestTable } from './support/dynamo';
it('probe', async () => {
  await useTestTable('probe');
  const sub = uniqueId('sub');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
  const events = Array.from({ length: 1000 }, (_, i) => anEvent({ subscriptionId: sub, occurredAt: `2026-03-10T10:${String(i % 60).padStart(2, '0')}:00Z` }));
  for (let i = 0; i < 1000; i += 500) await call('POST', '/v1/usage-events', { body: { events: events.slice(i, i + 500) } });
  const b = (await call('POST', '/v1/batches', { body: { type: 'RATING' } })).body.batchId;
  let t = performance.now();
  const r = await call('POST', `/v1/batches/${b}/events`, { body: { eventIds: events.map((e) => e.eventId) } });
  console.log('PROBE single add 1000:', r.body.added, Math.round(performance.now() - t), 'ms');
});
