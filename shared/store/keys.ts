// Every key format of the single table lives here; nobody else concatenates key strings.

/** Shards of one day's events in GSI3: a day's selection queries each of them. */
export const DAY_SHARDS = 8;

/** Edit gates of one batch. */
export const GATE_SHARDS = 16;

/** A stable shard for an id (FNV-1a): the same event always lands in the same shard. */
function shardOf(id: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

/** The event id of an event's key (as an index entry carries it); throws on any other key. */
export function eventIdOfKey(pk: unknown): string {
  if (typeof pk !== 'string' || !pk.startsWith('EVT#')) throw new Error(`not an event key: ${String(pk)}`);
  return pk.slice('EVT#'.length);
}

export const keys = {
  event: (eventId: string) => ({ PK: `EVT#${eventId}`, SK: 'EVT' }),
  /** GSI1 of an event: its partition (subscription, register), in rating order. */
  eventPartition: (subscriptionId: string, register: string, occurredAt: string, eventId: string) => ({
    GSI1PK: `PART#${subscriptionId}#${register}`,
    GSI1SK: `${occurredAt}#${eventId}`,
  }),
  partitionIndexKey: (subscriptionId: string, register: string) => `PART#${subscriptionId}#${register}`,
  /** GSI3 of an event: its day of occurrence, in one of DAY_SHARDS shards chosen by its id. */
  eventDay: (occurredAt: string, eventId: string) => ({
    GSI3PK: `DAY#${occurredAt.slice(0, 10)}#${shardOf(eventId, DAY_SHARDS)}`,
    GSI3SK: `${occurredAt}#${eventId}`,
  }),
  dayIndexKey: (day: string, shard: number) => `DAY#${day}#${shard}`,
  /** GSI2 of a child event. */
  eventParent: (parentEventId: string, eventId: string) => ({ GSI2PK: `CHILD#${parentEventId}`, GSI2SK: eventId }),
  childrenIndexKey: (parentEventId: string) => `CHILD#${parentEventId}`,

  subscription: (subscriptionId: string) => ({ PK: `SUB#${subscriptionId}`, SK: 'SUB' }),
  /** GSI1 of a subscription: its account's subscriptions (balance groups that were never moved). */
  accountSubscription: (accountId: string, subscriptionId: string) => ({
    GSI1PK: `ACCTSUB#${accountId}`,
    GSI1SK: subscriptionId,
  }),
  accountSubscriptionsIndexKey: (accountId: string) => `ACCTSUB#${accountId}`,
  register: (subscriptionId: string, register: string) => ({ PK: `SUB#${subscriptionId}`, SK: `REG#${register}` }),
  /**
   * Who holds a partition whole: a batch's selection sets `selectedBy`; every hold of one of its
   * events by id checks it is absent (or names the holder) in the same transaction.
   */
  partitionClaim: (subscriptionId: string, register: string) => ({
    PK: `SUB#${subscriptionId}`,
    SK: `CLAIM#${register}`,
  }),
  registerPrefix: 'REG#',
  /** Keyed by its idempotency key, so a retried write meets its own entry and fails its condition. */
  ledgerEntry: (subscriptionId: string, register: string, idempotencyKey: string) => ({
    PK: `REG#${subscriptionId}#${register}`,
    SK: `LED#${idempotencyKey}`,
  }),
  /** GSI1 of a ledger entry: the register's entries in the order they were written. */
  ledgerOrder: (subscriptionId: string, register: string, at: string, idempotencyKey: string) => ({
    GSI1PK: `LEDGER#${subscriptionId}#${register}`,
    GSI1SK: `${at}#${idempotencyKey}`,
  }),
  ledgerIndexKey: (subscriptionId: string, register: string) => `LEDGER#${subscriptionId}#${register}`,
  ledgerPartition: (subscriptionId: string, register: string) => `REG#${subscriptionId}#${register}`,
  ledgerPrefix: 'LED#',
  grant: (subscriptionId: string, register: string, grantId: string) => ({
    PK: `SUB#${subscriptionId}`,
    SK: `GRANT#${register}#${grantId}`,
  }),
  grantPrefix: (register: string) => `GRANT#${register}#`,
  /** Every grant of a subscription, of any register. */
  allGrantsPrefix: 'GRANT#',
  billLine: (subscriptionId: string, period: string) => ({ PK: `SUB#${subscriptionId}`, SK: `BILL#${period}` }),
  billLinePrefix: 'BILL#',
  /** A credit or rebill adjustment posted to an open period for a correction of an interfaced one. */
  billAdjustment: (subscriptionId: string, targetPeriod: string, id: string) => ({
    PK: `SUB#${subscriptionId}`,
    SK: `CRB#${targetPeriod}#${id}`,
  }),
  billAdjustmentPrefix: 'CRB#',
  /** Keyed by the adjustment's id alone: a retried adjustment meets its own item and fails its condition. */
  adjustment: (subscriptionId: string, adjustmentId: string) => ({
    PK: `SUB#${subscriptionId}`,
    SK: `ADJ#${adjustmentId}`,
  }),
  adjustmentPrefix: 'ADJ#',

  account: (accountId: string) => ({ PK: `ACCT#${accountId}`, SK: 'ACCT' }),
  accountPartition: (accountId: string) => `ACCT#${accountId}`,
  balanceGroup: (accountId: string, balanceGroupId: string) => ({
    PK: `ACCT#${accountId}`,
    SK: `BG#${balanceGroupId}`,
  }),
  balanceGroupPrefix: 'BG#',
  /** Ordered by time; the operation id keeps two entries of one instant apart. */
  accountLog: (accountId: string, at: string, operationId: string) => ({
    PK: `ACCT#${accountId}`,
    SK: `LOG#${at}#${operationId}`,
  }),
  accountLogPrefix: 'LOG#',
  /** Bill unit ids are global (like subscription ids), so a move can name another account's bill unit and be refused. */
  billUnit: (billUnitId: string) => ({ PK: `BU#${billUnitId}`, SK: 'BU' }),
  billUnitPartition: (billUnitId: string) => `BU#${billUnitId}`,
  openItem: (billUnitId: string, openItemId: string) => ({ PK: `BU#${billUnitId}`, SK: `OPEN#${openItemId}` }),
  openItemPrefix: 'OPEN#',

  /** Domain events waiting to be published; the GSI1 keys are removed once published (a sparse index). */
  outbox: (eventId: string) => ({ PK: `OUTBOX#${eventId}`, SK: 'OUTBOX' }),
  outboxPending: (occurredAt: string, eventId: string) => ({ GSI1PK: 'OUTBOX', GSI1SK: `${occurredAt}#${eventId}` }),
  outboxPendingIndexKey: 'OUTBOX',

  ledgerClose: { PK: 'SETTING#LEDGER_CLOSE', SK: 'SETTING' },

  batch: (batchId: string) => ({ PK: `BATCH#${batchId}`, SK: 'META' }),
  batchListing: (createdAt: string, batchId: string) => ({ GSI1PK: 'BATCHES', GSI1SK: `${createdAt}#${batchId}` }),
  batchesIndexKey: 'BATCHES',
  batchMember: (batchId: string, eventId: string) => ({ PK: `BATCH#${batchId}`, SK: `MEM#${eventId}` }),
  batchMemberPrefix: 'MEM#',
  batchLog: (batchId: string, at: string, unique: string) => ({ PK: `BATCH#${batchId}`, SK: `LOG#${at}#${unique}` }),
  /**
   * One of a batch's edit gates. Adds check the gate of their event's shard instead of the batch
   * item, so concurrent adds do not contend on one item; locking closes every gate first.
   */
  batchGate: (batchId: string, eventId: string) => ({
    PK: `BATCH#${batchId}`,
    SK: `GATE#${shardOf(eventId, GATE_SHARDS)}`,
  }),
  batchGates: (batchId: string) =>
    Array.from({ length: GATE_SHARDS }, (_, i) => ({ PK: `BATCH#${batchId}`, SK: `GATE#${i}` })),
  /** A replacement event waiting in its batch until submit inserts it, filed under its partition. */
  batchReplacement: (batchId: string, subscriptionId: string, register: string, eventId: string) => ({
    PK: `BATCH#${batchId}`,
    SK: `RPL#${subscriptionId}#${register}#${eventId}`,
  }),
  batchReplacementPrefix: (subscriptionId: string, register: string) => `RPL#${subscriptionId}#${register}#`,
  batchReplacementsPrefix: 'RPL#',
  /** A partition (subscription, register) the batch changes: its earliest point, preview and outcome. */
  batchPartitionItem: (batchId: string, subscriptionId: string, register: string) => ({
    PK: `BATCH#${batchId}`,
    SK: `PART#${subscriptionId}#${register}`,
  }),
  batchPartitionPrefix: 'PART#',
  /** What lock planned for one subscription (totals, bill lines, credit/rebill, versions read): submit writes exactly it. */
  batchChangeSet: (batchId: string, subscriptionId: string) => ({
    PK: `BATCH#${batchId}`,
    SK: `CSET#${subscriptionId}`,
  }),
  batchChangeSetPrefix: 'CSET#',
  /**
   * A page of one register's event ratings planned at lock, applied by submit once. Keyed by its
   * plan (the change set names it): a lock attempt that outlived its stage writes its pages beside
   * the named plan's, never over them. No plan: a change set locked before pages were keyed so.
   */
  batchChangeSetChunk: (batchId: string, subscriptionId: string, register: string, n: number, planId?: string) => ({
    PK: `BATCH#${batchId}`,
    SK: `CSETC#${subscriptionId}#${register}#${String(n).padStart(5, '0')}${planId ? `#${planId}` : ''}`,
  }),
  batchChangeSetChunkPrefix: (subscriptionId: string) => `CSETC#${subscriptionId}#`,
  batchChangeSetChunksPrefix: 'CSETC#',
  /**
   * That chunk applied (its events written). An item of its own, outside the CSETC# range: marking
   * the chunk itself would rewrite its several KB, costing its full size again at submit.
   */
  batchChangeSetChunkMark: (batchId: string, subscriptionId: string, register: string, n: number) => ({
    PK: `BATCH#${batchId}`,
    SK: `CSETM#${subscriptionId}#${register}#${String(n).padStart(5, '0')}`,
  }),
  batchChangeSetChunkMarksPrefix: 'CSETM#',
  batchLogPrefix: 'LOG#',
  /** A partition the batch holds whole by selection (its time ranges and exclusions): no item per event. */
  batchSelection: (batchId: string, subscriptionId: string, register: string) => ({
    PK: `BATCH#${batchId}`,
    SK: `SEL#${subscriptionId}#${register}`,
  }),
  batchSelectionPrefix: 'SEL#',
  /** A page of the members lock resolved from a selection (fixed from then on), n from 0. */
  batchSelectionResolved: (batchId: string, subscriptionId: string, register: string, n: number) => ({
    PK: `BATCH#${batchId}`,
    SK: `SELM#${subscriptionId}#${register}#${String(n).padStart(5, '0')}`,
  }),
  batchSelectionResolvedPrefix: (subscriptionId: string, register: string) => `SELM#${subscriptionId}#${register}#`,
  batchSelectionsResolvedPrefix: 'SELM#',
  /** Marks a log entry written once per step (outside the LOG# range, so never listed). */
  batchLogOnce: (batchId: string, key: string) => ({ PK: `BATCH#${batchId}`, SK: `LOGONCE#${key}` }),
  batchPartition: (batchId: string) => `BATCH#${batchId}`,

  idempotency: (key: string) => ({ PK: `IDEM#${key}`, SK: 'IDEM' }),
  /** One per uploaded file version: an import runs once however often S3 notifies. */
  importMarker: (bucket: string, key: string, version: string) => ({
    PK: `IMPORT#${bucket}/${key}`,
    SK: `VERSION#${version}`,
  }),
  /** Read by the health check; never written. */
  health: { PK: 'HEALTH', SK: 'HEALTH' },
} as const;
