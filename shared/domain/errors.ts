// Stable error codes shared by the API, CSV error reports and the batch log.
// Each code has one HTTP status; problem+json carries the code unchanged.
export const errorStatus = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  INVALID_TRANSITION: 409,
  ACTION_NOT_ALLOWED_FOR_TYPE: 422,
  EVENT_NOT_FOUND: 422,
  EVENT_ALREADY_REVERSED: 409,
  EVENT_ALREADY_PROCESSED: 409,
  EVENT_NOT_RATED: 422,
  EVENT_HELD_BY_OTHER_BATCH: 409,
  EVENT_ID_CONFLICT: 409,
  AR_INTERFACED: 422,
  EXCLUDED_ZERO_CHARGE: 422,
  BACKDATE_OUT_OF_RANGE: 422,
  FUTURE_DATED: 422,
  CRITERIA_TOO_BROAD: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  // Balance management (docs/balance-management.md).
  INSUFFICIENT_BALANCE: 409,
  CROSS_ACCOUNT: 422,
  RESOURCE_MISMATCH: 422,
  BILL_UNIT_HAS_OPEN_ITEMS: 409,
  DEFAULT_BALANCE_GROUP: 422,
  /** A replacements CSV names an original again after other originals' rows (files are read once, in order). */
  REPLACEMENT_ROWS_NOT_ADJACENT: 422,
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  CONFLICT: 409,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/** One problem with one input field or item: the shape used in `errors[]`, CSV reports and logs. */
export interface Issue {
  path: string;
  code: ErrorCode;
  message: string;
}

/** A request-level failure. Thrown by domain and store code; turned into problem+json in one place. */
export class DomainError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
    this.name = 'DomainError';
    this.status = errorStatus[code];
  }
}

export const notFound = (what: string, id: string) => new DomainError('NOT_FOUND', `${what} ${id} was not found`);
