// The dashboard's one way to the HTTP API: every call it makes, typed. The types are those of
// docs/openapi.json, generated into api-schema.ts by `npm run openapi`: this file only names them.

import type { components, operations } from './api-schema';

// ---- types --------------------------------------------------------------------------------------

type Schemas = components['schemas'];
/** The JSON body an operation takes. */
type RequestBody<Op extends keyof operations> = operations[Op] extends {
  requestBody: { content: { 'application/json': infer B } };
}
  ? B
  : never;
/** The query an operation takes. */
type Query<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;

/**
 * A list of every value of a generated enum, for selects and filters: compiling fails when the
 * document gains or loses a value the list does not.
 */
const everyValue =
  <T extends string>() =>
  <const A extends readonly T[]>(
    values: A & ([T] extends [A[number]] ? unknown : { missing: Exclude<T, A[number]> }),
  ): A =>
    values;

/** Quantities and money are decimal strings in every answer: never parsed into floats. */
export type Decimal = Schemas['Decimal'];
/** An ISO 8601 instant. */
export type Instant = Schemas['Timestamp'];

/**
 * application/problem+json. The dashboard also makes problems of its own for answers that are not
 * the API's (`HTTP_502` from a gateway, `UPLOAD_403` from the bucket), so a code is any string,
 * with the document's codes offered first.
 */
export type Problem = Omit<Schemas['Problem'], 'code'> & { code: Schemas['ErrorCode'] | (string & {}) };

export type UsageEvent = Schemas['UsageEvent'];
export type EventStatus = UsageEvent['status'];
export const EVENT_STATUSES = everyValue<EventStatus>()(['LOADED', 'RATED', 'EXCLUDED', 'REVERSED']);
export type EventFilter = Omit<Query<'getUsageEvents'>, 'cursor' | 'limit'>;
export type EventLineage = Schemas['EventLineage'];
export type LineageEvent = EventLineage['events'][number];

export type Batch = Schemas['Batch'];
export type BatchType = Batch['type'];
export const BATCH_TYPES = everyValue<BatchType>()(['RATING', 'RERATE', 'REVERSE_REPLACE', 'UNDO']);
export type BatchStatus = Batch['status'];
export const BATCH_STATUSES = everyValue<BatchStatus>()([
  'DRAFT',
  'LOCKING',
  'LOCKED',
  'REVERTING',
  'PROCESSING',
  'COMPLETED',
  'COMPLETED_WITH_ERRORS',
  'FAILED',
  'CANCELLED',
]);
export type BatchAction = Batch['allowedActions'][number];
export type NewBatch = RequestBody<'postBatch'>;
/** Types a batch is created with (an UNDO batch comes from POST /v1/batches/{batchId}/undo). */
export type CreatableBatchType = NewBatch['type'];
export const CREATABLE_BATCH_TYPES = everyValue<CreatableBatchType>()(['RATING', 'RERATE', 'REVERSE_REPLACE']);

export type AddResult = Schemas['AddEventsResult'];
export type Refusal = AddResult['rejected'][number];
export type Criteria = Extract<RequestBody<'postBatchEvents'>, { criteria: unknown }>['criteria'];
export type RemoveRequest = RequestBody<'postBatchEventsRemove'>;

export type Member = Schemas['BatchMember'];
export type MemberState = Member['state'];
export const MEMBER_STATES = everyValue<MemberState>()(['HELD', 'LOCKED', 'ERROR', 'PROCESSED', 'FAILED']);
export type LogEntry = Schemas['BatchLogEntry'];

export type Preview = Schemas['Preview'];
export type BillLine = Schemas['BillLine'];

export type ImportTarget = Schemas['ImportTarget'];
export type ImportKind = ImportTarget['kind'];
export type ImportUpload = Schemas['ImportUpload'];
export type ImportStatus = Schemas['ImportStatus'];

// ---- transport ----------------------------------------------------------------------------------

