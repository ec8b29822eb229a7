// A pure reference model of the rating and correction rules (docs/rating.md, docs/workflows.md),
// written from the documents and sharing no code with shared/domain: it parses its own decimals,
// orders by parsed dates, re-sorts the valid grants for every event and re-rates a partition from
// scratch at its start point. The model-based test plays the same history through the real API
// and compares what the table holds with what this model says it must hold.

export const QUANTITY_DIGITS = 6;
export const PRICE_DIGITS = 6;
/** USD: the only currency the histories use (two minor digits). */
const MINOR_DIGITS = 2;

export type Status = 'LOADED' | 'RATED' | 'EXCLUDED' | 'REVERSED';
export type LineStatus = 'OPEN' | 'BILLED' | 'INTERFACED';

export interface Draw {
  grantId: string;
  quantity: bigint;
}

export interface Rating {
  allowanceUsed: bigint;
  overageQuantity: bigint;
  unitPrice: bigint;
  amount: bigint;
  billPeriod: string;
  draws: Draw[];
}

export interface ModelEvent {
  eventId: string;
  subscriptionId: string;
  productId: string;
  register: string;
  quantity: bigint;
  occurredAt: string;
  status: Status;
  rating?: Rating;
  /** How many times a batch changed the event (its status or rating). */
  changes: number;
  reversedBy?: string;
  replacedBy?: string[];
  replaces?: string;
  /** A replacement at its original's instant and register takes the original's place in order. */
  indexedVia?: string;
}

export interface ModelGrant {
  grantId: string;
  register: string;
  amount: bigint;
  validFrom: string;
  validTo?: string;
  createdAt: string;
}

export interface ModelLine {
  period: string;
  usageAmount: bigint;
  eventCount: number;
  periodMinimum?: bigint;
  status: LineStatus;
}

export interface ModelLedgerEntry {
  entryId: string;
  kind: 'GRANT' | 'CONSUMPTION';
  granted: bigint;
  consumed: bigint;
  eventCount?: number;
}

export interface ModelSubscription {
  subscriptionId: string;
  startDate: string;
  products: Record<string, { register: string; unitPrice: bigint }>;
  periodMinimum?: bigint;
  grants: ModelGrant[];
  lines: Map<string, ModelLine>;
  /** By register, by entry id. */
  ledger: Map<string, Map<string, ModelLedgerEntry>>;
}

export interface ModelState {
  subscriptions: Map<string, ModelSubscription>;
  events: Map<string, ModelEvent>;
}

export const emptyState = (): ModelState => ({ subscriptions: new Map(), events: new Map() });

// ---- decimals --------------------------------------------------------------------------------

/** "12.5" with 6 digits → 12500000n. Plain digits only: the histories write nothing else. */
export function scaled(text: string, digits: number): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  if (fraction.length > digits) throw new Error(`${text} has more than ${digits} decimals`);
  const value = BigInt(whole + fraction.padEnd(digits, '0'));
  return negative ? -value : value;
}

