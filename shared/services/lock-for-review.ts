// Over 350 lines: one resumable workflow (gates, check, per-partition plan, finish) whose steps
// share the fence and plan types.
// Lock for review, one resumable step at a time: close the batch's edit gates, check every
// member and note the partitions it changes, then (in shards of subscriptions, run in parallel
// like submit's) per partition hold the related events, apply the rules and compute the preview,
// and finally count and move to LOCKED.
// Every step is idempotent: a retry or a re-run redoes nothing twice.
import { pointOf } from '../domain/rating';
import { eligibilityRefusal, type Batch, type BatchMember } from '../domain/batch';
import { indexedViaFor } from '../domain/usage-event';
import { DomainError, type ErrorCode } from '../domain/errors';
import { holdRelated, releaseMembers, replacementsOf } from '../store/batch-members';
import {
  deletePartitions,
  listPartitions,
  notePartition,
  partitionKey,
  savePartition,
  type BatchPartition,
} from '../store/batch-partitions';
import {
  closeGates,
  getMembers,
  listMembers,
  openGates,
  requireBatch,
  setMemberState,
  transitionBatch,
  type BatchStage,
} from '../store/batches';
import { mapLimit } from '../store/concurrency';
import { partitionEvents, planFor, type PlanWithState } from '../store/partition-rating';
import { requireSubscription } from '../store/subscriptions';
import { childEventIds, getEvents } from '../store/usage-events';
import { partitionPreview, partitionWork, replacementWrites, type PartitionWork } from './partition-work';
import { listBillAdjustments, listBillLines } from '../store/bill-lines';
import type { Register } from '../domain/balance';
import { subscriptionChange, type BillLineChange } from '../domain/change-set';
import { effectiveDateRefusal } from '../domain/effective-date';
import type { PartitionPlan } from '../domain/partition-plan';
import type { Subscription } from '../domain/subscription';
import { getAccount } from '../store/accounts';
import { getRegister } from '../store/balances';
import { assignmentOf } from '../store/balance-group-moves';
import {
  EVENTS_PER_CHUNK,
  fitsOneTransaction,
  saveChangeSet,
  type ChangeSet,
  type GrantChange,
} from '../store/change-sets';
import { getLedgerClose } from '../store/ledger-close';
import { confirmedClaims } from '../store/claims-for-originals';
import { listSelections, type ResolvedMember, type Selection } from '../store/selections';
import type { UsageEvent } from '../domain/usage-event';
import { liveSelected, selectionCounts } from './members';
import { undoPartition } from './undo';
import { MAX_SHARDS } from './submit';

export type LockPhase = 'start' | 'members' | 'selections' | 'partitions' | 'finish';

export interface WorkflowStep<P extends string> {
  batchId: string;
  version: number;
  actor: string;
  phase: P;
  cursor: string | null;
  done?: boolean;
}

/** One iteration of the lock Map: a shard of the batch's subscriptions, locked from a cursor. */
export interface LockShardStep {
  batchId: string;
  version: number;
  actor: string;
  shard: number;
  shards: number;
  /** Index (in the shard's own order) of the next subscription to lock. */
  cursor: number;
  done?: boolean;
}

/** The members step hands the Map its shards with phase `partitions`. */
export type LockStep = WorkflowStep<LockPhase> & { shards?: LockShardStep[] };

const MEMBER_PAGE = 500;
/** Selections noted per unit of work: each reads its partition's events. */
const SELECTION_PAGE = 64;
const PARTITIONS_AT_ONCE = 8;
/** Subscriptions a shard locks at once: the Map runs up to MAX_SHARDS shards beside each other. */
const SUBSCRIPTIONS_AT_ONCE = 4;

