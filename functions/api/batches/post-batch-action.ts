// POST /v1/batches/{batchId}/lock | /revert | /submit: one handler, the action taken from the path.
import { z } from 'zod';
import { requestAction, type WorkflowAction } from '../../../shared/services/batch-actions';
import { accepted, httpHandler } from '../http-handler';

export const actionHandler = (action: WorkflowAction) =>
  httpHandler({ path: z.object({ batchId: z.uuid() }) }, async ({ path, actor }) => accepted(await requestAction(action, path.batchId, actor, new Date().toISOString())));
