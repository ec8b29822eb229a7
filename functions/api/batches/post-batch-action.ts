// POST /v1/batches/{batchId}/lock | /revert | /submit: one handler, the action taken from the path.
import { z } from 'zod';
import type { ErrorCode } from '../../../shared/domain/errors';
import { requestAction, type WorkflowAction } from '../../../shared/services/batch-actions';
import { accepted, httpHandler } from '../http-handler';
import { ActionAcceptedView } from '../views';

const summaries: Record<WorkflowAction, string> = {
  lock: 'Lock a DRAFT batch for review: checks every member, holds related events and builds the exact preview',
  revert: 'Revert a locked batch (or a lock or revert that failed) to DRAFT for editing',
  submit: 'Submit a LOCKED batch: apply exactly what the preview shows',
};

const errors: readonly ErrorCode[] = ['NOT_FOUND', 'INVALID_TRANSITION', 'ACTION_NOT_ALLOWED_FOR_TYPE'];

export const actionHandler = (action: WorkflowAction) =>
  httpHandler(
    {
      summary: summaries[action],
      description: 'Answers 202 once the workflow has started; poll GET /v1/batches/{batchId} until its status settles.',
      path: z.object({ batchId: z.uuid() }),
      responses: { 202: ActionAcceptedView },
      errors,
    },
    async ({ path, actor }) => accepted(await requestAction(action, path.batchId, actor, new Date().toISOString())),
  );