export async function lockStep(step: LockStep, now: () => string, deadline: number): Promise<LockStep> {
  const batch = await requireBatch(step.batchId);
  // This lock's own move to LOCKED applied (its answer lost, or the attempt timed out after it): done.
  if (batch.status === 'LOCKED' && batch.version === step.version + 1)
    return { ...step, phase: 'finish', cursor: null, done: true };
  if (batch.status !== 'LOCKING')
    throw new DomainError('INVALID_TRANSITION', `batch ${batch.batchId} is ${batch.status}, not LOCKING`);
  let { phase, cursor } = step;
  // At least one unit of work per invocation, then as many as the time budget allows: the
  // cursor returned saves progress, so a failed invocation loses one unit at most.
  do {
    if (phase === 'start') {
      await closeGates(batch.batchId, lockStage(batch), `LOCK_STARTED#v${batch.version}`, {
        at: now(),
        actor: step.actor,
        action: 'LOCK_STARTED',
        message: 'lock for review started; edits closed',
      });
      phase = 'members';
      cursor = null;
    } else if (phase === 'members') {
      const page = await listMembers(batch.batchId, {}, MEMBER_PAGE, cursor ?? undefined);
      await checkMembers(batch, page.items, now());
      if (page.nextCursor) cursor = page.nextCursor;
      else {
        phase = 'selections';
        cursor = null;
      }
    } else if (phase === 'selections') {
      const selections = await listSelections(batch.batchId);
      const from = Number(cursor ?? 0);
      await mapLimit(selections.slice(from, from + SELECTION_PAGE), PARTITIONS_AT_ONCE, (sel) =>
        noteSelection(batch, sel),
      );
      if (from + SELECTION_PAGE < selections.length) cursor = String(from + SELECTION_PAGE);
      // Every partition is noted: the Map locks them, a shard of subscriptions per iteration.
      else return { ...step, phase: 'partitions', cursor: null, done: false, shards: await planShards(batch, step) };
    } else if (phase === 'partitions') {
      // Only a definition from before the Map asks for this phase: the batch is locked as one shard.
      const one = { batchId: batch.batchId, version: step.version, actor: step.actor, shard: 0, shards: 1 };
      const next = await lockShardChunk({ ...one, cursor: Number(cursor ?? 0) }, now, deadline);
      if (!next.done) return { ...step, phase, cursor: String(next.cursor), done: false };
      phase = 'finish';
      cursor = null;
    } else {
      await finishLock(batch, step.actor, now());
      return { ...step, phase, cursor: null, done: true };
    }
  } while (Date.now() < deadline);
  return { ...step, phase, cursor, done: false };
}

/** As many shards as subscriptions, up to MAX_SHARDS: the partitions are all noted by now. */
async function planShards(batch: Batch, step: LockStep): Promise<LockShardStep[]> {
  const subscriptions = new Set((await listPartitions(batch.batchId)).map((p) => p.subscriptionId)).size;
  const shards = Math.max(1, Math.min(MAX_SHARDS, subscriptions));
  return Array.from({ length: shards }, (_, shard) => ({
    batchId: batch.batchId,
    version: step.version,
    actor: step.actor,
    shard,
    shards,
    cursor: 0,
  }));
}

/**
 * A shard's subscriptions, each with all its partitions: every `shards`-th one in key order, so
 * shards never overlap. The set of partitions is fixed once the members are checked.
 */
async function shardSubscriptions(batchId: string, shard: number, shards: number): Promise<BatchPartition[][]> {
  const all = (await listPartitions(batchId)).sort((a, b) => (partitionKey(a) < partitionKey(b) ? -1 : 1));
  return [...new Set(all.map((p) => p.subscriptionId))]
    .sort()
    .filter((_, i) => i % shards === shard)
    .map((sub) => all.filter((p) => p.subscriptionId === sub));
}

/**
 * Locks a shard's subscriptions from the cursor, a few at once, then as many more as the time
 * budget allows. A subscription with no PENDING partition left (a retry, a late attempt) is
 * skipped; one that fails fails the invocation, and the Map with it.
 */
export async function lockShardChunk(step: LockShardStep, now: () => string, deadline: number): Promise<LockShardStep> {
  const batch = await requireBatch(step.batchId);
  if (batch.status !== 'LOCKING' || batch.version !== step.version)
    throw new DomainError(
      'INVALID_TRANSITION',
      `batch ${batch.batchId} is ${batch.status} at version ${batch.version}, not LOCKING at ${step.version}`,
    );
  const mine = await shardSubscriptions(batch.batchId, step.shard, step.shards);
  let cursor = step.cursor;
  do {
    // A subscription's partitions are locked together: its bill lines are planned as a whole.
    const group = mine
      .slice(cursor, cursor + SUBSCRIPTIONS_AT_ONCE)
      .filter((parts) => parts.some((p) => p.state === 'PENDING'));
    await mapLimit(group, SUBSCRIPTIONS_AT_ONCE, (parts) => lockSubscription(batch, parts, step.actor, now()));
    cursor = Math.min(mine.length, cursor + SUBSCRIPTIONS_AT_ONCE);
  } while (cursor < mine.length && Date.now() < deadline);
  return { ...step, cursor, done: cursor >= mine.length };
}

