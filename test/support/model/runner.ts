// Plays a history (./history.ts) through the real HTTP API of a local stack (DynamoDB Local, the
// real ASL in the local runner), step by step, and the same steps through the reference model
// (./reference.ts); then reads every event, grant, register, ledger entry and bill line of the
// history's subscriptions from the table and names each divergence from the model.
import { allMembers } from '../../../shared/store/batches';
import { allLedgerEntries, grantUndrawn, listGrants, listRegisters } from '../../../shared/store/balances';
import { listBillLines } from '../../../shared/store/bill-lines';
import { checkSubscription } from '../../../shared/store/invariants';
import { eventsFrom } from '../../../shared/store/partition-rating';
import { requireSubscription } from '../../../shared/store/subscriptions';
import { call } from '../api';
import { drive } from '../batch-status';
import { eventually } from '../eventually';
import { seededRandom, type SeededRandom } from '../seeded-random';
import { START_DATE, type BatchScript, type EventSpec, type History, type SubscriptionSpec } from './history';
import {
  apply,
  compare,
  emptyState,
  grant,
  ingest,
  outcomeOf,
  scaled,
  setLineStatus,
  subscribe,
  QUANTITY_DIGITS,
  type Divergence,
  type ModelBatch,
  type ModelState,
  type Snapshot,
  expectedSnapshot,
  type SubscriptionOutcome,
} from './reference';

const FINISHED = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED', 'CANCELLED'];

export interface Played {
  history: History;
  state: ModelState;
  /** What went differently while playing (answers, batch outcomes, member errors). */
  divergences: Divergence[];
  /** The steps as resolved (which events each batch took), for a reader reproducing a divergence. */
  log: string[];
  batches: number;
}

/** Plays the history; compare with `compareWithModel` once every attempt has ended (stack.idle()). */
export async function playHistory(history: History): Promise<Played> {
  const state = emptyState();
  const played: Played = { history, state, divergences: [], log: [], batches: 0 };
  const diverge = (item: string, field: string, expected: string, actual: string) =>
    played.divergences.push({ item, field, expected, actual });
  try {
    for (const sub of history.subscriptions) {
      const res = await call('PUT', `/v1/subscriptions/${sub.subscriptionId}`, { body: planBody(sub) });
      expectStatus(res, 201, `create ${sub.subscriptionId}`);
      subscribe(state, { ...sub, startDate: START_DATE });
    }
    for (const g of history.grants) await addGrant(state, g.subscriptionId, g.grant);
    await ingestEvents(state, history.events);

    for (const [i, step] of history.steps.entries()) {
      switch (step.kind) {
        case 'grant':
          await addGrant(state, step.subscriptionId, step.grant);
          played.log.push(`${i}: grant ${step.grant.amount} ${step.grant.register} to ${step.subscriptionId}`);
          break;
        case 'ingest':
          await ingestEvents(state, step.events);
          played.log.push(`${i}: ingest ${step.events.map((e) => e.eventId).join(' ')}`);
          break;
        case 'plan': {
          const res = await call('PUT', `/v1/subscriptions/${step.subscription.subscriptionId}`, {
            body: planBody(step.subscription),
          });
          expectStatus(res, 200, `plan ${step.subscription.subscriptionId}`);
          subscribe(state, { ...step.subscription, startDate: START_DATE });
          played.log.push(`${i}: plan ${JSON.stringify(step.subscription)}`);
          break;
        }
        case 'bill': {
          const sub = state.subscriptions.get(step.subscriptionId)!;
          const open = [...sub.lines.values()].filter((l) => l.status !== 'INTERFACED');
          if (open.length === 0) break;
          const random = seededRandom(step.pickSeed);
          const line = random.pick(open.sort((a, b) => (a.period < b.period ? -1 : 1)));
          // Billed, and half the time interfaced to receivables as well (statuses only move forward).
          const statuses = line.status === 'OPEN' ? ['BILLED', 'INTERFACED'] : ['INTERFACED'];
          for (const status of random.chance(0.5) ? statuses : statuses.slice(0, 1)) {
            const res = await call(
              'POST',
              `/v1/subscriptions/${step.subscriptionId}/bill-lines/${line.period}/status`,
              {
                body: { status },
              },
            );
            expectStatus(res, 200, `bill line ${step.subscriptionId}/${line.period} ${status}`);
            setLineStatus(state, step.subscriptionId, line.period, status as 'BILLED' | 'INTERFACED');
            played.log.push(`${i}: bill line ${step.subscriptionId}/${line.period} ${status}`);
          }
          break;
        }
        case 'batch': {
          const run = await startBatch(state, step.batch, [], played, i);
          if (run) await finishBatch(state, run, played, diverge);
          break;
        }
        case 'concurrent': {
          const first = await startBatch(state, step.batches[0], [], played, i);
          const taken = first?.members ?? [];
          const second = await startBatch(state, step.batches[1], taken.slice(0, step.overlap), played, i);
          await Promise.all([first, second].map((run) => run && finishBatch(state, run, played, diverge)));
          break;
        }
      }
    }
  } catch (error) {
    diverge('history', 'completes', 'every step answered as the model says', String(error));
  }
  return played;
}

