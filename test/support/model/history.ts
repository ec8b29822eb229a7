// Seeded random histories for the model-based test: the same seed always gives the same history.
// A history is a set-up (subscriptions, grants, events) and a list of steps. Steps that pick events
// (which to rate, re-rate, reverse) carry their own seed and pick at run time from what the model
// holds then, so a history never names an event in the wrong state. Pure.
import { seededRandom, type SeededRandom } from '../seeded-random';

export interface EventSpec {
  eventId: string;
  subscriptionId: string;
  productId: string;
  quantity: string;
  occurredAt: string;
}

export interface GrantSpec {
  register: string;
  amount: string;
  validFrom?: string;
  validTo?: string;
}

export interface SubscriptionSpec {
  subscriptionId: string;
  products: Record<string, { register: string; unitPrice: string }>;
  periodMinimum?: string;
}

/** What a batch step does besides add, lock and submit. */
export interface BatchScript {
  type: 'RATING' | 'RERATE' | 'REVERSE_REPLACE';
  /** The subscriptions whose events it takes. */
  subscriptionIds: string[];
  /** Share of the eligible events it takes (at least one). */
  share: number;
  /** Removes a few members while in DRAFT. */
  remove: boolean;
  /** Locks, reverts for edit, then locks again. */
  revertCycle: boolean;
  /** Ends cancelled instead of submitted: from DRAFT or once LOCKED. */
  cancel?: 'DRAFT' | 'LOCKED';
  /** Picks at run time. */
  pickSeed: number;
}

export type Step =
  | { kind: 'grant'; subscriptionId: string; grant: GrantSpec }
  | { kind: 'ingest'; events: EventSpec[] }
  | { kind: 'plan'; subscription: SubscriptionSpec }
  | { kind: 'bill'; subscriptionId: string; pickSeed: number }
  | { kind: 'batch'; batch: BatchScript }
  /** Two batches on different subscriptions at once; the second also asks for some of the first's events. */
  | { kind: 'concurrent'; batches: [BatchScript, BatchScript]; overlap: number };

export interface History {
  seed: number;
  subscriptions: SubscriptionSpec[];
  grants: Array<{ subscriptionId: string; grant: GrantSpec }>;
  events: EventSpec[];
  steps: Step[];
}

export const START_DATE = '2026-01-01';
const MONTHS = ['2026-02', '2026-03', '2026-04'];
const PRICES = {
  voice: ['0.05', '0.04', '0.065'],
  sms: ['0.013', '0.0125', '0.021'],
  data: ['0.002', '0.0035'],
};
const FROM = [undefined, '2026-02-01T00:00:00.000Z', '2026-02-15T00:00:00.000Z', '2026-03-01T00:00:00.000Z'];
const TO = [undefined, undefined, '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z', '2026-04-15T12:00:00.000Z'];

export interface HistorySize {
  /** Events per subscription at the start. */
  events: number;
  /** Steps after the set-up. */
  steps: number;
}

export const SMALL_HISTORY: HistorySize = { events: 8, steps: 5 };