/** Checks a page of members and notes the partitions they (and their replacements) change. */
async function checkMembers(batch: Batch, members: BatchMember[], now: string): Promise<void> {
  const own = members.filter((m) => m.role !== 'RELATED');
  const events = new Map((await getEvents(own.map((m) => m.eventId))).map((e) => [e.eventId, e]));
  // A REVERSE_REPLACE batch's originals in a partition it claims are members without a hold
  // (read for this page's unheld events only: the batch may claim many partitions).
  const claimed =
    batch.type === 'REVERSE_REPLACE'
      ? await confirmedClaims(
          batch.batchId,
          [...events.values()].filter((e) => e.heldBy === undefined),
        )
      : new Set<string>();
  const heldHere = (e: UsageEvent) =>
    e.heldBy === batch.batchId || (e.heldBy === undefined && claimed.has(partitionKey(e)));
  const earliest = new Map<string, { sub: string; reg: string; at: string }>();
  const note = (sub: string, reg: string, at: string) => {
    const k = `${sub}#${reg}`;
    const cur = earliest.get(k);
    if (!cur || at < cur.at) earliest.set(k, { sub, reg, at });
  };
  for (const m of own) {
    const e = events.get(m.eventId);
    const code = !e
      ? 'EVENT_NOT_FOUND'
      : !heldHere(e)
        ? 'EVENT_HELD_BY_OTHER_BATCH'
        : eligibilityRefusal(batch.type, e, batch.batchId);
    if (code) {
      if (m.state !== 'ERROR')
        await setMemberState(batch.batchId, m.eventId, 'ERROR', lockStage(batch), {
          code,
          message: `member cannot be corrected (${code})`,
        });
      continue;
    }
    note(e!.subscriptionId, e!.register, pointOf(e!));
  }
  if (batch.type === 'REVERSE_REPLACE') {
    for (const r of await replacementsOf(batch.batchId, own))
      note(r.subscriptionId, r.register, pointOf({ ...r, indexedVia: indexedViaFor(r, events.get(r.replaces)) }));
    // Reversing a parent reverses its children: a child not in the batch is pulled in.
    const parents = own.filter((m) => (events.get(m.eventId)?.childCount ?? 0) > 0);
    for (const parent of parents) {
      const children = (await getEvents(await childEventIds(parent.eventId))).filter(
        (c) => c.heldBy !== batch.batchId && c.status !== 'REVERSED',
      );
      const refused = await holdRelated(batch, children, 'CHILD_OF_REVERSED', lockStage(batch), now, 'CHILD');
      for (const child of children) {
        if (!refused.has(child)) note(child.subscriptionId, child.register, pointOf(child));
        else
          await setMemberState(batch.batchId, parent.eventId, 'ERROR', lockStage(batch), {
            code: 'EVENT_HELD_BY_OTHER_BATCH',
            message: `child ${child.eventId} is held by another batch`,
          });
      }
    }
  }
  await mapLimit([...earliest.values()], PARTITIONS_AT_ONCE, ({ sub, reg, at }) =>
    notePartition(batch.batchId, lockStage(batch), sub, reg, at),
  );
}

/** Notes a selected partition from the earliest event its selection takes now (none: nothing to lock there). */
async function noteSelection(batch: Batch, sel: Selection): Promise<void> {
  // A claim for originals has no ranges: its originals are members, noted with them.
  if (sel.ranges.length === 0) return;
  const first = liveSelected(sel, await partitionEvents(sel.subscriptionId, sel.register))[0];
  if (first) await notePartition(batch.batchId, lockStage(batch), sel.subscriptionId, sel.register, pointOf(first));
}

/** The stage every lock write belongs to: LOCKING at the version this lock started. */
const lockStage = (batch: Batch): BatchStage => ({ status: 'LOCKING', version: batch.version });

/**
 * Plans one subscription (each of its partitions from its earliest point), applies the rules to
 * its bill lines as a whole, holds the related events and stores the change set submit will
 * write. An error anywhere errors every member of the subscription: its bill lines are shared.
 */