/** The model's snapshot against the table's, plus every invariant the table checks itself. */
export async function compareWithModel(played: Played): Promise<Divergence[]> {
  const actual = await tableSnapshot(played.state);
  const out = [...played.divergences, ...compare(expectedSnapshot(played.state), actual)];
  for (const sub of played.state.subscriptions.keys()) {
    for (const v of await checkSubscription(await requireSubscription(sub)))
      out.push({ item: `subscription ${sub}`, field: `invariant ${v.rule}`, expected: 'holds', actual: v.detail });
  }
  return out;
}

/** What the table holds for the model's subscriptions, in the model's terms. */
export async function tableSnapshot(state: ModelState): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const sub of state.subscriptions.values()) {
    const id = sub.subscriptionId;
    const registers = new Set(Object.values(sub.products).map((p) => p.register));
    for (const register of registers) {
      for (const e of await eventsFrom(id, register, { occurredAt: '', eventId: '' })) {
        const r = e.rating;
        out.set(`event ${e.eventId}`, {
          status: e.status,
          ratingRev: String(e.ratingRev),
          held: e.heldBy === undefined ? 'no' : `by ${e.heldBy}`,
          reversedBy: e.reversedBy,
          replacedBy: e.replacedBy?.join(','),
          replaces: e.replaces,
          allowanceUsed: r && String(r.allowanceUsed),
          overageQuantity: r && String(r.overageQuantity),
          unitPrice: r && String(r.unitPrice),
          amount: r && String(r.amount),
          billPeriod: r?.billPeriod,
          draws: r?.draws.map((d) => `${d.grantId}:${d.quantity}`).join(','),
        });
      }
    }
    const undrawn = await grantUndrawn(id);
    for (const g of await listGrants(id))
      out.set(`grant ${id}/${g.register}/${g.grantId}`, {
        amount: String(g.amount),
        drawn: String(g.drawn),
        undrawn: String(undrawn.get(`${g.register}#${g.grantId}`)),
      });
    for (const r of await listRegisters(id)) {
      out.set(`register ${id}/${r.register}`, { granted: String(r.granted), consumed: String(r.consumed) });
      for (const entry of await allLedgerEntries(id, r.register))
        out.set(`ledger ${id}/${r.register}/${entry.entryId}`, {
          kind: entry.kind,
          granted: String(entry.granted),
          consumed: String(entry.consumed),
          eventCount: entry.kind === 'CONSUMPTION' ? String(entry.eventCount) : undefined,
        });
    }
    for (const l of await listBillLines(id))
      out.set(`bill line ${id}/${l.period}`, {
        usageAmount: String(l.usageAmount),
        eventCount: String(l.eventCount),
        periodMinimum: l.periodMinimum === undefined ? undefined : String(l.periodMinimum),
        adjustments: String(l.adjustments + l.previousBalanceAdjustments),
        status: l.status,
      });
  }
  return out;
}

// ---- steps -------------------------------------------------------------------------------------