/** The history of `seed`; `prefix` makes its ids unique in a shared table (same seed and prefix: same history). */
export function generateHistory(seed: number, prefix: string, size: HistorySize = SMALL_HISTORY): History {
  const random = seededRandom(seed);
  let n = 0;
  const nextId = (kind: string) => `${prefix}-${kind}${n++}`;
  const subscriptions = Array.from({ length: random.int(1, 2) }, (): SubscriptionSpec => {
    const withData = random.chance(0.4);
    return {
      subscriptionId: nextId('sub'),
      products: {
        voice: { register: 'MINUTES', unitPrice: random.pick(PRICES.voice) },
        sms: { register: 'MINUTES', unitPrice: random.pick(PRICES.sms) },
        ...(withData ? { data: { register: 'DATA_MB', unitPrice: random.pick(PRICES.data) } } : {}),
      },
      ...(random.chance(0.5) ? { periodMinimum: random.pick(['0.50', '1.00', '2.25']) } : {}),
    };
  });
  // The subscriptions as first created: plan steps hold the changes.
  const created = subscriptions.map((s) => ({ ...s, products: { ...s.products } }));
  const grantFor = (sub: SubscriptionSpec): GrantSpec => {
    const registers = [...new Set(Object.values(sub.products).map((p) => p.register))];
    const validFrom = random.pick(FROM);
    const validTo = random.pick(TO.filter((t) => t === undefined || validFrom === undefined || t > validFrom));
    return {
      register: random.pick(registers),
      amount: random.pick(['5', '12', '20', '7.5', '30']),
      ...(validFrom ? { validFrom } : {}),
      ...(validTo ? { validTo } : {}),
    };
  };
  const eventsFor = (sub: SubscriptionSpec, count: number): EventSpec[] =>
    Array.from({ length: count }, () => ({
      eventId: nextId('e'),
      subscriptionId: sub.subscriptionId,
      productId: random.pick(Object.keys(sub.products)),
      quantity: quantity(random),
      occurredAt: instant(random),
    }));

  const grants = subscriptions.flatMap((sub) =>
    Array.from({ length: random.int(1, 3) }, () => ({ subscriptionId: sub.subscriptionId, grant: grantFor(sub) })),
  );
  const events = subscriptions.flatMap((sub) => eventsFor(sub, size.events));
  const script = (type: BatchScript['type'], subscriptionIds: string[]): BatchScript => ({
    type,
    subscriptionIds,
    share: random.pick([0.3, 0.6, 1]),
    remove: random.chance(0.25),
    revertCycle: random.chance(0.2),
    ...(random.chance(0.1) ? { cancel: random.pick(['DRAFT', 'LOCKED'] as const) } : {}),
    pickSeed: random.int(1, 2 ** 30),
  });
  const some = () =>
    subscriptions.length === 1 || random.chance(0.5)
      ? [random.pick(subscriptions).subscriptionId]
      : subscriptions.map((s) => s.subscriptionId);

  // Rate first, so there is something to correct; then a mix of everything.
  const steps: Step[] = [{ kind: 'batch', batch: script('RATING', some()) }];
  for (let i = 1; i < size.steps; i++) {
    const roll = random.next();
    const sub = random.pick(subscriptions);
    if (roll < 0.2) steps.push({ kind: 'batch', batch: script('RATING', some()) });
    else if (roll < 0.35) steps.push({ kind: 'batch', batch: script('REVERSE_REPLACE', some()) });
    else if (roll < 0.5) {
      // A price or minimum change, then a re-rate that applies it.
      const products = { ...sub.products };
      const productId = random.pick(Object.keys(products));
      const prices = PRICES[productId as keyof typeof PRICES];
      products[productId] = { ...products[productId]!, unitPrice: random.pick(prices) };
      const changed: SubscriptionSpec = { ...sub, products };
      if (random.chance(0.3)) {
        if (changed.periodMinimum === undefined || random.chance(0.5))
          changed.periodMinimum = random.pick(['0.50', '1.00', '2.25']);
        else delete changed.periodMinimum;
      }
      subscriptions[subscriptions.indexOf(sub)] = changed;
      steps.push({ kind: 'plan', subscription: changed });
      steps.push({ kind: 'batch', batch: script('RERATE', [sub.subscriptionId]) });
    } else if (roll < 0.62) steps.push({ kind: 'grant', subscriptionId: sub.subscriptionId, grant: grantFor(sub) });
    else if (roll < 0.72) steps.push({ kind: 'ingest', events: eventsFor(sub, random.int(1, 4)) });
    else if (roll < 0.84)
      steps.push({ kind: 'bill', subscriptionId: sub.subscriptionId, pickSeed: random.int(1, 2 ** 30) });
    else if (subscriptions.length === 2) {
      const type = random.pick(['RATING', 'RERATE', 'REVERSE_REPLACE'] as const);
      const [a, b] = random.shuffle(subscriptions.map((s) => s.subscriptionId));
      steps.push({
        kind: 'concurrent',
        batches: [script(type, [a!]), script(random.pick(['RATING', 'RERATE', 'REVERSE_REPLACE'] as const), [b!])],
        overlap: random.int(0, 2),
      });
    } else steps.push({ kind: 'batch', batch: script('RATING', some()) });
  }
  // Whatever is still unrated at the end is rated: the last step is the most common one.
  steps.push({
    kind: 'batch',
    batch: {
      ...script(
        'RATING',
        subscriptions.map((s) => s.subscriptionId),
      ),
      share: 1,
    },
  });
  return { seed, subscriptions: created, grants, events, steps };
}

function quantity(random: SeededRandom): string {
  const roll = random.next();
  if (roll < 0.08) return '0';
  if (roll < 0.25) return random.pick(['0.5', '2.5', '0.333', '1.25', '7.777']);
  return String(random.int(1, 12));
}

function instant(random: SeededRandom): string {
  const month = random.pick(MONTHS);
  const day = random.int(1, 28);
  const seconds = random.int(0, 86_399);
  return new Date(Date.parse(`${month}-${String(day).padStart(2, '0')}T00:00:00.000Z`) + seconds * 1000).toISOString();
}