async function lockSubscription(batch: Batch, parts: BatchPartition[], actor: string, now: string): Promise<void> {
  const sub = await requireSubscription(parts[0]!.subscriptionId);
  const [close, account, assignment] = await Promise.all([
    getLedgerClose(),
    getAccount(sub.accountId),
    assignmentOf(sub),
  ]);
  const planned: Array<{ p: BatchPartition; work: PartitionWork; plan: PartitionPlan; register: Register }> = [];
  for (const p of parts) {
    // The register is read before the grants and events: every grant, transfer or adjustment
    // bumps its version, so an unchanged version at submit means the plan's inputs held.
    const register = await getRegister(p.subscriptionId, p.register);
    if (batch.type === 'UNDO') {
      // An undo plans the inverse of what its original wrote, not a re-rating.
      planned.push({ p, ...(await undoPartition(batch, sub, p, now)), register });
      continue;
    }
    const work = await partitionWork(batch, p, actor, now, 'preview');
    const plan = await planFor(sub, { ...work.request, pending: work.pending }, false, {
      from: work.request.from!,
      events: work.events,
    });
    planned.push({ p, work, plan, register });
  }
  const [lines, documents] = await Promise.all([
    listBillLines(sub.subscriptionId),
    listBillAdjustments(sub.subscriptionId),
  ]);
  const correctedUsage = new Map<string, bigint>();
  for (const d of [...documents].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)))
    if (d.usageAfter !== undefined) correctedUsage.set(d.originalPeriod, d.usageAfter);
  const change = subscriptionChange({
    ...(sub.periodMinimum !== undefined ? { periodMinimum: sub.periodMinimum } : {}),
    plans: planned.map((x) => x.plan),
    lines,
    correctedUsage,
    policy: { arPolicy: batch.options.arPolicy, creditOnly: batch.options.creditOnly },
    ...(close.closedThrough ? { closedThrough: close.closedThrough } : {}),
    ...(account?.createdAt ? { accountPeriod: account.createdAt.slice(0, 7) } : {}),
  });
  const cs: ChangeSet = {
    subscriptionId: sub.subscriptionId,
    accountId: sub.accountId,
    currency: sub.currency,
    state: 'READY',
    planVersion: sub.planVersion,
    closedThrough: close.closedThrough ?? null,
    billUnitId: assignment.billUnitId,
    ...(batch.options.effectiveAt ? { effectiveAt: batch.options.effectiveAt } : {}),
    registers: planned.map(({ p, plan, register }) => ({
      register: p.register,
      version: register.version ?? 0,
      before: register.granted - register.consumed,
      consumedDelta: plan.changes.reduce((s, c) => s + c.consumedDelta, 0n),
      changedEvents: plan.changes.length,
    })),
    grants: planned.flatMap(({ p, plan }) => grantChanges(p.register, plan)),
    lines: change.lines,
    documents: change.documents,
    chargeDelta: change.chargeDelta,
    chunks: planned.map(({ p, plan }) => ({
      register: p.register,
      count: Math.ceil(plan.changes.length / EVENTS_PER_CHUNK),
    })),
    ...(batch.type === 'REVERSE_REPLACE' ? { replacementsInChunks: true } : {}),
  };
  let error =
    effectiveAtRefusal(batch, sub, account?.createdAt, close.closedThrough, now) ??
    change.error ??
    excludedZeroCharge(batch, change.lines, planned);
  if (!error && !fitsOneTransaction(cs)) {
    error = {
      code: 'PLAN_TOO_LARGE',
      message: `subscription ${sub.subscriptionId}: ${cs.registers.length} register(s), ${cs.grants.length} grant(s), ${cs.lines.length} bill line(s) and ${cs.documents.length} credit/rebill(s) do not fit in one transaction; split the batch`,
    };
  }
  const related = new Map<string, number>();
  /** Later events of the partitions the batch selected: members as they are, not held (none else holds them). */
  const unheldRelated = new Map<string, UsageEvent[]>();
  if (!error) {
    for (const { p, work } of planned) {
      // Allowance is consumed in time order: every later rated event of the partition is re-rated,
      // so each is held too; submit writes them from the stored plan.
      const later = work.events.filter(
        (e) => !work.members.has(e.eventId) && (e.status === 'RATED' || e.status === 'EXCLUDED'),
      );
      if (work.claimed) {
        // The claim kept every other batch out since it was taken: the later events need no hold.
        const foreign = later.find((e) => e.heldBy !== undefined && e.heldBy !== batch.batchId);
        if (foreign)
          error ??= {
            code: 'EVENT_HELD_BY_OTHER_BATCH',
            message: `related event ${foreign.eventId} is held by another open batch`,
          };
        const free = later.filter((e) => e.heldBy === undefined);
        unheldRelated.set(partitionKey(p), free);
        related.set(partitionKey(p), free.length);
        continue;
      }
      const refused = [...(await holdRelated(batch, later, 'LATER_IN_PARTITION', lockStage(batch), now))];
      related.set(partitionKey(p), later.length - refused.length);
      // Those held stay held as the batch's related events, released by submit or revert.
      if (refused.length > 0)
        error ??= {
          code: 'EVENT_HELD_BY_OTHER_BATCH',
          message: `related event ${refused[0]!.eventId} is held by another open batch`,
        };
    }
  }
  if (error) {
    // Related events held before the error are let go: nothing of the subscription is corrected,
    // so nothing of it may later read as processed.
    const held =
      [...related.keys()].length > 0
        ? (
            await getMembers(
              batch.batchId,
              planned.flatMap(({ work }) => work.events.map((e) => e.eventId)),
            )
          ).filter((m) => m.role === 'RELATED')
        : [];
    if (held.length > 0) await releaseMembers(batch, held, { status: 'LOCKING' });
    for (const { p, work } of planned) {
      // Selected members show their partition's error; only member items are marked.
      const own = [...work.members]
        .filter(([id, role]) => role !== 'RELATED' && !work.selected.has(id))
        .map(([id]) => id);
      for (const id of own) await setMemberState(batch.batchId, id, 'ERROR', lockStage(batch), error);
      await savePartition(
        batch.batchId,
        lockStage(batch),
        { ...p, state: 'ERROR', errorCode: error.code, errorMessage: error.message },
        selectedMembers(work, []),
      );
    }
    return;
  }
  await saveChangeSet(
    batch.batchId,
    lockStage(batch),
    cs,
    new Map(
      planned.map(({ p, plan, work }) => {
        const replacements = batch.type === 'REVERSE_REPLACE' ? replacementWrites(work) : () => ({});
        // The events the batch takes without a hold: its selection's and their later ones.
        const unheld = new Set([
          ...work.selected,
          ...work.unheldMembers,
          ...(unheldRelated.get(partitionKey(p)) ?? []).map((e) => e.eventId),
        ]);
        return [
          p.register,
          plan.changes.map((c) => ({
            eventId: c.eventId,
            fromRev: c.fromRev,
            status: c.status,
            rating: c.rating,
            ...(c.before ? { before: c.before } : {}),
            ...replacements(c),
            ...(unheld.has(c.eventId) ? { touch: true as const } : {}),
          })),
        ];
      }),
    ),
  );
  for (const { p, work, plan, register } of planned) {
    const preview = partitionPreview(
      plan,
      register.granted - register.consumed,
      related.get(partitionKey(p)) ?? 0,
      work.pending.length,
    );
    await savePartition(
      batch.batchId,
      lockStage(batch),
      { ...p, state: 'READY', preview },
      selectedMembers(work, unheldRelated.get(partitionKey(p)) ?? []),
    );
  }
}