const planBody = (sub: SubscriptionSpec) => ({
  accountId: 'acct-model',
  startDate: START_DATE,
  currency: 'USD',
  products: sub.products,
  ...(sub.periodMinimum !== undefined ? { periodMinimum: sub.periodMinimum } : {}),
});

function expectStatus(res: { status: number; body: unknown }, status: number, what: string) {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
}

async function addGrant(state: ModelState, subscriptionId: string, g: History['grants'][number]['grant']) {
  const { register: _register, ...body } = g;
  const res = await call('POST', `/v1/subscriptions/${subscriptionId}/balances/${g.register}/grants`, { body });
  expectStatus(res, 201, `grant to ${subscriptionId}`);
  // The grant's id and creation time are the system's to give (the draw order reads them).
  const known = new Set(state.subscriptions.get(subscriptionId)!.grants.map((x) => x.grantId));
  const made = (await listGrants(subscriptionId, g.register)).find((x) => !known.has(x.grantId));
  if (!made) throw new Error(`grant to ${subscriptionId}: not found after 201`);
  grant(state, subscriptionId, {
    grantId: made.grantId,
    register: g.register,
    amount: scaled(g.amount, QUANTITY_DIGITS),
    validFrom: g.validFrom ?? `${START_DATE}T00:00:00.000Z`,
    ...(g.validTo ? { validTo: g.validTo } : {}),
    createdAt: made.createdAt,
  });
}

async function ingestEvents(state: ModelState, events: readonly EventSpec[]) {
  const res = await call('POST', '/v1/usage-events', { body: { events } });
  if (res.status >= 300 || res.body.accepted !== events.length)
    throw new Error(`ingest: ${res.status} ${JSON.stringify(res.body)}`);
  for (const e of events) ingest(state, e);
}

interface BatchRun {
  batchId: string;
  script: BatchScript;
  model: ModelBatch;
  /** The events the batch holds as members (originals for REVERSE_REPLACE). */
  members: string[];
}

const eligible: Record<BatchScript['type'], readonly string[]> = {
  RATING: ['LOADED'],
  RERATE: ['RATED'],
  REVERSE_REPLACE: ['RATED', 'EXCLUDED'],
};

/** Creates the batch and adds its events; `alsoAsk` are events another batch holds: each must be refused. */
async function startBatch(
  state: ModelState,
  script: BatchScript,
  alsoAsk: readonly string[],
  played: Played,
  step: number,
): Promise<BatchRun | undefined> {
  const random = seededRandom(script.pickSeed);
  const candidates = [...state.events.values()]
    .filter((e) => script.subscriptionIds.includes(e.subscriptionId) && eligible[script.type].includes(e.status))
    .map((e) => e.eventId)
    .sort();
  if (candidates.length === 0) {
    played.log.push(`${step}: ${script.type} of ${script.subscriptionIds.join(',')}: nothing eligible`);
    return undefined;
  }
  const members = random.shuffle(candidates).slice(0, Math.max(1, Math.round(script.share * candidates.length)));
  const created = await call('POST', '/v1/batches', { body: { type: script.type } });
  expectStatus(created, 201, `create ${script.type} batch`);
  const batchId = created.body.batchId as string;
  played.batches++;
  let model: ModelBatch;
  if (script.type === 'REVERSE_REPLACE') {
    const originals = members.map((eventId) => ({ eventId, replacements: replacementsOf(state, eventId, random) }));
    const res = await call('POST', `/v1/batches/${batchId}/replacements`, {
      body: {
        replacements: [
          ...originals.map((o) => ({
            originalEventId: o.eventId,
            events: o.replacements.map((r) => ({ ...r, subscriptionId: state.events.get(o.eventId)!.subscriptionId })),
          })),
          ...alsoAsk.map((eventId) => ({ originalEventId: eventId, events: [] })),
        ],
      },
    });
    expectStatus(res, 200, `replacements of ${batchId}`);
    checkRejected(res.body.rejected, alsoAsk, batchId, played);
    model = { batchId, type: 'REVERSE_REPLACE', originals };
  } else {
    const res = await call('POST', `/v1/batches/${batchId}/events`, { body: { eventIds: [...members, ...alsoAsk] } });
    expectStatus(res, 200, `add to ${batchId}`);
    checkRejected(res.body.rejected, alsoAsk, batchId, played);
    model = { batchId, type: script.type, members };
  }
  played.log.push(
    `${step}: ${script.type} ${batchId} takes ${members.join(' ')}${alsoAsk.length ? `, refused ${alsoAsk.join(' ')}` : ''}`,
  );
  return { batchId, script, model, members };
}

