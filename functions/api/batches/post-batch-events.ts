import { z } from 'zod';
import { Criteria, MAX_ADD_PER_CALL } from '../../../shared/domain/batch';
import { Id } from '../../../shared/domain/values';
import { addByCriteria, addEventIds, countByCriteria } from '../../../shared/services/batches';
import { httpHandler, ok } from '../http-handler';
import { AddEventsResultView } from '../views';

const Body = z.union([
  z.strictObject({ eventIds: z.array(Id).min(1).max(MAX_ADD_PER_CALL) }),
  z.strictObject({ criteria: Criteria, dryRun: z.boolean().default(false), cursor: z.string().max(2048).optional() }),
]);

export const handler = httpHandler(
  {
    summary: 'Add usage events to a batch, by id or by criteria (with a dry-run count)',
    description:
      'Each event is held by at most one open batch; one that cannot be held is listed in `rejected` with its code while the rest are added. ' +
      'Criteria add at most 1,000 events per call: send the same criteria again with `cursor` while `nextCursor` comes back. ' +
      'Criteria naming `subscriptionIds` (RATING and RERATE batches) hold each subscription and register whole: no other batch can take any of its events until this one finishes or lets it go, and the members are the events the criteria take when the batch is locked.',
    path: z.object({ batchId: z.uuid() }),
    body: Body,
    responses: { 200: AddEventsResultView },
    errors: ['NOT_FOUND', 'INVALID_TRANSITION', 'ACTION_NOT_ALLOWED_FOR_TYPE', 'CRITERIA_TOO_BROAD'],
  },
  async ({ path, body, actor }) => {
    const now = new Date().toISOString();
    if ('eventIds' in body) return ok(await addEventIds(path.batchId, body.eventIds, actor, now));
    if (body.dryRun) return ok(await countByCriteria(path.batchId, body.criteria));
    return ok(await addByCriteria(path.batchId, body.criteria, actor, now, body.cursor));
  },
);
