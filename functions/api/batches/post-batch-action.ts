// POST /v1/batches/{batchId}/lock | /revert | /submit: one handler, the action taken from the path.
import { z } from 'zod';
import type { ErrorCode } from '../../../shared/domain/errors';
import { requestAction, type WorkflowAction } from '../../../shared/services/batch-actions';
import { checkApproval, logApproval } from '../../../shared/services/approval';
import { requireCurrentPreview } from '../../../shared/services/preview';
import { accepted, httpHandler } from '../http-handler';
import { ActionAcceptedView } from '../views';

const summaries: Record<Exclude<WorkflowAction, 'cancel'>, string> = {
  lock: 'Lock a DRAFT batch for review: checks every member, holds related events and builds the exact preview',
  revert: 'Revert a locked batch (or a lock or revert that failed) to DRAFT for editing',
  submit: 'Submit a LOCKED batch: apply exactly what the preview shows',
};

const errors: Record<Exclude<WorkflowAction, 'cancel'>, readonly ErrorCode[]> = {
  lock: ['NOT_FOUND', 'INVALID_TRANSITION', 'ACTION_NOT_ALLOWED_FOR_TYPE', 'BATCH_EMPTY'],
  revert: ['NOT_FOUND', 'INVALID_TRANSITION', 'ACTION_NOT_ALLOWED_FOR_TYPE'],
  submit: ['NOT_FOUND', 'INVALID_TRANSITION', 'ACTION_NOT_ALLOWED_FOR_TYPE', 'BATCH_EMPTY'],
};

const IfMatch = z.string().max(2000).meta({
  description:
    "The preview's `ETag` (GET /v1/batches/{batchId}/preview): submit only if the preview is still exactly that one, else 412 PREVIEW_STALE. Required when the batch needs approval (428 APPROVAL_REQUIRED without it).",
});

export const actionHandler = (action: Exclude<WorkflowAction, 'cancel'>) =>
  action === 'submit'
    ? httpHandler(
        {
          summary: summaries[action],
          description:
            'Answers 202 once the workflow has started; poll GET /v1/batches/{batchId} until its status settles. With `If-Match`, only the preview of that tag is submitted: a preview that changed or went stale answers 412 PREVIEW_STALE and nothing starts. Without it, submit still writes nothing that differs from the preview: a subscription whose inputs moved after lock is not applied, and its members end FAILED with PREVIEW_STALE. When the batch needs four-eyes approval (its view says `approval.required`), the one who locked it is refused 403 SAME_ACTOR, and anyone else must send `If-Match` (428 APPROVAL_REQUIRED without it); approvals and refusals are in the batch log with their actor.',
          path: z.object({ batchId: z.uuid() }),
          headers: z.object({ 'if-match': IfMatch.optional() }),
          responses: { 202: ActionAcceptedView },
          errors: [...errors[action], 'PREVIEW_STALE', 'APPROVAL_REQUIRED', 'SAME_ACTOR'],
        },
        async ({ path, actor, headers }) => {
          const now = new Date().toISOString();
          const ifMatch = headers['if-match'];
          const approval = await checkApproval(path.batchId, actor, ifMatch, now);
          await requireCurrentPreview(path.batchId, ifMatch);
          // Only the version approval read is submitted: a re-lock in between refuses it.
          const started = await requestAction(action, path.batchId, actor, now, approval.version);
          if (approval.approved) await logApproval(path.batchId, actor, approval.lockedBy, ifMatch ?? '', now);
          return accepted(started);
        },
      )
    : httpHandler(
        {
          summary: summaries[action],
          description:
            'Answers 202 once the workflow has started; poll GET /v1/batches/{batchId} until its status settles.',
          path: z.object({ batchId: z.uuid() }),
          responses: { 202: ActionAcceptedView },
          errors: errors[action],
        },
        async ({ path, actor }) => accepted(await requestAction(action, path.batchId, actor, new Date().toISOString())),
      );