/** Every event another batch holds is refused as held; nothing else is refused. */
function checkRejected(
  rejected: Array<{ eventId?: string; originalEventId?: string; code: string }>,
  held: readonly string[],
  batchId: string,
  played: Played,
) {
  const got = rejected
    .map((r) => `${r.eventId ?? r.originalEventId}:${r.code}`)
    .sort()
    .join(' ');
  const want = held
    .map((id) => `${id}:EVENT_HELD_BY_OTHER_BATCH`)
    .sort()
    .join(' ');
  if (got !== want)
    played.divergences.push({ item: `batch ${batchId}`, field: 'rejected', expected: want, actual: got });
}

/** 0–2 corrected events for an original: same register, near its time (maybe across a month end). */
function replacementsOf(state: ModelState, eventId: string, random: SeededRandom) {
  const original = state.events.get(eventId)!;
  const sub = state.subscriptions.get(original.subscriptionId)!;
  const products = Object.keys(sub.products)
    .filter((p) => sub.products[p]!.register === original.register)
    .sort();
  return Array.from({ length: random.pick([0, 1, 1, 1, 2]) }, (_, k) => {
    const shift = random.chance(0.5) ? 0 : random.int(-3 * 86_400, 3 * 86_400) * 1000;
    const at = Math.min(
      Math.max(Date.parse(original.occurredAt) + shift, Date.parse('2026-02-01T00:00:00.000Z')),
      Date.parse('2026-04-30T23:59:59.000Z'),
    );
    return {
      eventId: `${eventId}-r${k}`,
      productId: random.pick(products),
      quantity: random.pick(['0', '1', '3', '4.5', '9', '0.25']),
      occurredAt: new Date(at).toISOString(),
    };
  });
}

async function finishBatch(
  state: ModelState,
  run: BatchRun,
  played: Played,
  diverge: (item: string, field: string, expected: string, actual: string) => void,
) {
  const { batchId, script } = run;
  const random = seededRandom(script.pickSeed + 1);
  let model = run.model;
  if (script.remove && run.members.length > 1) {
    const gone = random.shuffle([...run.members]).slice(0, random.int(1, Math.min(2, run.members.length - 1)));
    const res = await call('POST', `/v1/batches/${batchId}/events/remove`, {
      body: { mode: 'BY_RULE', rule: { eventIds: gone } },
    });
    expectStatus(res, 200, `remove from ${batchId}`);
    // An original's replacements leave with it.
    if (res.body.removed !== gone.length)
      diverge(`batch ${batchId}`, 'removed', String(gone.length), String(res.body.removed));
    model = without(model, new Set(gone));
    played.log.push(`  ${batchId} removes ${gone.join(' ')}`);
  }
  if (script.cancel === 'DRAFT') return cancel(batchId, played, diverge);
  await drive(batchId, 'lock', ['LOCKED'], ['DRAFT']);
  if (script.revertCycle) {
    await revert(batchId);
    await drive(batchId, 'lock', ['LOCKED'], ['DRAFT']);
    played.log.push(`  ${batchId} locked, reverted, locked again`);
  }
  const outcomes = outcomeOf(state, model);
  const refused = outcomes.filter((o) => o.error);
  await checkMemberErrors(batchId, outcomes, diverge);
  if (refused.length > 0) {
    const res = await call('POST', `/v1/batches/${batchId}/events/remove`, {
      body: { mode: 'BY_RULE', rule: { subscriptionIds: refused.map((o) => o.subscriptionId) } },
    });
    expectStatus(res, 200, `remove errored members of ${batchId}`);
    played.log.push(
      `  ${batchId} refused for ${refused.map((o) => o.subscriptionId).join(' ')}: errored members removed`,
    );
    if (refused.length === outcomes.length) return cancel(batchId, played, diverge);
  }
  if (script.cancel === 'LOCKED') return cancel(batchId, played, diverge);
  const done = await drive(batchId, 'submit', FINISHED);
  if (done.status !== 'COMPLETED')
    diverge(`batch ${batchId}`, 'status', 'COMPLETED', `${done.status} ${JSON.stringify(done.lastError ?? {})}`);
  // Progress is exact: every event the applied plans change, counted once whatever was retried.
  const changed = outcomes.filter((o) => !o.error).reduce((s, o) => s + o.events.length, 0);
  const progress = `${done.progress?.done}/${done.progress?.total}`;
  if (progress !== `${changed}/${changed}`) diverge(`batch ${batchId}`, 'progress', `${changed}/${changed}`, progress);
  apply(state, outcomes);
}

