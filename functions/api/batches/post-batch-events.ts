import { z } from 'zod';
import { Criteria, MAX_ADD_PER_CALL } from '../../../shared/domain/batch';
import { Id } from '../../../shared/domain/values';
import { addByCriteria, addEventIds, countByCriteria } from '../../../shared/services/batches';
import { httpHandler, ok } from '../http-handler';

const Body = z.union([
  z.strictObject({ eventIds: z.array(Id).min(1).max(MAX_ADD_PER_CALL) }),
  z.strictObject({ criteria: Criteria, dryRun: z.boolean().default(false), cursor: z.string().max(2048).optional() }),
]);

export const handler = httpHandler({ path: z.object({ batchId: z.uuid() }), body: Body }, async ({ path, body, actor }) => {
  const now = new Date().toISOString();
  if ('eventIds' in body) return ok(await addEventIds(path.batchId, body.eventIds, actor, now));
  if (body.dryRun) return ok(await countByCriteria(path.batchId, body.criteria));
  return ok(await addByCriteria(path.batchId, body.criteria, actor, now, body.cursor));
});
