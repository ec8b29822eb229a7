// What a route promises, kept with its handler: the zod schemas its input is validated with,
// the schema of each success answer, and the refusals it makes beyond those every route makes.
// httpHandler validates with it; the OpenAPI document (infra/openapi/) is generated from it.
import { z } from 'zod';
import type { ErrorCode } from '../../shared/domain/errors';

export type SuccessStatus = 200 | 201 | 202;

export interface Contract<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  H extends z.ZodType = z.ZodType,
> {
  /** One line: what the route does. */
  summary: string;
  /** What a newcomer needs beyond the summary (Markdown). */
  description?: string;
  path?: P;
  query?: Q;
  body?: B;
  /** Request headers the route reads besides Idempotency-Key and X-Actor (names in lower case). */
  headers?: H;
  /** Each success status with the schema of its body. */
  responses: Partial<Record<SuccessStatus, z.ZodType>>;
  /** Codes the route may answer besides VALIDATION_FAILED and INTERNAL (and, with a body or on POST/PUT, those of the body and the key). */
  errors?: readonly ErrorCode[];
}

/** Codes every route may answer, by what the route takes. */
export function commonErrors(method: string, hasBody: boolean): ErrorCode[] {
  const codes: ErrorCode[] = ['VALIDATION_FAILED', 'INTERNAL'];
  if (hasBody) codes.push('UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE');
  // Idempotency-Key: a key reused for another request, or one whose first request still runs.
  if (method === 'POST' || method === 'PUT') codes.push('IDEMPOTENCY_KEY_REUSED', 'CONFLICT');
  return codes;
}

/** Idempotency-Key, honoured on every POST and PUT. */
export const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 visible ASCII characters')
  .meta({
    description: 'Makes a retry safe: the same key and request answer the first answer again. Scoped to the caller.',
    example: 'import-2026-03-01-0001',
  });

/** The caller's name where no IAM identity exists (the local stack): recorded as sent, so never cut. */
export const MAX_ACTOR_LENGTH = 200;
export const ActorHeader = z.string().max(MAX_ACTOR_LENGTH, `must be at most ${MAX_ACTOR_LENGTH} characters`).meta({
  description:
    'Local stack only: who is calling, as recorded in logs and audit entries (absent: `anonymous`). In AWS the IAM principal is the caller and this header is ignored.',
  example: 'alice',
});

/**
 * An item the service validates on its own, so one bad item is rejected in the answer rather than
 * sinking the request: the document shows the shape each item must have (zod's own JSON Schema
 * of `schema`) and, as the request does, takes anything else.
 */
export function validatedOneByOne(schema: z.ZodType, what: string) {
  const { $schema: _, $defs: __, ...shape } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  // Named parts (Id, Instant, …) are components of the document, as everywhere else in it.
  const refs = JSON.parse(JSON.stringify(shape).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<
    string,
    unknown
  >;
  // The request takes anything here, so the document says so: the shape, or anything else (rejected alone).
  return z.unknown().meta({
    description: `${what}: validated one by one; a bad one is listed in \`rejected\` with its index and code while the others go on.`,
    anyOf: [refs, { description: 'Anything else is rejected in the answer, not the request.' }],
  });
}
