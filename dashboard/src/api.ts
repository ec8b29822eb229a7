// The dashboard's one way to the HTTP API: every call it makes, typed. The response types below
// are written by hand from functions/api/views.ts and the handlers; once docs/openapi.json exists,
// they become aliases of the generated `components['schemas'][…]` and nothing else here changes.

// ---- types --------------------------------------------------------------------------------------

/** Quantities and money are decimal strings in every answer: never parsed into floats. */
export type Decimal = string;
/** An ISO 8601 instant. */
export type Instant = string;

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface Issue {
  path: string;
  code: string;
  message: string;
}

/** application/problem+json */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  errors?: Issue[];
  requestId?: string;
}

export const EVENT_STATUSES = ['LOADED', 'RATED', 'EXCLUDED', 'REVERSED'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

export interface Rating {
  allowanceUsed: Decimal;
  draws: { grantId: string; quantity: Decimal }[];
  overageQuantity: Decimal;
  unitPrice: Decimal;
  amount: Decimal;
  currency: string;
  billPeriod: string;
  planVersion: number;
  ratedAt: Instant;
}

export interface Lineage {
  parentEventId?: string;
  childEventIds?: string[];
  replaces?: string;
  replacedBy?: string[];
  reversedBy?: string;
  reversedInBatch?: string;
}

export interface UsageEvent {
  eventId: string;
  subscriptionId: string;
  productId: string;
  register: string;
  quantity: Decimal;
  occurredAt: Instant;
  attributes?: Record<string, string>;
  status: EventStatus;
  rating?: Rating;
  /** The open batch holding the event. */
  heldBy?: string;
  lockedBy?: string;
  lineage: Lineage;
  createdAt: Instant;
}

export interface EventFilter {
  subscriptionId: string;
  productId?: string;
  status?: EventStatus;
  from?: Instant;
  to?: Instant;
}

export const BATCH_TYPES = ['RATING', 'RERATE', 'REVERSE_REPLACE'] as const;
export type BatchType = (typeof BATCH_TYPES)[number];
/** Known statuses; the API may add more (CANCELLED), shown as they come. */
export type BatchStatus = 'DRAFT' | 'LOCKING' | 'LOCKED' | 'REVERTING' | 'PROCESSING' | 'COMPLETED' | 'COMPLETED_WITH_ERRORS' | 'FAILED' | (string & {});
export const BATCH_STATUSES: readonly BatchStatus[] = ['DRAFT', 'LOCKING', 'LOCKED', 'REVERTING', 'PROCESSING', 'COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];
/** Known actions; new ones (CANCEL) are offered as they appear in `allowedActions`. */
export type BatchAction = 'ADD_EVENTS' | 'ADD_REPLACEMENTS' | 'REMOVE_EVENTS' | 'LOCK' | 'REVERT' | 'SUBMIT' | (string & {});

export interface BatchOptions {
  arPolicy: 'REJECT' | 'CREDIT_REBILL';
  creditOnly: boolean;
  effectiveAt?: Instant;
}

export interface Batch {
  batchId: string;
  type: BatchType;
  name?: string;
  description?: string;
  status: BatchStatus;
  version: number;
  options: BatchOptions;
  counts: { events: number; related: number; errored: number; inProcess: number; processed: number };
  allowedActions: BatchAction[];
  progress: { done: number; total: number };
  createdBy: string;
  createdAt: Instant;
  updatedAt: Instant;
  lastError?: { code: string; message: string; at: Instant };
  /** Stage (lock, revert, submit) → the Step Functions execution that ran it last. */
  executions?: Record<string, string>;
}

export interface NewBatch {
  type: BatchType;
  name?: string;
  description?: string;
  options?: Partial<BatchOptions>;
}

export interface Refusal {
  eventId: string;
  code: string;
  message?: string;
}

export interface AddResult {
  added: number;
  matched: number;
  already?: number;
  rejected: Refusal[];
  /** Criteria: the selection goes on from here. */
  nextCursor?: string;
  dryRun?: boolean;
}

export interface Criteria {
  subscriptionIds?: string[];
  productId?: string;
  status?: EventStatus;
  from?: Instant;
  to?: Instant;
}

export type RemoveRequest =
  | { mode: 'ALL' }
  | { mode: 'BY_RULE'; rule: { errorCode?: string; subscriptionIds?: string[]; eventIds?: string[]; from?: Instant; to?: Instant } };

export const MEMBER_STATES = ['HELD', 'LOCKED', 'ERROR', 'PROCESSED', 'FAILED'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

export interface Member {
  eventId: string;
  role: 'MEMBER' | 'CHILD' | 'RELATED' | 'REPLACEMENT';
  state: MemberState;
  subscriptionId: string;
  register: string;
  occurredAt: Instant;
  errorCode?: string;
  errorMessage?: string;
  relatedReason?: string;
  replacements?: string[];
}

export interface LogEntry {
  at: Instant;
  actor: string;
  action: string;
  message: string;
  data?: Record<string, unknown>;
}

export interface LineAmounts {
  usage: Decimal;
  trueUp: Decimal;
  adjustments: Decimal;
  total: Decimal;
}

/** A bill line the batch changes, computed across every register and product of its subscription. */
export interface PreviewBillLine {
  period: string;
  status: string;
  created: boolean;
  before: LineAmounts;
  after: LineAmounts;
  reinvoiceRequired: boolean;
  frozenBecause?: string;
  creditRebillPeriod?: string;
  correctedTotal?: Decimal;
}

export interface PreviewSubscription {
  subscriptionId: string;
  currency: string;
  state: 'READY' | 'APPLIED' | 'STALE' | 'ERROR';
  staleReason?: string;
  error?: { code: string; message: string };
  chargeDelta?: Decimal;
  billLines: PreviewBillLine[];
  creditRebill: { kind: 'CREDIT' | 'REBILL'; amount: Decimal; originalPeriod: string; period: string }[];
}

export interface PreviewPartition {
  subscriptionId: string;
  register: string;
  state: string;
  currency?: string;
  before?: Decimal;
  after?: Decimal;
  relatedAdded?: number;
  changedEvents?: number;
  reversed?: number;
  replacementsAdded?: number;
  errors: { code: string; message: string }[];
}

export interface Preview {
  batchId: string;
  status: BatchStatus;
  stale: boolean;
  subscriptions: PreviewSubscription[];
  partitions: PreviewPartition[];
  totals: { partitions: number; withErrors: number; stale: number; chargeDelta: Record<string, Decimal> };
}

export interface BillLine {
  period: string;
  currency: string;
  usageAmount: Decimal;
  minimumTrueUp: Decimal;
  adjustments: Decimal;
  total: Decimal;
  previousBalanceAdjustments: Decimal;
  eventCount: number;
  status: 'OPEN' | 'BILLED' | 'INTERFACED' | (string & {});
  billUnitId?: string;
  updatedAt: Instant;
}

export type ImportTarget = { kind: 'usage-events' } | { kind: 'batch-events'; batchId: string } | { kind: 'batch-replacements'; batchId: string };
export type ImportKind = ImportTarget['kind'];

export interface ImportUpload {
  importId: string;
  key: string;
  upload: { method: 'PUT'; url: string; headers: Record<string, string>; expiresAt: Instant };
}

export interface ImportReport {
  status: 'COMPLETED' | 'COMPLETED_WITH_ERRORS' | 'FAILED';
  rows: number;
  accepted: number;
  duplicates?: number;
  rejected: number;
  errorsKey?: string;
  error?: { code: string; message: string };
  children?: { added: number; rejected: number };
}

export interface ImportStatus {
  importId: string;
  key: string;
  target: ImportTarget;
  state: 'WAITING_FOR_FILE' | 'IMPORTING' | ImportReport['status'];
  report?: ImportReport;
  /** A short-lived link to the errors CSV, when rows were rejected. */
  errorsUrl?: string;
}

// ---- transport ----------------------------------------------------------------------------------

/** Sends one request: locally with the X-Actor header, in AWS signed with SigV4 (aws-auth.ts). */
export type Send = (url: URL, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<Response>;

/** An answer the API refused, with its problem+json. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.code}: ${problem.detail}`);
  }
}

interface Answer<T> {
  body: T;
  headers: Headers;
}

const query = (params: Record<string, string | number | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};
const seg = encodeURIComponent;

export function createApi(baseUrl: string, send: Send) {
  async function request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    const init = {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        // Every POST carries its own key: a retry after a lost answer cannot apply twice.
        ...(method === 'POST' ? { 'idempotency-key': crypto.randomUUID() } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    };
    const url = new URL(`${baseUrl}${path}`);
    let res: Response;
    try {
      res = await send(url, init);
    } catch {
      // The network failed before an answer: once more, with the same Idempotency-Key.
      res = await send(url, init);
    }
    const text = await res.text();
    const json: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const problem = (json as Problem | undefined)?.code
        ? (json as Problem)
        : { type: 'about:blank', title: res.statusText, status: res.status, code: `HTTP_${res.status}`, detail: (json as { message?: string } | undefined)?.message ?? (text || res.statusText) };
      throw new ApiError(res.status, problem);
    }
    return { body: json as T, headers: res.headers };
  }
  const get = async <T>(path: string) => (await request<T>('GET', path)).body;
  const post = async <T>(path: string, body?: unknown, headers?: Record<string, string>) => (await request<T>('POST', path, body, headers)).body;

  return {
    listUsageEvents: (filter: EventFilter, cursor?: string, limit = 50) => get<Page<UsageEvent>>(`/v1/usage-events${query({ ...filter, cursor, limit })}`),
    getUsageEvent: (eventId: string) => get<UsageEvent>(`/v1/usage-events/${seg(eventId)}`),

    listBatches: (filter: { status?: string; type?: string }, cursor?: string, limit = 50) => get<Page<Batch>>(`/v1/batches${query({ ...filter, cursor, limit })}`),
    createBatch: (batch: NewBatch) => post<Batch>('/v1/batches', batch),
    getBatch: (batchId: string) => get<Batch>(`/v1/batches/${seg(batchId)}`),
    addEventIds: (batchId: string, eventIds: string[]) => post<AddResult>(`/v1/batches/${seg(batchId)}/events`, { eventIds }),
    addByCriteria: (batchId: string, criteria: Criteria, options: { dryRun?: boolean; cursor?: string } = {}) =>
      post<AddResult>(`/v1/batches/${seg(batchId)}/events`, { criteria, ...options }),
    removeEvents: (batchId: string, request: RemoveRequest) => post<{ removed: number }>(`/v1/batches/${seg(batchId)}/events/remove`, request),
    listMembers: (batchId: string, filter: { state?: string; errorCode?: string }, cursor?: string, limit = 100) =>
      get<Page<Member>>(`/v1/batches/${seg(batchId)}/members${query({ ...filter, cursor, limit })}`),
    listLog: (batchId: string, cursor?: string, limit = 100) => get<Page<LogEntry>>(`/v1/batches/${seg(batchId)}/log${query({ cursor, limit })}`),
    /** The preview and its tag (the ETag header, when the API sends one): submit sends the tag back. */
    getPreview: async (batchId: string) => {
      const answer = await request<Preview>('GET', `/v1/batches/${seg(batchId)}/preview`);
      return { preview: answer.body, tag: answer.headers.get('etag') ?? undefined };
    },
    /**
     * A workflow action (lock, revert, submit, and any the API adds, such as cancel): POST on the
     * action's own path. Submit passes the preview's tag, so that a stale preview is refused.
     */
    act: (batchId: string, action: BatchAction, previewTag?: string) =>
      post<{ batchId: string; status: BatchStatus; executionArn?: string }>(
        `/v1/batches/${seg(batchId)}/${action.toLowerCase().replace(/_/g, '-')}`,
        undefined,
        previewTag ? { 'if-match': previewTag } : {},
      ),

    billLines: (subscriptionId: string) => get<Page<BillLine>>(`/v1/subscriptions/${seg(subscriptionId)}/bill-lines`),

    requestImport: (target: ImportTarget, fileName: string) => post<ImportUpload>('/v1/imports', { ...target, fileName }),
    getImport: (importId: string) => get<ImportStatus>(`/v1/imports/${seg(importId)}`),
    /** The file itself goes straight to the imports bucket, on the URL the API signed. */
    upload: async (upload: ImportUpload['upload'], file: Blob) => {
      const res = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: file });
      if (!res.ok) throw new ApiError(res.status, { type: 'about:blank', title: 'upload failed', status: res.status, code: `UPLOAD_${res.status}`, detail: await res.text() });
    },
  };
}

export type Api = ReturnType<typeof createApi>;
