import { z } from 'zod';
import { MAX_REPLACEMENTS_PER_ORIGINAL } from '../../../shared/domain/batch';
import { UsageEventInput } from '../../../shared/domain/usage-event';
import { Id } from '../../../shared/domain/values';
import { validatedOneByOne } from '../contract';
import { addReplacementsToBatch } from '../../../shared/services/batches';
import { httpHandler, ok } from '../http-handler';
import { AddReplacementsResultView } from '../views';

// Replacement events are validated one by one, so a bad one rejects only its original.
const Body = z.strictObject({
  replacements: z
    .array(z.strictObject({ originalEventId: Id, events: z.array(validatedOneByOne(UsageEventInput, 'A replacement event')).max(MAX_REPLACEMENTS_PER_ORIGINAL) }))
    .min(1)
    .max(500),
});

export const handler = httpHandler(
  {
    summary: 'Add originals to a REVERSE_REPLACE batch with the events that replace them (none: reverse only)',
    path: z.object({ batchId: z.uuid() }),
    body: Body,
    responses: { 200: AddReplacementsResultView },
    errors: ['NOT_FOUND', 'INVALID_TRANSITION', 'ACTION_NOT_ALLOWED_FOR_TYPE'],
  }, async ({ path, body, actor }) => {
  const result = await addReplacementsToBatch(path.batchId, body.replacements, actor, new Date().toISOString());
  return ok({ ...result, already: result.already.length });
});
