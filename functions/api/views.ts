// Response shapes of the API, each a zod schema (the OpenAPI document and the contract test read
// them) beside the function that builds it: quantities and money as decimal strings, never numbers.
import { mayOfferSubmit, type ApprovalNeed } from '../../shared/domain/approval';
import { z } from 'zod';
import {
  ACCOUNTING_METHODS,
  BALANCE_GROUP_KINDS,
  DEFAULT_BALANCE_GROUP_ID,
  OPEN_ITEM_KINDS,
  OPEN_ITEM_STATUSES,
  type Account,
  type AccountLogEntry,
  type BalanceGroup,
  type BillUnit,
  type OpenItem,
} from '../../shared/domain/account';
import {
  ADJUSTMENT_DIRECTIONS,
  ADJUSTMENT_TARGETS,
  ADJUSTMENT_TREATMENTS,
  type Adjustment,
} from '../../shared/domain/adjustment';
import {
  allowedActions,
  AR_POLICIES,
  BATCH_ACTIONS,
  BATCH_STATUSES,
  BATCH_TYPES,
  FINISHED,
  MEMBER_ROLES,
  MEMBER_STATES,
  RELATED_REASONS,
  type Batch,
  type BatchMember,
  type MemberState,
  type RelatedReason,
} from '../../shared/domain/batch';
import { BILL_STATUSES, billTotal, minimumTrueUp, type BillLine } from '../../shared/domain/bill-line';
import { LEDGER_KINDS, type BalanceView, type LedgerEntry } from '../../shared/domain/balance';
import { formatMoney, formatPrice, formatQuantity } from '../../shared/domain/decimal';
import { ERROR_CODES } from '../../shared/domain/errors';
import type { Subscription } from '../../shared/domain/subscription';
import { EVENT_STATUSES, type UsageEvent } from '../../shared/domain/usage-event';
import type { LedgerClose } from '../../shared/store/ledger-close';
import { LINEAGE_MAX_BATCHES, LINEAGE_MAX_EVENTS, type Lineage } from '../../shared/services/usage-events';
import type { BillAdjustment } from '../../shared/store/bill-lines';

// ---- values every answer shares ------------------------------------------------------------------

/** A non-negative decimal string: quantities, prices, money in the currency's digits. */
export const Decimal = z
  .string()
  .regex(/^\d+(\.\d+)?$/)
  .meta({ id: 'Decimal', description: 'A non-negative decimal as a string (never a JSON number).', example: '12.50' });
/** A decimal string that may be negative: changes, deltas. */
export const SignedDecimal = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/)
  .meta({ id: 'SignedDecimal', description: 'A decimal as a string, negative for a decrease.', example: '-3.5' });
export const Timestamp = z
  .string()
  .meta({ id: 'Timestamp', description: 'An ISO-8601 instant in UTC.', example: '2026-03-01T10:00:00.000Z' });
export const ErrorCodeValue = z
  .enum(ERROR_CODES)
  .meta({ id: 'ErrorCode', description: 'A stable error code (GET /v1/lookups lists each with its meaning).' });

/** A page of a list: `nextCursor` is there while more follow; pass it back as `?cursor=`. */
export const Page = <T extends z.ZodType>(item: T, id: string) =>
  z
    .object({
      items: z.array(item),
      nextCursor: z
        .string()
        .optional()
        .meta({ description: 'Pass as ?cursor= for the next page; absent on the last.' }),
    })
    .meta({ id });
/** A whole list in one answer (never paged). */
export const List = <T extends z.ZodType>(item: T, id: string) => z.object({ items: z.array(item) }).meta({ id });

// ---- subscriptions, balances, bills --------------------------------------------------------------

