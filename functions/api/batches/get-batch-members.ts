import { z } from 'zod';
import { MEMBER_STATES } from '../../../shared/domain/batch';
import { memberPage } from '../../../shared/services/members';
import { requireBatch } from '../../../shared/store/batches';
import { httpHandler, ok } from '../http-handler';
import { ErrorCodeValue, MemberView, Page, memberView } from '../views';
import { Paging } from '../list-query';

const Query = z.object({
  state: z.enum(MEMBER_STATES).optional(),
  errorCode: ErrorCodeValue.optional(),
  ...Paging,
});

export const handler = httpHandler(
  {
    summary: "List a batch's members with their state and any error",
    path: z.object({ batchId: z.uuid() }),
    query: Query,
    responses: { 200: Page(MemberView, 'BatchMemberPage') },
    errors: ['NOT_FOUND'],
  },
  async ({ path, query }) => {
    const batch = await requireBatch(path.batchId);
    const { limit, cursor, state, errorCode } = query;
    // LOCKED and PROCESSED are derived from the batch's status, so the state filter applies to the view.
    const page = await memberPage(batch, errorCode ? { errorCode } : {}, limit, cursor);
    const items = page.items.map((m) => memberView(m, batch)).filter((m) => !state || m.state === state);
    return ok({ items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  },
);