function without(batch: ModelBatch, gone: ReadonlySet<string>): ModelBatch {
  return batch.type === 'REVERSE_REPLACE'
    ? { ...batch, originals: batch.originals.filter((o) => !gone.has(o.eventId)) }
    : { ...batch, members: batch.members.filter((id) => !gone.has(id)) };
}

/** Members of a refused subscription are in ERROR with its code; every other member is not. */
async function checkMemberErrors(
  batchId: string,
  outcomes: readonly SubscriptionOutcome[],
  diverge: (item: string, field: string, expected: string, actual: string) => void,
) {
  const expected = new Map<string, string>();
  for (const o of outcomes) for (const id of o.members) expected.set(id, o.error ?? 'none');
  for await (const page of allMembers(batchId)) {
    for (const m of page) {
      if (m.role === 'RELATED') continue;
      const actual = m.state === 'ERROR' ? (m.errorCode ?? 'ERROR') : 'none';
      const want = expected.get(m.eventId) ?? '(not a member)';
      if (actual !== want) diverge(`batch ${batchId} member ${m.eventId}`, 'errorCode', want, actual);
    }
  }
}

async function cancel(
  batchId: string,
  played: Played,
  diverge: (item: string, field: string, e: string, a: string) => void,
) {
  for (let attempt = 0; attempt < 6; attempt++) {
    const res = await call('POST', `/v1/batches/${batchId}/cancel`);
    if (res.status !== 200 && res.status !== 202 && res.status !== 409)
      throw new Error(`cancel ${batchId}: ${res.status} ${JSON.stringify(res.body)}`);
    const batch = await settled(batchId, (b) => b.status === 'CANCELLED' || b.status === 'DRAFT' || failedRevert(b));
    if (batch.status === 'CANCELLED') {
      played.log.push(`  ${batchId} cancelled`);
      return;
    }
    if (failedRevert(batch)) await revert(batchId);
  }
  diverge(`batch ${batchId}`, 'status', 'CANCELLED', 'never cancelled');
}

/** Reverts for edit until DRAFT (a revert whose retries ran out is asked again, as an operator would). */
async function revert(batchId: string) {
  for (let attempt = 0; attempt < 6; attempt++) {
    const res = await call('POST', `/v1/batches/${batchId}/revert`);
    if (res.status !== 202 && res.status !== 409)
      throw new Error(`revert ${batchId}: ${res.status} ${JSON.stringify(res.body)}`);
    const batch = await settled(batchId, (b) => b.status === 'DRAFT' || b.status === 'CANCELLED' || failedRevert(b));
    if (batch.status !== 'REVERTING') return;
  }
  throw new Error(`batch ${batchId} never reverted`);
}

const failedRevert = (b: any) => b.status === 'REVERTING' && b.lastError !== undefined;

function settled(batchId: string, done: (batch: any) => boolean): Promise<any> {
  return eventually(
    `batch ${batchId} to settle`,
    async () => {
      const res = await call('GET', `/v1/batches/${batchId}`);
      return done(res.body) ? res.body : undefined;
    },
    60_000,
  );
}
