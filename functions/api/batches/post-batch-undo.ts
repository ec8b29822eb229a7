import { z } from 'zod';
import { requestUndo, UndoInput } from '../../../shared/services/undo';
import { created, httpHandler } from '../http-handler';
import { BatchView, batchView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Undo a completed batch: a new UNDO batch (DRAFT) holding exactly the events it changed',
    description:
      'The UNDO batch is locked (the preview shows the way back), approved and submitted like any batch, under the same AR and ledger-close rules (options.arPolicy defaults to the original’s). Once submitted, every event, register and bill line the original changed is as it was before it ran, written as new history: an event it reversed comes back as a new event that `restores` it, a replacement it inserted is reversed, a re-rated event gets the rating it had, a rated one is LOADED again. The original names it in `undoneBy`, the undo names the original in `undoes`.',
    path: z.object({ batchId: z.uuid() }),
    body: UndoInput,
    responses: { 201: BatchView },
    errors: ['NOT_FOUND', 'BATCH_NOT_UNDOABLE', 'BATCH_ALREADY_UNDONE', 'EVENTS_CHANGED_SINCE', 'FUTURE_DATED'],
  },
  async ({ path, body, actor }) =>
    created(batchView(await requestUndo(path.batchId, body, actor, new Date().toISOString()))),
);
