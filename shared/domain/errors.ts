// Stable error codes shared by the API, CSV error reports and the batch log: the one list
// (GET /v1/lookups serves it). Each code has one HTTP status; problem+json carries it unchanged.
export const errorCodes = {
  VALIDATION_FAILED: {
    status: 400,
    meaning: 'The request or a row does not have the documented shape; errors[] names each field.',
  },
  NOT_FOUND: { status: 404, meaning: 'The named resource does not exist.' },
  INVALID_TRANSITION: {
    status: 409,
    meaning: "The batch's status does not allow this action now (see allowedActions).",
  },
  ACTION_NOT_ALLOWED_FOR_TYPE: { status: 422, meaning: "The batch's type never allows this action or option." },
  EVENT_NOT_FOUND: { status: 422, meaning: 'A named usage event (or parent event) does not exist.' },
  EVENT_ALREADY_REVERSED: {
    status: 409,
    meaning: 'The event was reversed by an earlier batch and cannot be corrected again.',
  },
  EVENT_ALREADY_PROCESSED: { status: 409, meaning: 'The event is already rated, so a RATING batch cannot take it.' },
  EVENT_NOT_RATED: { status: 422, meaning: 'The event is not rated yet, so this batch type cannot correct it.' },
  EVENT_HELD_BY_OTHER_BATCH: {
    status: 409,
    meaning: 'Another open batch holds the event; finish or remove it there first.',
  },
  EVENT_ID_CONFLICT: {
    status: 409,
    meaning: 'An event with this eventId and different content exists (same content is a duplicate).',
  },
  AR_INTERFACED: {
    status: 422,
    meaning: 'The change would alter a bill line already interfaced to receivables (arPolicy REJECT).',
  },
  EXCLUDED_ZERO_CHARGE: {
    status: 422,
    meaning: 'The period holds an excluded zero-charge event; correct it with a credit-only batch.',
  },
  BACKDATE_OUT_OF_RANGE: {
    status: 422,
    meaning: 'The effective date falls in a closed ledger period or before the subscription starts.',
  },
  PERIOD_CLOSED: {
    status: 422,
    meaning:
      'The change would alter a bill period closed in the ledger (use arPolicy CREDIT_REBILL to post it in the earliest open period).',
  },
  BEFORE_ACCOUNT_CREATED: {
    status: 422,
    meaning:
      'The change would alter a bill period before the account was created (use arPolicy CREDIT_REBILL to post it in the earliest open period).',
  },
  PREVIEW_STALE: {
    status: 412,
    meaning:
      'Something the preview read (a grant, transfer, adjustment, price, bill-line status or the ledger close) changed after lock; lock again to see the new preview.',
  },
  PLAN_TOO_LARGE: {
    status: 422,
    meaning: "A subscription's totals (grants, registers, bill lines) do not fit in one transaction; split the batch.",
  },
  FUTURE_DATED: { status: 422, meaning: 'The instant is in the future.' },
  CRITERIA_TOO_BROAD: {
    status: 422,
    meaning: 'A selection needs subscriptionIds, or from and to at most 31 days apart.',
  },
  APPROVAL_REQUIRED: {
    status: 428,
    meaning:
      'The batch needs approval: someone other than its locker submits it, with If-Match set to the preview ETag they approve.',
  },
  SAME_ACTOR: {
    status: 403,
    meaning: 'The batch needs approval and the caller is the one who locked it; someone else must submit it.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    meaning: 'This Idempotency-Key was used by the same caller for a different request.',
  },
  // Balance management (docs/balance-management.md).
  INSUFFICIENT_BALANCE: { status: 409, meaning: 'The register has less available than the debit or transfer needs.' },
  CROSS_ACCOUNT: { status: 422, meaning: 'The two subscriptions or groups belong to different accounts.' },
  RESOURCE_MISMATCH: { status: 422, meaning: 'The register, currency or bill unit does not match the other side.' },
  BILL_UNIT_HAS_OPEN_ITEMS: { status: 409, meaning: 'The bill unit still has open items; resolve them first.' },
  DEFAULT_BALANCE_GROUP: { status: 422, meaning: "The account's default balance group cannot be moved or removed." },
  REPLACEMENT_ROWS_NOT_ADJACENT: {
    status: 422,
    meaning: "A replacements CSV names an original again after other originals' rows (files are read once, in order).",
  },
  BATCH_NOT_UNDOABLE: {
    status: 409,
    meaning:
      'Only a COMPLETED batch can be undone (one that failed in part, or still runs, cannot); a batch locked before undo existed is not either.',
  },
  BATCH_ALREADY_UNDONE: {
    status: 409,
    meaning:
      'The batch is undone, or an open undo batch of it exists (undoneBy names it); cancel that one to undo anew.',
  },
  EVENTS_CHANGED_SINCE: {
    status: 409,
    meaning:
      'A later batch changed (or an open batch holds) an event the batch changed, so it cannot be undone; undo the later batch first.',
  },
  BATCH_EMPTY: {
    status: 422,
    meaning: 'The batch has no events, so there is nothing to lock or submit; add events or cancel it.',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    meaning: 'The path exists but does not serve this method (Allow lists those it does).',
  },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'The body is not application/json.' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The body is larger than 1 MiB (10 MiB before it reaches the handler).' },
  CONFLICT: {
    status: 409,
    meaning:
      'A concurrent change, an id already used with other content, or a request with this Idempotency-Key still in progress.',
  },
  INTERNAL: {
    status: 500,
    meaning: 'An unexpected failure (or a workflow step that failed); quote requestId when reporting it.',
  },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof errorCodes;

export const ERROR_CODES = Object.keys(errorCodes) as ErrorCode[];

export const errorStatus = Object.fromEntries(ERROR_CODES.map((c) => [c, errorCodes[c].status])) as {
  [C in ErrorCode]: (typeof errorCodes)[C]['status'];
};

export const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && Object.hasOwn(errorCodes, code);

/** A code read back from storage: one of ours, or INTERNAL for anything an older version stored. */
export const storedErrorCode = (code: unknown): ErrorCode => (isErrorCode(code) ? code : 'INTERNAL');

/**
 * Why something was refused: a stable code and a message. The one name for this concept; where it
 * applies to a part of the input, the part is added (a field's `path`, a CSV row, an event's index).
 */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

/** A refusal of one input field or item: an entry of problem+json's `errors[]`. */
export interface FieldRefusal extends Refusal {
  path: string;
}

/** A request-level failure. Thrown by domain and store code; turned into problem+json in one place. */
export class DomainError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: FieldRefusal[] = [],
  ) {
    super(message);
    // The code is the error's name: Lambda reports it as errorType, so a workflow's Catch and
    // Retry can match it and the batch's lastError keeps it (an instance check still tells ours).
    this.name = code;
    this.status = errorStatus[code];
  }
}
