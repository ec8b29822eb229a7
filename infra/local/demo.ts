// `npm run demo`: the worked example (README, "The API in five calls") against a running local stack (`npm start`),
// through the public HTTP API only: a subscription with an allowance, usage rated by a RATING
// batch, a top-up, a RERATE batch through lock → preview → submit, and its undo (an UNDO batch
// through the same lock → preview → submit), with balances and bill lines printed at each step.
import { randomUUID } from 'node:crypto';

const api = (process.env.API_URL ?? `http://127.0.0.1:${process.env.API_PORT ?? 3000}`).replace(/\/$/, '');
const actor = 'demo';
const run = randomUUID().slice(0, 8);
const sub = `demo-${run}`;

let calls = 0;

async function request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  // Every POST carries an Idempotency-Key, as a careful client's would: a retry cannot apply twice.
  const res = await fetch(`${api}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      'x-actor': actor,
      ...(method === 'POST' ? { 'idempotency-key': `demo-${run}-${++calls}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${json?.code ?? ''}: ${json?.detail ?? text}`);
  return json as T;
}

async function until(batchId: string, statuses: string[]): Promise<any> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const batch = await request('GET', `/v1/batches/${batchId}`);
    if (statuses.includes(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} stayed ${batch.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function batch(type: string, eventIds: string[]): Promise<string> {
  const { batchId } = await request('POST', '/v1/batches', { type, name: `demo ${type}` });
  await request('POST', `/v1/batches/${batchId}/events`, { eventIds });
  await lockAndSubmit(batchId, type);
  return batchId;
}

async function lockAndSubmit(batchId: string, type: string): Promise<void> {
  const lock = await request('POST', `/v1/batches/${batchId}/lock`);
  console.log(`  ${type} batch ${batchId}: lock started (${lock.executionArn.split(':').pop()})`);
  const locked = await until(batchId, ['LOCKED', 'DRAFT']);
  if (locked.status !== 'LOCKED') throw new Error(`lock failed: ${JSON.stringify(locked.lastError)}`);
  const preview = await request('GET', `/v1/batches/${batchId}/preview`);
  for (const p of preview.partitions) console.log(`  preview ${p.register}: balance ${p.before} → ${p.after}`);
  for (const x of preview.subscriptions) {
    console.log(`  charge delta ${x.chargeDelta} ${x.currency}`);
    for (const b of x.billLines) console.log(`    bill ${b.period}: ${b.before.total} → ${b.after.total}`);
  }
  await request('POST', `/v1/batches/${batchId}/submit`);
  const done = await until(batchId, ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);
  console.log(`  submitted: ${done.status}, ${done.counts.processed} processed`);
}

async function show(label: string): Promise<void> {
  const balances = await request('GET', `/v1/subscriptions/${sub}/balances`);
  const bills = await request('GET', `/v1/subscriptions/${sub}/bill-lines`);
  console.log(`\n${label}`);
  for (const b of balances.items)
    console.log(`  balance ${b.register}: granted ${b.granted}, consumed ${b.consumed}, available ${b.available}`);
  for (const l of bills.items)
    console.log(
      `  bill line ${l.period}: usage ${l.usageAmount}, true-up ${l.minimumTrueUp}, total ${l.total} ${l.currency} (${l.status})`,
    );
  if (bills.items.length === 0) console.log('  no bill lines yet');
}

async function main(): Promise<void> {
  console.log(`demo against ${api} (subscription ${sub})`);
  await request('GET', '/v1/health');
  await request('PUT', `/v1/subscriptions/${sub}`, {
    accountId: `acct-${run}`,
    startDate: '2026-01-01',
    currency: 'USD',
    products: { voice: { register: 'MINUTES', unitPrice: '0.05' } },
  });
  await request('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
    amount: '100',
    reason: 'plan allowance',
  });
  const events = [30, 50, 40].map((q, i) => ({
    eventId: `${sub}-call-${i + 1}`,
    subscriptionId: sub,
    productId: 'voice',
    quantity: q,
    occurredAt: `2026-03-0${i + 1}T10:00:00Z`,
  }));
  const ingest = await request('POST', '/v1/usage-events', { events });
  console.log(`ingested ${ingest.accepted} events (30, 50, 40 minutes)`);
  const ids = events.map((e) => e.eventId);

  await show('before rating');
  console.log('\nrating');
  await batch('RATING', ids);
  await show('after rating (expected: bill 1.00, the third call 20 minutes over at 0.05)');

  await request('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { amount: '50', reason: 'top-up' });
  await show('after a top-up of 50 minutes (nothing re-rated yet)');
  console.log('\nre-rating');
  const rerate = await batch('RERATE', ids);
  await show('after re-rating (expected: bill 0.00, the third call now within allowance)');

  console.log('\nundoing the re-rating');
  const undo = await request('POST', `/v1/batches/${rerate}/undo`, {});
  console.log(`  UNDO batch ${undo.batchId} holds the ${undo.counts.events} event(s) the re-rating changed`);
  await lockAndSubmit(undo.batchId, 'UNDO');
  const original = await request('GET', `/v1/batches/${rerate}`);
  console.log(`  RERATE batch ${rerate} is undone by ${original.undoneBy}`);
  await show('after the undo (expected: as after rating, bill 1.00; the top-up stays, 50 minutes available)');
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${(err as Error).message}`);
  if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED')
    console.error(`is the local stack running? start it with: npm start`);
  process.exit(1);
});