/** Money in minor units as the API writes it: 1234n → "12.34". */
export function money(minor: bigint): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(MINOR_DIGITS + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -MINOR_DIGITS)}.${digits.slice(-MINOR_DIGITS)}`;
}

/** quantity × price, both scaled by 10^6, to minor units: half to even, once. */
function charge(quantity: bigint, unitPrice: bigint): bigint {
  const product = quantity * unitPrice;
  const divisor = 10n ** BigInt(QUANTITY_DIGITS + PRICE_DIGITS - MINOR_DIGITS);
  const down = product / divisor;
  const rest = product - down * divisor;
  if (rest * 2n > divisor) return down + 1n;
  if (rest * 2n < divisor) return down;
  return down % 2n === 0n ? down : down + 1n;
}

// ---- order -----------------------------------------------------------------------------------

/**
 * Rating order: time, then place, then id by code unit. An event's place is its id, or for a
 * replacement at its original's instant and register (of an original in its own place) the
 * original's: the original first, then its replacements.
 */
export function before(
  a: Pick<ModelEvent, 'occurredAt' | 'eventId' | 'indexedVia'>,
  b: Pick<ModelEvent, 'occurredAt' | 'eventId' | 'indexedVia'>,
) {
  const ta = Date.parse(a.occurredAt);
  const tb = Date.parse(b.occurredAt);
  if (ta !== tb) return ta < tb;
  const pa = a.indexedVia ?? a.eventId;
  const pb = b.indexedVia ?? b.eventId;
  if (pa !== pb) return pa < pb;
  if (a.eventId === b.eventId) return false;
  if (a.eventId === pa) return true;
  if (b.eventId === pb) return false;
  return a.eventId < b.eventId;
}

const byRatingOrder = (a: ModelEvent, b: ModelEvent) => (before(a, b) ? -1 : before(b, a) ? 1 : 0);

/** Draw priority: earliest expiry (open-ended last), earliest start, oldest, id. */
function drawPriority(a: ModelGrant, b: ModelGrant): number {
  const expiry = (g: ModelGrant) => (g.validTo === undefined ? Number.POSITIVE_INFINITY : Date.parse(g.validTo));
  return (
    expiry(a) - expiry(b) ||
    Date.parse(a.validFrom) - Date.parse(b.validFrom) ||
    Date.parse(a.createdAt) - Date.parse(b.createdAt) ||
    (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0)
  );
}

const validAt = (g: ModelGrant, at: string) =>
  Date.parse(g.validFrom) <= Date.parse(at) && (g.validTo === undefined || Date.parse(at) < Date.parse(g.validTo));

// ---- plain operations --------------------------------------------------------------------------

export function subscribe(
  state: ModelState,
  sub: {
    subscriptionId: string;
    startDate: string;
    products: Record<string, { register: string; unitPrice: string }>;
    periodMinimum?: string;
  },
): void {
  const existing = state.subscriptions.get(sub.subscriptionId);
  const products = Object.fromEntries(
    Object.entries(sub.products).map(([id, p]) => [
      id,
      { register: p.register, unitPrice: scaled(p.unitPrice, PRICE_DIGITS) },
    ]),
  );
  const periodMinimum = sub.periodMinimum === undefined ? undefined : scaled(sub.periodMinimum, MINOR_DIGITS);
  if (existing) {
    // A plan change: prices and the minimum apply to what batches rate and write from now on.
    existing.products = products;
    existing.periodMinimum = periodMinimum;
    return;
  }
  state.subscriptions.set(sub.subscriptionId, {
    subscriptionId: sub.subscriptionId,
    startDate: sub.startDate,
    products,
    ...(periodMinimum !== undefined ? { periodMinimum } : {}),
    grants: [],
    lines: new Map(),
    ledger: new Map(),
  });
}

export function grant(state: ModelState, subscriptionId: string, g: ModelGrant): void {
  const sub = state.subscriptions.get(subscriptionId)!;
  sub.grants.push(g);
  entries(sub, g.register).set(`grant:${g.grantId}`, {
    entryId: `grant:${g.grantId}`,
    kind: 'GRANT',
    granted: g.amount,
    consumed: 0n,
  });
}

export function ingest(
  state: ModelState,
  e: { eventId: string; subscriptionId: string; productId: string; quantity: string; occurredAt: string },
): void {
  const sub = state.subscriptions.get(e.subscriptionId)!;
  state.events.set(e.eventId, {
    eventId: e.eventId,
    subscriptionId: e.subscriptionId,
    productId: e.productId,
    register: sub.products[e.productId]!.register,
    quantity: scaled(e.quantity, QUANTITY_DIGITS),
    occurredAt: new Date(Date.parse(e.occurredAt)).toISOString(),
    status: 'LOADED',
    changes: 0,
  });
}

export function setLineStatus(state: ModelState, subscriptionId: string, period: string, status: LineStatus): void {
  state.subscriptions.get(subscriptionId)!.lines.get(period)!.status = status;
}

function entries(sub: ModelSubscription, register: string): Map<string, ModelLedgerEntry> {
  let m = sub.ledger.get(register);
  if (!m) sub.ledger.set(register, (m = new Map()));
  return m;
}

// ---- batches -----------------------------------------------------------------------------------

export type ModelBatch =
  | { batchId: string; type: 'RATING' | 'RERATE'; members: string[] }
  | {
      batchId: string;
      type: 'REVERSE_REPLACE';
      originals: Array<{
        eventId: string;
        replacements: Array<{ eventId: string; productId: string; quantity: string; occurredAt: string }>;
      }>;
    };

/** What a batch does to one subscription: refused (its members error at lock) or these writes. */
export interface SubscriptionOutcome {
  subscriptionId: string;
  error?: 'AR_INTERFACED';
  /** The subscription's members (what an error makes the batch give up). */
  members: string[];
  events: ModelEvent[];
  lines: ModelLine[];
  entries: Array<{ register: string; entry: ModelLedgerEntry }>;
}

/**
 * What a batch does, per subscription, computed on the state as it is (nothing is changed):
 * each partition it touches is re-rated from scratch from its earliest point, every rated event
 * from there on again, with what the grants had left before that point and today's prices.
 */
export function outcomeOf(state: ModelState, batch: ModelBatch): SubscriptionOutcome[] {
  const rate = new Set<string>();
  const reverse = new Set<string>();
  const inserted: ModelEvent[] = [];
  const replacedBy = new Map<string, string[]>();
  const memberSubs = new Map<string, string[]>();
  const memberOf = (eventId: string) => {
    const e = state.events.get(eventId)!;
    memberSubs.set(e.subscriptionId, [...(memberSubs.get(e.subscriptionId) ?? []), eventId]);
    return e;
  };
  if (batch.type === 'REVERSE_REPLACE') {
    for (const o of batch.originals) {
      const original = memberOf(o.eventId);
      reverse.add(o.eventId);
      replacedBy.set(
        o.eventId,
        o.replacements.map((r) => r.eventId),
      );
      for (const r of o.replacements) {
        const sub = state.subscriptions.get(original.subscriptionId)!;
        const register = sub.products[r.productId]!.register;
        const occurredAt = new Date(Date.parse(r.occurredAt)).toISOString();
        const samePlace =
          register === original.register && occurredAt === original.occurredAt && original.indexedVia === undefined;
        inserted.push({
          eventId: r.eventId,
          subscriptionId: original.subscriptionId,
          productId: r.productId,
          register,
          quantity: scaled(r.quantity, QUANTITY_DIGITS),
          occurredAt,
          status: 'LOADED',
          changes: 0,
          replaces: o.eventId,
          ...(samePlace ? { indexedVia: o.eventId } : {}),
        });
      }
    }
  } else {
    for (const id of batch.members) {
      memberOf(id);
      rate.add(id);
    }
  }

  const outcomes: SubscriptionOutcome[] = [];
  for (const [subscriptionId, members] of memberSubs) {
    const sub = state.subscriptions.get(subscriptionId)!;
    const changed: ModelEvent[] = [];
    const touched = new Set<string>();
    const lineDelta = new Map<string, { amount: bigint; count: number }>();
    const ledger: SubscriptionOutcome['entries'] = [];
    const registers = new Set([
      ...members.map((id) => state.events.get(id)!.register),
      ...inserted.filter((e) => e.subscriptionId === subscriptionId).map((e) => e.register),
    ]);
    for (const register of [...registers].sort()) {
      const all = [...state.events.values()].filter(
        (e) => e.subscriptionId === subscriptionId && e.register === register,
      );
      const mine = inserted.filter((e) => e.subscriptionId === subscriptionId && e.register === register);
      const starts = [...all.filter((e) => rate.has(e.eventId) || reverse.has(e.eventId)), ...mine].sort(byRatingOrder);
      const start = starts[0]!;
      const isRated = (e: ModelEvent) => e.status === 'RATED' || e.status === 'EXCLUDED';
      // Allowance left at the start point: what events before it drew stays drawn.
      const left = new Map(sub.grants.filter((g) => g.register === register).map((g) => [g.grantId, g.amount]));
      for (const e of all)
        if (isRated(e) && before(e, start))
          for (const d of e.rating!.draws) left.set(d.grantId, left.get(d.grantId)! - d.quantity);
      const toRate = [
        ...all.filter(
          (e) =>
            !before(e, start) &&
            !reverse.has(e.eventId) &&
            (isRated(e) || (e.status === 'LOADED' && rate.has(e.eventId))),
        ),
        ...mine,
      ].sort(byRatingOrder);
      let consumedDelta = 0n;
      let changes = 0;
      const note = (period: string, amount: bigint, count: number) => {
        const d = lineDelta.get(period) ?? { amount: 0n, count: 0 };
        d.amount += amount;
        d.count += count;
        lineDelta.set(period, d);
      };
      for (const e of all.filter((x) => reverse.has(x.eventId))) {
        const was = e.rating!;
        changed.push({
          ...e,
          status: 'REVERSED',
          changes: e.changes + 1,
          reversedBy: batch.batchId,
          ...(replacedBy.get(e.eventId)!.length > 0 ? { replacedBy: replacedBy.get(e.eventId) } : {}),
        });
        consumedDelta -= was.allowanceUsed;
        changes++;
        touched.add(was.billPeriod);
        note(was.billPeriod, -was.amount, -1);
      }
      for (const e of toRate) {
        const rating = rateOne(e, sub, left);
        const status: Status = e.quantity === 0n ? 'EXCLUDED' : 'RATED';
        const was = isRated(e) ? e.rating : undefined;
        if (was && e.status === status && sameRating(was, rating)) continue;
        changed.push({ ...e, status, rating, changes: e.changes + 1 });
        consumedDelta += rating.allowanceUsed - (was?.allowanceUsed ?? 0n);
        changes++;
        // A period is touched when this one event moves its amount or its count.
        const moves = new Map<string, { amount: bigint; count: number }>();
        const move = (p: string, amount: bigint, count: number) => {
          const m = moves.get(p) ?? { amount: 0n, count: 0 };
          m.amount += amount;
          m.count += count;
          moves.set(p, m);
        };
        if (was) move(was.billPeriod, -was.amount, -1);
        move(rating.billPeriod, rating.amount, 1);
        for (const [p, m] of moves) {
          if (m.amount === 0n && m.count === 0) continue;
          touched.add(p);
          note(p, m.amount, m.count);
        }
      }
      if (consumedDelta !== 0n)
        ledger.push({
          register,
          entry: {
            entryId: `rate:${batch.batchId}:submit:${register}`,
            kind: 'CONSUMPTION',
            granted: 0n,
            consumed: consumedDelta,
            eventCount: changes,
          },
        });
    }
    // Interfaced periods are never changed in place; with no credit/rebill the subscription is refused whole.
    if ([...touched].some((p) => sub.lines.get(p)?.status === 'INTERFACED')) {
      outcomes.push({ subscriptionId, error: 'AR_INTERFACED', members, events: [], lines: [], entries: [] });
      continue;
    }
    const lines: ModelLine[] = [];
    for (const p of [...touched].sort()) {
      const line = sub.lines.get(p);
      const d = lineDelta.get(p)!;
      // A line is written when the batch creates it or moves its usage or count; then it takes today's minimum.
      if (line && d.amount === 0n && d.count === 0) continue;
      lines.push({
        period: p,
        usageAmount: (line?.usageAmount ?? 0n) + d.amount,
        eventCount: (line?.eventCount ?? 0) + d.count,
        ...(sub.periodMinimum !== undefined ? { periodMinimum: sub.periodMinimum } : {}),
        status: line?.status ?? 'OPEN',
      });
    }
    outcomes.push({ subscriptionId, members, events: changed, lines, entries: ledger });
  }
  return outcomes;
}

/** Writes the outcomes that were not refused. */
export function apply(state: ModelState, outcomes: readonly SubscriptionOutcome[]): void {
  for (const o of outcomes) {
    if (o.error) continue;
    const sub = state.subscriptions.get(o.subscriptionId)!;
    for (const e of o.events) state.events.set(e.eventId, e);
    for (const l of o.lines) sub.lines.set(l.period, l);
    for (const { register, entry } of o.entries) entries(sub, register).set(entry.entryId, entry);
  }
}

function rateOne(e: ModelEvent, sub: ModelSubscription, left: Map<string, bigint>): Rating {
  let need = e.quantity;
  const draws: Draw[] = [];
  const usable = sub.grants.filter((g) => g.register === e.register && validAt(g, e.occurredAt)).sort(drawPriority);
  for (const g of usable) {
    if (need === 0n) break;
    const take = need < left.get(g.grantId)! ? need : left.get(g.grantId)!;
    if (take <= 0n) continue;
    left.set(g.grantId, left.get(g.grantId)! - take);
    need -= take;
    draws.push({ grantId: g.grantId, quantity: take });
  }
  const unitPrice = sub.products[e.productId]!.unitPrice;
  return {
    allowanceUsed: e.quantity - need,
    overageQuantity: need,
    unitPrice,
    amount: charge(need, unitPrice),
    billPeriod: new Date(Date.parse(e.occurredAt)).toISOString().slice(0, 7),
    draws,
  };
}

function sameRating(a: Rating, b: Rating): boolean {
  return (
    a.allowanceUsed === b.allowanceUsed &&
    a.overageQuantity === b.overageQuantity &&
    a.unitPrice === b.unitPrice &&
    a.amount === b.amount &&
    a.billPeriod === b.billPeriod &&
    drawsText(a.draws) === drawsText(b.draws)
  );
}

export const drawsText = (draws: readonly Draw[]) => draws.map((d) => `${d.grantId}:${d.quantity}`).join(',');

// ---- what the table must hold ------------------------------------------------------------------

/** One comparable item: field → value as text. */
export type Fields = Record<string, string | undefined>;
/** Item key (`event <id>`, `grant <sub>/<id>`, …) → its fields. */
export type Snapshot = Map<string, Fields>;

/** Everything the model says the table holds for its subscriptions and events. */
export function expectedSnapshot(state: ModelState): Snapshot {
  const out: Snapshot = new Map();
  for (const e of state.events.values()) out.set(`event ${e.eventId}`, eventFields(e));
  for (const sub of state.subscriptions.values()) {
    const rated = [...state.events.values()].filter(
      (e) => e.subscriptionId === sub.subscriptionId && (e.status === 'RATED' || e.status === 'EXCLUDED'),
    );
    const registers = new Set([...Object.values(sub.products).map((p) => p.register), ...sub.ledger.keys()]);
    for (const g of sub.grants) {
      const drawn = rated.reduce(
        (s, e) => s + e.rating!.draws.filter((d) => d.grantId === g.grantId).reduce((a, d) => a + d.quantity, 0n),
        0n,
      );
      out.set(`grant ${sub.subscriptionId}/${g.register}/${g.grantId}`, {
        amount: String(g.amount),
        drawn: String(drawn),
        undrawn: String(g.amount - drawn),
      });
    }
    for (const register of registers) {
      const granted = sub.grants.filter((g) => g.register === register).reduce((s, g) => s + g.amount, 0n);
      const consumed = rated.filter((e) => e.register === register).reduce((s, e) => s + e.rating!.allowanceUsed, 0n);
      // A register is written by its first grant or rating: one that never saw either does not exist.
      if (sub.grants.some((g) => g.register === register) || sub.ledger.get(register)?.size)
        out.set(`register ${sub.subscriptionId}/${register}`, { granted: String(granted), consumed: String(consumed) });
      for (const entry of sub.ledger.get(register)?.values() ?? [])
        out.set(`ledger ${sub.subscriptionId}/${register}/${entry.entryId}`, {
          kind: entry.kind,
          granted: String(entry.granted),
          consumed: String(entry.consumed),
          eventCount: entry.eventCount === undefined ? undefined : String(entry.eventCount),
        });
    }
    for (const l of sub.lines.values())
      out.set(`bill line ${sub.subscriptionId}/${l.period}`, {
        usageAmount: String(l.usageAmount),
        eventCount: String(l.eventCount),
        periodMinimum: l.periodMinimum === undefined ? undefined : String(l.periodMinimum),
        adjustments: '0',
        status: l.status,
      });
  }
  return out;
}

export function eventFields(e: ModelEvent): Fields {
  return {
    status: e.status,
    ratingRev: String(e.changes),
    held: 'no',
    reversedBy: e.reversedBy,
    replacedBy: e.replacedBy?.join(','),
    replaces: e.replaces,
    allowanceUsed: e.rating && String(e.rating.allowanceUsed),
    overageQuantity: e.rating && String(e.rating.overageQuantity),
    unitPrice: e.rating && String(e.rating.unitPrice),
    amount: e.rating && String(e.rating.amount),
    billPeriod: e.rating?.billPeriod,
    draws: e.rating && drawsText(e.rating.draws),
  };
}

// ---- the comparison ----------------------------------------------------------------------------

export interface Divergence {
  item: string;
  field: string;
  expected: string;
  actual: string;
}

/** Every item and field where the table differs from the model; an item on one side only is one divergence. */
export function compare(expected: Snapshot, actual: Snapshot): Divergence[] {
  const out: Divergence[] = [];
  for (const item of [...new Set([...expected.keys(), ...actual.keys()])].sort()) {
    const e = expected.get(item);
    const a = actual.get(item);
    if (!e || !a) {
      out.push({ item, field: '(item)', expected: e ? 'present' : 'absent', actual: a ? 'present' : 'absent' });
      continue;
    }
    for (const field of [...new Set([...Object.keys(e), ...Object.keys(a)])].sort()) {
      if (e[field] !== a[field])
        out.push({ item, field, expected: e[field] ?? '(none)', actual: a[field] ?? '(none)' });
    }
  }
  return out;
}

export const describeDivergence = (d: Divergence) => `${d.item} ${d.field}: expected ${d.expected}, actual ${d.actual}`;