/**
 * The members lock takes from a partition's selection (and the later events it re-rates with them),
 * fixed with the partition's outcome; undefined when the batch did not select the partition.
 */
function selectedMembers(work: PartitionWork, related: readonly UsageEvent[]): ResolvedMember[] | undefined {
  if (!work.claimed) return undefined;
  const resolved: ResolvedMember[] = [
    ...work.events
      .filter((e) => work.selected.has(e.eventId))
      .map((e) => ({ eventId: e.eventId, occurredAt: e.occurredAt, role: 'MEMBER' as const })),
    ...related.map((e) => ({ eventId: e.eventId, occurredAt: e.occurredAt, role: 'RELATED' as const })),
  ];
  return resolved;
}

function grantChanges(register: string, plan: PartitionPlan): GrantChange[] {
  const delta = new Map<string, bigint>();
  for (const c of plan.changes)
    for (const d of c.grantDeltas) delta.set(d.grantId, (delta.get(d.grantId) ?? 0n) + d.quantity);
  const versions = (plan as PlanWithState).grantVersions;
  return [...delta]
    .filter(([, d]) => d !== 0n)
    .map(([grantId, d]) => ({ register, grantId, version: versions.get(grantId) ?? 0, delta: d }));
}

/** effectiveAt follows the rules backdated adjustments follow. */
function effectiveAtRefusal(
  batch: Batch,
  sub: Subscription,
  accountCreatedAt: string | undefined,
  closedThrough: string | undefined,
  now: string,
) {
  const at = batch.options.effectiveAt;
  if (!at) return undefined;
  return effectiveDateRefusal(at, {
    now,
    subscriptionStart: `${sub.startDate}T00:00:00.000Z`,
    ...(accountCreatedAt ? { accountCreatedAt } : {}),
    ...(closedThrough ? { closedThrough } : {}),
  });
}