/** Sends one request: locally with the X-Actor header, in AWS signed with SigV4 (aws-auth.ts). */
export type Send = (
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<Response>;

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
  async function request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
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
        : {
            type: 'about:blank',
            title: res.statusText,
            status: res.status,
            code: `HTTP_${res.status}`,
            detail: (json as { message?: string } | undefined)?.message ?? (text || res.statusText),
          };
      throw new ApiError(res.status, problem);
    }
    return { body: json as T, headers: res.headers };
  }
  const get = async <T>(path: string) => (await request<T>('GET', path)).body;
  const post = async <T>(path: string, body?: unknown, headers?: Record<string, string>) =>
    (await request<T>('POST', path, body, headers)).body;

  return {
    listUsageEvents: (filter: EventFilter, cursor?: string, limit = 50) =>
      get<Schemas['UsageEventPage']>(`/v1/usage-events${query({ ...filter, cursor, limit })}`),
    getUsageEvent: (eventId: string) => get<UsageEvent>(`/v1/usage-events/${seg(eventId)}`),
    getLineage: (eventId: string) => get<EventLineage>(`/v1/usage-events/${seg(eventId)}/lineage`),

    listBatches: (filter: { status?: string; type?: string }, cursor?: string, limit = 50) =>
      get<Schemas['BatchPage']>(`/v1/batches${query({ ...filter, cursor, limit })}`),
    createBatch: (batch: NewBatch) => post<Batch>('/v1/batches', batch),
    getBatch: (batchId: string) => get<Batch>(`/v1/batches/${seg(batchId)}`),
    addEventIds: (batchId: string, eventIds: string[]) =>
      post<AddResult>(`/v1/batches/${seg(batchId)}/events`, { eventIds }),
    addByCriteria: (batchId: string, criteria: Criteria, options: { dryRun?: boolean; cursor?: string } = {}) =>
      post<AddResult>(`/v1/batches/${seg(batchId)}/events`, { criteria, ...options }),
    removeEvents: (batchId: string, request: RemoveRequest) =>
      post<Schemas['RemoveResult']>(`/v1/batches/${seg(batchId)}/events/remove`, request),
    listMembers: (batchId: string, filter: { state?: string; errorCode?: string }, cursor?: string, limit = 100) =>
      get<Schemas['BatchMemberPage']>(`/v1/batches/${seg(batchId)}/members${query({ ...filter, cursor, limit })}`),
    listLog: (batchId: string, cursor?: string, limit = 100) =>
      get<Schemas['BatchLogPage']>(`/v1/batches/${seg(batchId)}/log${query({ cursor, limit })}`),
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
      post<Schemas['ActionAccepted']>(
        `/v1/batches/${seg(batchId)}/${action.toLowerCase().replace(/_/g, '-')}`,
        undefined,
        previewTag ? { 'if-match': previewTag } : {},
      ),

    /** Undo of a COMPLETED batch: the new UNDO batch (DRAFT), to lock, review and submit. */
    undo: (batchId: string) => post<Batch>(`/v1/batches/${seg(batchId)}/undo`, {}),

    billLines: (subscriptionId: string) =>
      get<Schemas['BillLineList']>(`/v1/subscriptions/${seg(subscriptionId)}/bill-lines`),

    requestImport: (target: ImportTarget, fileName: string) =>
      post<ImportUpload>('/v1/imports', { ...target, fileName }),
    getImport: (importId: string) => get<ImportStatus>(`/v1/imports/${seg(importId)}`),
    /** The file itself goes straight to the imports bucket, on the URL the API signed. */
    upload: async (upload: ImportUpload['upload'], file: Blob) => {
      const res = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: file });
      if (!res.ok)
        throw new ApiError(res.status, {
          type: 'about:blank',
          title: 'upload failed',
          status: res.status,
          code: `UPLOAD_${res.status}`,
          detail: await res.text(),
        });
    },
  };
}

export type Api = ReturnType<typeof createApi>;
