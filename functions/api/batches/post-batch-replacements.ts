import { z } from 'zod';
import { MAX_REPLACEMENTS_PER_ORIGINAL } from '../../../shared/domain/batch';
import { Id } from '../../../shared/domain/values';
import { addReplacementsToBatch } from '../../../shared/services/batches';
import { httpHandler, ok } from '../http-handler';

// Replacement events are validated one by one, so a bad one rejects only its original.
const Body = z.strictObject({
  replacements: z
    .array(z.strictObject({ originalEventId: Id, events: z.array(z.unknown()).max(MAX_REPLACEMENTS_PER_ORIGINAL) }))
    .min(1)
    .max(500),
});

export const handler = httpHandler({ path: z.object({ batchId: z.uuid() }), body: Body }, async ({ path, body, actor }) => {
  const result = await addReplacementsToBatch(path.batchId, body.replacements, actor, new Date().toISOString());
  return ok({ ...result, already: result.already.length });
});