/** An interfaced period holding an excluded zero charge is corrected only credit-only. */
function excludedZeroCharge(batch: Batch, lines: BillLineChange[], planned: Array<{ work: PartitionWork }>) {
  if (batch.options.creditOnly) return undefined;
  const interfaced = new Set(lines.filter((l) => l.frozenBecause === 'INTERFACED').map((l) => l.period));
  for (const { work } of planned) {
    const zero = work.events.find((e) => e.status === 'EXCLUDED' && interfaced.has(e.occurredAt.slice(0, 7)));
    if (zero)
      return {
        code: 'EXCLUDED_ZERO_CHARGE' as const,
        message: `period ${zero.occurredAt.slice(0, 7)} holds excluded zero charge ${zero.eventId}; use a credit-only correction`,
      };
  }
  return undefined;
}

/** Recounts from the members and partitions, then LOCKING → LOCKED. */
async function finishLock(batch: Batch, actor: string, now: string): Promise<void> {
  const counts = { events: 0, related: 0, errored: 0, inProcess: 0, processed: 0 };
  let cursor: string | undefined;
  do {
    const page = await listMembers(batch.batchId, {}, 1000, cursor);
    for (const m of page.items) {
      if (m.role === 'RELATED' || m.relatedReason) counts.related++;
      else counts.events++;
      if (m.state === 'ERROR') counts.errored++;
    }
    cursor = page.nextCursor;
  } while (cursor);
  const selected = await selectionCounts(batch.batchId);
  counts.events += selected.events;
  counts.related += selected.related;
  counts.errored += selected.errored;
  const partitions = await listPartitions(batch.batchId);
  const total = partitions.filter((p) => p.state === 'READY').reduce((s, p) => s + (p.preview?.changedEvents ?? 0), 0);
  const log = {
    at: now,
    actor,
    action: 'LOCKED',
    message: `locked for review: ${counts.events} event(s), ${counts.related} related, ${counts.errored} with errors, ${partitions.length} partition(s)`,
    data: {
      counts,
      partitions: partitions.length,
      errors: partitions
        .filter((p) => p.state === 'ERROR')
        .map((p) => ({ partition: partitionKey(p), code: p.errorCode })),
    },
  };
  await transitionBatch(
    batch.batchId,
    ['LOCKING'],
    'LOCKED',
    now,
    { lastError: null, counts, progress: { done: 0, total }, log },
    batch.version,
  );
}

/** A lock that failed outright goes back to DRAFT: related holds released, preview discarded, edits reopened. */
export async function lockFailed(
  batchId: string,
  actor: string,
  error: { code: ErrorCode; message: string },
  now: string,
  version: number,
): Promise<void> {
  // Each undo holds only while the batch is LOCKING at this lock's version: a batch the lock did move
  // on, or a later lock of it, keeps its preview and gates.
  const stage: BatchStage = { status: 'LOCKING', version };
  await releaseRelated(batchId, stage);
  await deletePartitions(batchId, stage);
  await openGates(batchId, stage);
  await transitionBatch(
    batchId,
    ['LOCKING'],
    'DRAFT',
    now,
    {
      lastError: { ...error, at: now },
      log: { at: now, actor, action: 'LOCK_FAILED', message: `lock failed: ${error.message}`, data: { error } },
    },
    version,
  );
}

/**
 * Releases what lock pulled in (related events, children of reversed parents not added by the
 * user), only while the batch is at `stage` (status and version): a late attempt cannot release
 * what a later lock of the batch holds.
 */
export async function releaseRelated(batchId: string, stage: BatchStage): Promise<number> {
  const batch = await requireBatch(batchId);
  const related: BatchMember[] = [];
  let cursor: string | undefined;
  do {
    const page = await listMembers(batchId, {}, 1000, cursor);
    related.push(...page.items.filter((m) => m.role === 'RELATED' || m.relatedReason));
    cursor = page.nextCursor;
  } while (cursor);
  return releaseMembers(batch, related, stage);
}