export const SubscriptionView = z
  .object({
    subscriptionId: z.string(),
    accountId: z.string(),
    startDate: z.string(),
    currency: z.string(),
    products: z.record(z.string(), z.object({ register: z.string(), unitPrice: Decimal })),
    periodMinimum: Decimal.optional(),
    planVersion: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Subscription' });

export const BalanceViewSchema = z
  .object({ register: z.string(), granted: Decimal, consumed: Decimal, available: SignedDecimal })
  .meta({ id: 'Balance' });

export const LedgerEntryView = z
  .object({
    entryId: z.string(),
    kind: z.enum(LEDGER_KINDS),
    granted: SignedDecimal,
    consumed: SignedDecimal,
    at: Timestamp,
    actor: z.string(),
    reason: z.string().optional(),
    grantId: z.string().optional(),
    batchId: z.string().optional(),
    eventCount: z.number().int().optional(),
    effectiveAt: Timestamp.optional(),
    transferId: z.string().optional(),
    adjustmentId: z.string().optional(),
    counterpart: z.object({ subscriptionId: z.string(), register: z.string(), entryId: z.string() }).optional(),
    grantChanges: z.array(z.object({ grantId: z.string(), amount: SignedDecimal })).optional(),
  })
  .meta({ id: 'LedgerEntry' });

export const GrantResultView = z
  .object({ entry: LedgerEntryView, balance: BalanceViewSchema })
  .meta({ id: 'GrantResult' });

const TransferSide = z.object({
  subscriptionId: z.string(),
  register: z.string(),
  entry: LedgerEntryView,
  balance: BalanceViewSchema,
});
export const TransferView = z
  .object({
    transferId: z.string(),
    amount: SignedDecimal,
    effectiveAt: Timestamp.optional(),
    from: TransferSide,
    to: TransferSide,
  })
  .meta({ id: 'BalanceTransfer' });

export const CreditRebillView = z
  .object({
    id: z.string(),
    kind: z.enum(['CREDIT', 'REBILL']),
    amount: SignedDecimal.describe('A credit is negative.'),
    originalPeriod: z
      .string()
      .describe(
        'The period it corrects (interfaced, closed, or billed under credit-only): that line is never changed.',
      ),
    period: z.string().describe('The open period it is posted to.'),
    usageBefore: SignedDecimal.optional().describe("What the original period's events rated to before the correction."),
    usageAfter: SignedDecimal.optional().describe(
      'And after it: the rebill is this plus the true-up to the period minimum.',
    ),
    batchId: z.string().optional().describe('The batch that made it; its members are the events.'),
    at: Timestamp,
  })
  .meta({
    id: 'CreditRebill',
    description:
      "A credit of what a frozen period's line billed and a rebill of what it comes to now (minimum true-up included), posted as adjustments to an open period.",
  });

export const BillLineView = z
  .object({
    period: z.string(),
    currency: z.string(),
    usageAmount: SignedDecimal,
    minimumTrueUp: SignedDecimal,
    adjustments: SignedDecimal,
    total: SignedDecimal,
    previousBalanceAdjustments: SignedDecimal,
    eventCount: z.number().int(),
    status: z.enum(BILL_STATUSES),
    billUnitId: z.string().optional(),
    updatedAt: Timestamp,
    creditRebill: z
      .array(CreditRebillView)
      .optional()
      .describe('Credits and rebills posted to this line, or correcting this period.'),
  })
  .meta({ id: 'BillLine' });

// ---- usage events ---------------------------------------------------------------------------------

export const UsageEventView = z
  .object({
    eventId: z.string(),
    subscriptionId: z.string(),
    productId: z.string(),
    register: z.string(),
    quantity: Decimal,
    occurredAt: Timestamp,
    attributes: z.record(z.string(), z.unknown()).optional(),
    status: z.enum(EVENT_STATUSES),
    rating: z
      .object({
        allowanceUsed: Decimal,
        draws: z.array(z.object({ grantId: z.string(), quantity: Decimal })),
        overageQuantity: Decimal,
        unitPrice: Decimal,
        amount: Decimal,
        currency: z.string(),
        billPeriod: z.string(),
        planVersion: z.number().int(),
        ratedAt: Timestamp,
      })
      .optional(),
    heldBy: z.string().optional().meta({ description: 'The open batch holding the event.' }),
    lockedBy: z.string().optional(),
    lineage: z
      .object({
        parentEventId: z.string().optional(),
        childEventIds: z.array(z.string()).optional(),
        replaces: z.string().optional(),
        replacedBy: z.array(z.string()).optional(),
        restores: z.string().optional().meta({
          description: 'A restored event: the reversed event an undo brought back (it also `replaces` it).',
        }),
        reversedBy: z.string().optional().meta({ description: 'The batch that reversed the event.' }),
      })
      .meta({ description: 'Direct links only; GET /v1/usage-events/{eventId}/lineage returns the whole chain.' }),
    createdAt: Timestamp,
  })
  .meta({ id: 'UsageEvent' });

export const LineageView = z
  .object({
    eventId: z.string().meta({ description: 'The event asked about.' }),
    events: z
      .array(
        z.object({
          eventId: z.string(),
          subscriptionId: z.string(),
          productId: z.string(),
          quantity: Decimal,
          occurredAt: Timestamp,
          status: z.enum(EVENT_STATUSES),
          amount: Decimal.optional().meta({
            description: 'What the rating charges, in `currency`; absent while not rated.',
          }),
          currency: z.string(),
          generation: z.number().int().meta({
            description:
              'Replacement generations from the asked event (0): -1 is what it replaced, +1 what replaced it; a parent and its children share one.',
          }),
          parentEventId: z.string().optional(),
          childEventIds: z.array(z.string()),
          replaces: z.string().optional(),
          replacedBy: z.array(z.string()),
          restores: z.string().optional().meta({
            description: 'A restored event: the reversed event an undo brought back (it also `replaces` it).',
          }),
          reversedBy: z.string().optional().meta({ description: 'The batch that reversed the event.' }),
          reversedAt: Timestamp.optional(),
          heldBy: z.string().optional().meta({ description: 'The open batch holding the event.' }),
          batches: z
            .array(
              z.object({
                batchId: z.string(),
                type: z.enum(BATCH_TYPES),
                name: z.string().optional(),
                status: z.enum(BATCH_STATUSES),
                role: z
                  .enum(MEMBER_ROLES)
                  .meta({ description: 'How the batch took the event; REPLACEMENT: the batch inserted it.' }),
                at: Timestamp.meta({ description: 'When the batch took (or inserted) the event.' }),
                updatedAt: Timestamp.meta({ description: "The batch's last change (its completion, once finished)." }),
              }),
            )
            .meta({ description: 'Every batch that held the event or inserted it, oldest first.' }),
        }),
      )
      .meta({ description: 'The chain, oldest generation first; nearest events first when it is cut at the bound.' }),
    limits: z.object({ events: z.number().int(), batchesPerEvent: z.number().int() }),
    truncated: z.boolean().meta({
      description:
        'The chain goes on past the limits: a link names an event not in `events` (ask its lineage to go on), or an event has more batches than listed.',
    }),
  })
  .meta({ id: 'EventLineage' });

export function lineageView(l: Lineage): z.output<typeof LineageView> {
  return {
    eventId: l.eventId,
    events: l.nodes.map(({ event: e, currency, generation, childEventIds, batches }) => ({
      eventId: e.eventId,
      subscriptionId: e.subscriptionId,
      productId: e.productId,
      quantity: formatQuantity(e.quantity),
      occurredAt: e.occurredAt,
      status: e.status,
      ...(e.rating ? { amount: formatMoney(e.rating.amount, currency) } : {}),
      currency,
      generation,
      ...(e.parentEventId ? { parentEventId: e.parentEventId } : {}),
      childEventIds,
      ...(e.replaces ? { replaces: e.replaces } : {}),
      replacedBy: e.replacedBy ?? [],
      ...(e.restores ? { restores: e.restores } : {}),
      ...(e.reversedBy ? { reversedBy: e.reversedBy } : {}),
      ...(e.reversedAt ? { reversedAt: e.reversedAt } : {}),
      ...(e.heldBy ? { heldBy: e.heldBy } : {}),
      batches: batches.map(({ batch, role, at }) => ({
        batchId: batch.batchId,
        type: batch.type,
        ...(batch.name ? { name: batch.name } : {}),
        status: batch.status,
        role,
        at,
        updatedAt: batch.updatedAt,
      })),
    })),
    limits: { events: LINEAGE_MAX_EVENTS, batchesPerEvent: LINEAGE_MAX_BATCHES },
    truncated: l.truncated,
  };
}

export const IngestResultView = z
  .object({
    accepted: z.number().int(),
    duplicates: z
      .number()
      .int()
      .meta({ description: 'Events already stored with the same content (a retry): not counted again.' }),
    rejected: z.array(
      z.object({ index: z.number().int(), eventId: z.string().optional(), code: ErrorCodeValue, message: z.string() }),
    ),
  })
  .meta({ id: 'IngestResult' });

// ---- batches --------------------------------------------------------------------------------------

export const BatchView = z
  .object({
    batchId: z.uuid(),
    type: z.enum(BATCH_TYPES),
    name: z.string().optional(),
    description: z.string().optional(),
    status: z.enum(BATCH_STATUSES),
    version: z.number().int(),
    options: z.object({
      arPolicy: z.enum(AR_POLICIES),
      creditOnly: z.boolean(),
      effectiveAt: Timestamp.optional(),
      requireApproval: z.boolean().meta({
        description: 'Four-eyes approval for this batch whatever the deployment setting (it can only add to it).',
      }),
    }),
    counts: z.object({
      events: z.number().int(),
      related: z.number().int(),
      errored: z.number().int(),
      inProcess: z.number().int(),
      processed: z.number().int(),
    }),
    allowedActions: z.array(z.enum(BATCH_ACTIONS)).meta({
      description:
        'What the batch allows now; anything else is refused. GET /v1/batches/{batchId} answers for the asking caller: SUBMIT is absent for the one who locked a batch that needs approval.',
    }),
    progress: z.object({ done: z.number().int(), total: z.number().int() }),
    createdBy: z.string(),
    lockedBy: z.string().optional().meta({ description: 'Who asked for the last lock.' }),
    undoes: z.uuid().optional().meta({ description: 'UNDO: the completed batch this batch undoes.' }),
    undoneBy: z.uuid().optional().meta({
      description:
        'The UNDO batch created to undo this batch (POST /v1/batches/{batchId}/undo); once it is COMPLETED, this batch is undone.',
    }),
    approval: z.object({ required: z.boolean(), reason: z.string() }).optional().meta({
      description:
        'A LOCKED batch read by one caller (GET /v1/batches/{batchId}): whether someone other than lockedBy must submit it (four-eyes approval), and why.',
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    lastError: z.object({ code: ErrorCodeValue, message: z.string(), at: Timestamp }).optional(),
    executions: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: 'The workflow executions started for the batch, by action.' }),
  })
  .meta({ id: 'Batch' });

export const MemberView = z
  .object({
    eventId: z.string(),
    role: z.enum(MEMBER_ROLES),
    state: z.enum(MEMBER_STATES),
    subscriptionId: z.string(),
    register: z.string(),
    occurredAt: Timestamp,
    errorCode: ErrorCodeValue.optional(),
    errorMessage: z.string().optional(),
    relatedReason: z.enum(Object.keys(RELATED_REASONS) as [RelatedReason, ...RelatedReason[]]).optional(),
    replacements: z.array(z.string()).optional(),
  })
  .meta({ id: 'BatchMember' });

export const BatchLogEntryView = z
  .object({
    at: Timestamp,
    actor: z.string(),
    action: z.string(),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'BatchLogEntry' });

const HoldRejection = z.object({ eventId: z.string(), code: ErrorCodeValue, message: z.string().optional() });
export const AddEventsResultView = z
  .object({
    added: z.number().int(),
    matched: z.number().int(),
    already: z.number().int().optional().meta({ description: 'Requested ids the batch held before.' }),
    dryRun: z.boolean().optional(),
    rejected: z.array(HoldRejection),
    nextCursor: z
      .string()
      .optional()
      .meta({ description: 'The selection matched more: send the same criteria with this cursor.' }),
  })
  .meta({ id: 'AddEventsResult' });

export const AddReplacementsResultView = z
  .object({
    added: z.number().int(),
    already: z.number().int(),
    replacements: z.number().int(),
    newMembers: z.number().int().optional(),
    rejected: z.array(
      z.object({
        originalEventId: z.string(),
        index: z.number().int().optional(),
        eventId: z.string().optional(),
        code: ErrorCodeValue,
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'AddReplacementsResult' });

export const RemoveResultView = z.object({ removed: z.number().int() }).meta({ id: 'RemoveResult' });

export const ActionAcceptedView = z
  .object({ batchId: z.uuid(), status: z.enum(BATCH_STATUSES), executionArn: z.string() })
  .meta({
    id: 'ActionAccepted',
    description: 'The workflow started; poll GET /v1/batches/{batchId} until the status settles.',
  });

const PartitionError = z.object({ code: ErrorCodeValue, message: z.string() });
const LineAmountsView = z.object({
  usage: SignedDecimal.describe("Sum of the period's rated usage."),
  trueUp: SignedDecimal.describe('Minimum true-up: max(0, periodMinimum − usage).'),
  adjustments: SignedDecimal.describe('Adjustments posted to the line (credit/rebill included).'),
  total: SignedDecimal.describe('usage + trueUp + adjustments.'),
});
export const PreviewView = z
  .object({
    batchId: z.uuid(),
    status: z.enum(BATCH_STATUSES),
    stale: z
      .boolean()
      .describe(
        "Something a subscription's plan read changed after lock: submit would not apply it (PREVIEW_STALE); lock again.",
      ),
    subscriptions: z.array(
      z.object({
        subscriptionId: z.string(),
        currency: z.string(),
        state: z.enum(['READY', 'APPLIED', 'STALE', 'ERROR']),
        staleReason: z.string().optional(),
        error: PartitionError.optional(),
        chargeDelta: SignedDecimal.optional(),
        billLines: z.array(
          z.object({
            period: z.string(),
            status: z.enum(BILL_STATUSES),
            created: z.boolean().describe('The batch creates the line.'),
            before: LineAmountsView,
            after: LineAmountsView,
            reinvoiceRequired: z
              .boolean()
              .describe('A BILLED line changes: the bill must be re-issued (event BILL_REINVOICE_REQUIRED).'),
            frozenBecause: z
              .enum(['INTERFACED', 'PERIOD_CLOSED', 'BEFORE_ACCOUNT', 'BILLED'])
              .optional()
              .describe('The line is not changed in place; its correction is posted as credit/rebill.'),
            creditRebillPeriod: z.string().optional(),
            correctedTotal: SignedDecimal.optional().describe('What the frozen period comes to now, true-up included.'),
          }),
        ),
        creditRebill: z.array(
          z.object({
            kind: z.enum(['CREDIT', 'REBILL']),
            amount: SignedDecimal,
            originalPeriod: z.string(),
            period: z.string(),
          }),
        ),
      }),
    ),
    partitions: z.array(
      z.object({
        subscriptionId: z.string(),
        register: z.string(),
        state: z.string(),
        currency: z.string().optional(),
        before: SignedDecimal.optional(),
        after: SignedDecimal.optional(),
        relatedAdded: z.number().int().optional(),
        changedEvents: z.number().int().optional(),
        reversed: z.number().int().optional(),
        replacementsAdded: z.number().int().optional(),
        errors: z.array(PartitionError),
      }),
    ),
    totals: z.object({
      partitions: z.number().int(),
      withErrors: z.number().int(),
      stale: z.number().int(),
      chargeDelta: z.record(z.string(), SignedDecimal),
    }),
  })
  .meta({ id: 'Preview' });

// ---- accounts -------------------------------------------------------------------------------------

export const BillUnitView = z
  .object({
    billUnitId: z.string(),
    name: z.string().optional(),
    isDefault: z.boolean(),
    openItems: z.object({ total: z.number().int() }).catchall(z.number().int()),
    createdAt: Timestamp,
  })
  .meta({ id: 'BillUnit' });

export const AccountView = z
  .object({
    accountId: z.string(),
    currency: z.string(),
    accountingMethod: z.enum(ACCOUNTING_METHODS),
    createdAt: Timestamp,
    defaultBillUnitId: z.string(),
    defaultBalanceGroupId: z.string(),
    billUnits: z.array(BillUnitView),
    updatedAt: Timestamp,
  })
  .meta({ id: 'Account' });

export const OpenItemView = z
  .object({
    openItemId: z.string(),
    billUnitId: z.string(),
    kind: z.enum(OPEN_ITEM_KINDS),
    status: z.enum(OPEN_ITEM_STATUSES),
    amount: Decimal.optional(),
    currency: z.string().optional(),
    reference: z.string().optional(),
    note: z.string().optional(),
    recordedAt: Timestamp,
    recordedBy: z.string(),
    resolvedAt: Timestamp.optional(),
    resolvedBy: z.string().optional(),
    resolution: z.string().optional(),
  })
  .meta({ id: 'OpenItem' });

export const AccountLogEntryView = z
  .object({
    at: Timestamp,
    actor: z.string(),
    action: z.string(),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'AccountLogEntry' });

export const LedgerCloseView = z
  .object({ closedThrough: z.string().nullable(), updatedAt: Timestamp.optional(), updatedBy: z.string().optional() })
  .meta({ id: 'LedgerClose' });

export const BalanceGroupView = z
  .object({
    balanceGroupId: z.string(),
    kind: z.enum(BALANCE_GROUP_KINDS),
    subscriptionId: z.string().optional(),
    billUnitId: z.string(),
    history: z.array(
      z.object({ billUnitId: z.string(), from: Timestamp, by: z.string(), moveId: z.string().optional() }),
    ),
  })
  .meta({ id: 'BalanceGroup' });

export const MoveResultView = z
  .object({
    moveId: z.string(),
    balanceGroupId: z.string(),
    fromBillUnitId: z.string(),
    toBillUnitId: z.string(),
    emptyBalanceGroupId: z.string().optional(),
    balanceGroup: BalanceGroupView,
  })
  .meta({ id: 'BalanceGroupMove' });

export const AdjustmentView = z
  .object({
    adjustmentId: z.string(),
    subscriptionId: z.string(),
    target: z.enum(ADJUSTMENT_TARGETS),
    direction: z.enum(ADJUSTMENT_DIRECTIONS),
    amount: Decimal,
    register: z.string().optional(),
    currency: z.string().optional(),
    validTo: Timestamp.optional(),
    effectiveAt: Timestamp,
    treatment: z.enum(ADJUSTMENT_TREATMENTS),
    period: z.string().optional(),
    at: Timestamp,
    actor: z.string(),
    reason: z.string(),
  })
  .meta({ id: 'Adjustment' });

export const AdjustmentListView = z
  .object({
    items: z.array(AdjustmentView),
    creditRebill: z
      .array(CreditRebillView)
      .describe("Credits and rebills batches posted for the subscription's frozen periods, oldest first."),
  })
  .meta({ id: 'AdjustmentList' });

export const AdjustmentResultView = z
  .object({
    adjustment: AdjustmentView,
    entry: LedgerEntryView.optional(),
    balance: BalanceViewSchema.optional(),
    billLine: BillLineView.optional(),
  })
  .meta({ id: 'AdjustmentResult' });

export const HealthView = z
  .object({ status: z.literal('ok'), table: z.object({ latencyMs: z.number() }) })
  .meta({ id: 'Health' });

const ActionRuleView = z.object({ action: z.enum(BATCH_ACTIONS), when: z.string().optional() });
const byType = <T extends z.ZodType>(v: T) =>
  z.object(Object.fromEntries(BATCH_TYPES.map((t) => [t, v])) as Record<(typeof BATCH_TYPES)[number], T>);
const byStatus = <T extends z.ZodType>(v: T) =>
  z.object(Object.fromEntries(BATCH_STATUSES.map((s) => [s, v])) as Record<(typeof BATCH_STATUSES)[number], T>);

export const LookupsView = z
  .object({
    errorCodes: z.array(z.object({ code: ErrorCodeValue, status: z.number().int(), meaning: z.string() })),
    batchTypes: z.array(z.enum(BATCH_TYPES)),
    batchStatuses: z.array(z.enum(BATCH_STATUSES)),
    batchActions: z.array(z.enum(BATCH_ACTIONS)),
    actionsByTypeAndStatus: byType(byStatus(z.array(ActionRuleView))).meta({
      description: 'What each type allows in each status; `when` names a further condition.',
    }),
    eligibleEventStatusesByType: byType(z.array(z.enum(EVENT_STATUSES))),
    eventStatuses: z.array(z.enum(EVENT_STATUSES)),
    memberRoles: z.array(z.enum(MEMBER_ROLES)),
    memberStates: z.array(z.enum(MEMBER_STATES)),
    relatedReasons: z.array(z.object({ reason: z.string(), meaning: z.string() })),
    arPolicies: z.array(z.enum(AR_POLICIES)),
    adjustmentTargets: z.array(z.enum(ADJUSTMENT_TARGETS)),
    adjustmentDirections: z.array(z.enum(ADJUSTMENT_DIRECTIONS)),
    adjustmentTreatments: z.array(z.enum(ADJUSTMENT_TREATMENTS)),
    ledgerEntryKinds: z.array(z.enum(LEDGER_KINDS)),
    billLineStatuses: z.array(z.enum(BILL_STATUSES)),
    accountingMethods: z.array(z.enum(ACCOUNTING_METHODS)),
    openItemKinds: z.array(z.enum(OPEN_ITEM_KINDS)),
    openItemStatuses: z.array(z.enum(OPEN_ITEM_STATUSES)),
    balanceGroupKinds: z.array(z.enum(BALANCE_GROUP_KINDS)),
    limits: z.object({
      eventIdsPerCall: z.number().int(),
      eventsPerRequest: z.number().int(),
      replacementsPerOriginal: z.number().int(),
      windowDaysWithoutSubscriptions: z.number().int(),
      pageLimit: z.number().int(),
    }),
  })
  .meta({ id: 'Lookups' });

/** The OpenAPI document itself (GET /v1/openapi.json). */
export const OpenApiDocumentView = z
  .looseObject({
    openapi: z.string(),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'OpenApiDocument' });

/** Every refusal: RFC 9457 problem details with the stable `code`. */
export const ProblemView = z
  .object({
    type: z.string().meta({ example: 'urn:usage-corrections:problem:VALIDATION_FAILED' }),
    title: z.string(),
    status: z.number().int(),
    code: ErrorCodeValue,
    detail: z.string().meta({ description: 'What went wrong, in words; names the limit or the value refused.' }),
    errors: z
      .array(
        z.object({ path: z.string().meta({ example: 'body.eventIds' }), code: ErrorCodeValue, message: z.string() }),
      )
      .optional(),
    requestId: z
      .string()
      .optional()
      .meta({ description: 'Quote it when reporting a failure: it finds the request in the logs.' }),
  })
  .meta({ id: 'Problem' });

// ---- the functions that shape them ----------------------------------------------------------------

export const subscriptionView = (s: Subscription): z.output<typeof SubscriptionView> => ({
  subscriptionId: s.subscriptionId,
  accountId: s.accountId,
  startDate: s.startDate,
  currency: s.currency,
  products: Object.fromEntries(
    Object.entries(s.products).map(([id, p]) => [id, { register: p.register, unitPrice: formatPrice(p.unitPrice) }]),
  ),
  ...(s.periodMinimum !== undefined ? { periodMinimum: formatMoney(s.periodMinimum, s.currency) } : {}),
  planVersion: s.planVersion,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});

export const balanceView = (b: BalanceView): z.output<typeof BalanceViewSchema> => ({
  register: b.register,
  granted: formatQuantity(b.granted),
  consumed: formatQuantity(b.consumed),
  available: formatQuantity(b.available),
});

export const ledgerEntryView = (e: LedgerEntry): z.output<typeof LedgerEntryView> => ({
  entryId: e.entryId,
  kind: e.kind,
  granted: formatQuantity(e.granted),
  consumed: formatQuantity(e.consumed),
  at: e.at,
  actor: e.actor,
  ...(e.reason ? { reason: e.reason } : {}),
  ...(e.grantId ? { grantId: e.grantId } : {}),
  ...(e.batchId ? { batchId: e.batchId } : {}),
  ...(e.eventCount !== undefined ? { eventCount: e.eventCount } : {}),
  ...(e.effectiveAt ? { effectiveAt: e.effectiveAt } : {}),
  ...(e.transferId ? { transferId: e.transferId } : {}),
  ...(e.adjustmentId ? { adjustmentId: e.adjustmentId } : {}),
  ...(e.counterpart ? { counterpart: e.counterpart } : {}),
  ...(e.grantChanges
    ? { grantChanges: e.grantChanges.map((c) => ({ grantId: c.grantId, amount: formatQuantity(c.amount) })) }
    : {}),
});

export const transferView = (t: {
  transferId: string;
  out: LedgerEntry;
  in: LedgerEntry;
  fromBalance: BalanceView;
  toBalance: BalanceView;
}): z.output<typeof TransferView> => ({
  transferId: t.transferId,
  amount: formatQuantity(t.in.granted),
  effectiveAt: t.in.effectiveAt,
  from: {
    subscriptionId: t.out.subscriptionId,
    register: t.out.register,
    entry: ledgerEntryView(t.out),
    balance: balanceView(t.fromBalance),
  },
  to: {
    subscriptionId: t.in.subscriptionId,
    register: t.in.register,
    entry: ledgerEntryView(t.in),
    balance: balanceView(t.toBalance),
  },
});

export const creditRebillView = (d: BillAdjustment, currency: string): z.output<typeof CreditRebillView> => ({
  id: d.id,
  kind: d.kind,
  amount: formatMoney(d.amount, currency),
  originalPeriod: d.originalPeriod,
  period: d.period,
  ...(d.usageBefore !== undefined ? { usageBefore: formatMoney(d.usageBefore, currency) } : {}),
  ...(d.usageAfter !== undefined ? { usageAfter: formatMoney(d.usageAfter, currency) } : {}),
  ...(d.batchId ? { batchId: d.batchId } : {}),
  at: d.at,
});

export const billLineView = (l: BillLine, documents?: readonly BillAdjustment[]): z.output<typeof BillLineView> => ({
  period: l.period,
  currency: l.currency,
  usageAmount: formatMoney(l.usageAmount, l.currency),
  minimumTrueUp: formatMoney(minimumTrueUp(l), l.currency),
  adjustments: formatMoney(l.adjustments, l.currency),
  total: formatMoney(billTotal(l), l.currency),
  previousBalanceAdjustments: formatMoney(l.previousBalanceAdjustments, l.currency),
  eventCount: l.eventCount,
  status: l.status,
  ...(l.billUnitId ? { billUnitId: l.billUnitId } : {}),
  updatedAt: l.updatedAt,
  ...(documents?.some((d) => d.period === l.period || d.originalPeriod === l.period)
    ? {
        creditRebill: documents
          .filter((d) => d.period === l.period || d.originalPeriod === l.period)
          .map((d) => creditRebillView(d, l.currency)),
      }
    : {}),
});

export function eventView(e: UsageEvent, currency: string, childEventIds?: string[]): z.output<typeof UsageEventView> {
  return {
    eventId: e.eventId,
    subscriptionId: e.subscriptionId,
    productId: e.productId,
    register: e.register,
    quantity: formatQuantity(e.quantity),
    occurredAt: e.occurredAt,
    attributes: e.attributes,
    status: e.status,
    ...(e.rating
      ? {
          rating: {
            allowanceUsed: formatQuantity(e.rating.allowanceUsed),
            draws: e.rating.draws.map((d) => ({ grantId: d.grantId, quantity: formatQuantity(d.quantity) })),
            overageQuantity: formatQuantity(e.rating.overageQuantity),
            unitPrice: formatPrice(e.rating.unitPrice),
            amount: formatMoney(e.rating.amount, currency),
            currency,
            billPeriod: e.rating.billPeriod,
            planVersion: e.rating.planVersion,
            ratedAt: e.rating.ratedAt,
          },
        }
      : {}),
    ...(e.heldBy ? { heldBy: e.heldBy } : {}),
    ...(e.lockedBy ? { lockedBy: e.lockedBy } : {}),
    lineage: {
      ...(e.parentEventId ? { parentEventId: e.parentEventId } : {}),
      ...(childEventIds ? { childEventIds } : {}),
      ...(e.replaces ? { replaces: e.replaces } : {}),
      ...(e.replacedBy ? { replacedBy: e.replacedBy } : {}),
      ...(e.restores ? { restores: e.restores } : {}),
      ...(e.reversedBy ? { reversedBy: e.reversedBy } : {}),
    },
    createdAt: e.createdAt,
  };
}

/** `viewer`: the caller and the batch's approval need, when one caller asks (allowedActions is then theirs). */
export const batchView = (
  b: Batch,
  viewer?: { actor: string; approval?: ApprovalNeed },
): z.output<typeof BatchView> => ({
  batchId: b.batchId,
  type: b.type,
  ...(b.name ? { name: b.name } : {}),
  ...(b.description ? { description: b.description } : {}),
  status: b.status,
  version: b.version,
  options: { ...b.options, requireApproval: b.options.requireApproval === true },
  counts: b.counts,
  allowedActions: allowedActions(b).filter(
    (a) => a !== 'SUBMIT' || !viewer?.approval || mayOfferSubmit(viewer.approval, viewer.actor, b.lockedBy),
  ),
  progress: b.progress,
  createdBy: b.createdBy,
  ...(b.lockedBy ? { lockedBy: b.lockedBy } : {}),
  ...(b.undoes ? { undoes: b.undoes } : {}),
  ...(b.undoneBy ? { undoneBy: b.undoneBy } : {}),
  ...(viewer?.approval ? { approval: viewer.approval } : {}),
  createdAt: b.createdAt,
  updatedAt: b.updatedAt,
  ...(b.lastError ? { lastError: b.lastError } : {}),
  ...(b.executions ? { executions: b.executions } : {}),
});

/** A held member is locked while its batch is locked or processing, and processed once it finished. */
export function memberView(m: BatchMember, b: Pick<Batch, 'status'>): z.output<typeof MemberView> {
  let state: MemberState = m.state;
  if (m.state === 'HELD' && (b.status === 'LOCKED' || b.status === 'PROCESSING')) state = 'LOCKED';
  else if (m.state === 'HELD' && FINISHED.has(b.status)) state = 'PROCESSED';
  return {
    eventId: m.eventId,
    role: m.role,
    state,
    subscriptionId: m.subscriptionId,
    register: m.register,
    occurredAt: m.occurredAt,
    ...(m.errorCode ? { errorCode: m.errorCode, errorMessage: m.errorMessage } : {}),
    ...(m.relatedReason ? { relatedReason: m.relatedReason } : {}),
    ...(m.replacements ? { replacements: m.replacements } : {}),
  };
}
export const billUnitView = (b: BillUnit): z.output<typeof BillUnitView> => ({
  billUnitId: b.billUnitId,
  ...(b.name ? { name: b.name } : {}),
  isDefault: b.isDefault,
  openItems: { total: b.openItems, ...b.openItemCounts },
  createdAt: b.createdAt,
});

export const accountView = (a: Account, billUnits: BillUnit[]): z.output<typeof AccountView> => ({
  accountId: a.accountId,
  currency: a.currency,
  accountingMethod: a.accountingMethod,
  createdAt: a.createdAt,
  defaultBillUnitId: a.defaultBillUnitId,
  defaultBalanceGroupId: DEFAULT_BALANCE_GROUP_ID,
  billUnits: billUnits.map(billUnitView),
  updatedAt: a.updatedAt,
});

export const openItemView = (o: OpenItem, currency: string): z.output<typeof OpenItemView> => ({
  openItemId: o.openItemId,
  billUnitId: o.billUnitId,
  kind: o.kind,
  status: o.status,
  ...(o.amount !== undefined ? { amount: formatMoney(o.amount, currency), currency } : {}),
  ...(o.reference ? { reference: o.reference } : {}),
  ...(o.note ? { note: o.note } : {}),
  recordedAt: o.recordedAt,
  recordedBy: o.recordedBy,
  ...(o.resolvedAt ? { resolvedAt: o.resolvedAt, resolvedBy: o.resolvedBy } : {}),
  ...(o.resolution ? { resolution: o.resolution } : {}),
});

export const accountLogView = (e: AccountLogEntry): z.output<typeof AccountLogEntryView> => ({
  at: e.at,
  actor: e.actor,
  action: e.action,
  message: e.message,
  data: e.data,
});

export const ledgerCloseView = (c: LedgerClose): z.output<typeof LedgerCloseView> => ({
  closedThrough: c.closedThrough ?? null,
  ...(c.updatedAt ? { updatedAt: c.updatedAt, updatedBy: c.updatedBy } : {}),
});

export const balanceGroupView = (g: BalanceGroup): z.output<typeof BalanceGroupView> => ({
  balanceGroupId: g.balanceGroupId,
  kind: g.kind,
  ...(g.kind === 'SUBSCRIPTION' ? { subscriptionId: g.balanceGroupId } : {}),
  billUnitId: g.billUnitId,
  history: g.history,
});

export const adjustmentView = (a: Adjustment): z.output<typeof AdjustmentView> => ({
  adjustmentId: a.adjustmentId,
  subscriptionId: a.subscriptionId,
  target: a.target,
  direction: a.direction,
  amount: a.currency ? formatMoney(a.amount, a.currency) : formatQuantity(a.amount),
  ...(a.register ? { register: a.register } : {}),
  ...(a.currency ? { currency: a.currency } : {}),
  ...(a.validTo ? { validTo: a.validTo } : {}),
  effectiveAt: a.effectiveAt,
  treatment: a.treatment,
  ...(a.period ? { period: a.period } : {}),
  at: a.at,
  actor: a.actor,
  reason: a.reason,
});

// ---- imports through the API ---------------------------------------------------------------------

const ImportTargetView = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('usage-events') }),
    z.object({ kind: z.literal('batch-events'), batchId: z.string() }),
    z.object({ kind: z.literal('batch-replacements'), batchId: z.string() }),
  ])
  .meta({ id: 'ImportTarget' });

export const ImportUploadView = z
  .object({
    importId: z.string(),
    key: z
      .string()
      .meta({ description: 'The object key the file is uploaded to: the S3 drop imports it as any partner file.' }),
    upload: z.object({
      method: z.literal('PUT'),
      url: z.string().meta({ description: 'A presigned S3 URL, valid until expiresAt.' }),
      headers: z.object({ 'content-type': z.literal('text/csv') }),
      expiresAt: Timestamp,
    }),
  })
  .meta({ id: 'ImportUpload' });

export const ImportStatusView = z
  .object({
    importId: z.string(),
    key: z.string(),
    target: ImportTargetView,
    state: z.enum(['WAITING_FOR_FILE', 'IMPORTING', 'COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']),
    report: z
      .object({
        status: z.enum(['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']),
        rows: z.number().int(),
        accepted: z.number().int(),
        duplicates: z.number().int().optional(),
        rejected: z.number().int(),
        errorsKey: z.string().optional(),
        error: z.object({ code: ErrorCodeValue, message: z.string() }).optional(),
        children: z.object({ added: z.number().int(), rejected: z.number().int() }).optional(),
      })
      .passthrough()
      .optional()
      .meta({ description: 'The import report, once the file has been imported.' }),
    errorsUrl: z
      .string()
      .optional()
      .meta({ description: 'A presigned download URL of the errors CSV, when rows were rejected.' }),
  })
  .meta({ id: 'ImportStatus' });
