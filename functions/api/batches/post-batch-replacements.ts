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
    .array(
      z.strictObject({
        originalEventId: Id,
        events: z.array(validatedOneByOne(UsageEventInput, 'A replacement event')).max(MAX_REPLACEMENTS_PER_ORIGINAL),
      }),
    )
    .min(1)
    .max(500)
    // One original once per request, and one replacement event id once: a transaction may not
    // touch one item twice, and the request would be ambiguous anyway.
    .superRefine((rows, ctx) => {
      const originals = new Map<string, number>();
      const events = new Map<string, string>();
      rows.forEach((row, i) => {
        const first = originals.get(row.originalEventId);
        if (first !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [i, 'originalEventId'],
            message: `names original ${row.originalEventId} again (first at replacements.${first})`,
          });
        else originals.set(row.originalEventId, i);
        row.events.forEach((e, j) => {
          const eventId = (e as { eventId?: unknown } | undefined)?.eventId;
          if (typeof eventId !== 'string') return;
          const seen = events.get(eventId);
          if (seen !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: [i, 'events', j, 'eventId'],
              message: `repeats replacement event ${eventId} (first at ${seen})`,
            });
          else events.set(eventId, `replacements.${i}.events.${j}`);
        });
      });
    }),
});

export const handler = httpHandler(
  {
    summary: 'Add originals to a REVERSE_REPLACE batch with the events that replace them (none: reverse only)',
    description:
      'Each original is taken by at most one open batch; one that cannot be taken is listed in `rejected` with its code while the rest are added, and the same original with the same replacements again is counted in `already`. ' +
      "Where no other batch holds an event of the original's subscription and register, the batch claims that partition whole: no other batch can take any of its events until this one finishes or lets it go (removing its last original there lets it go). " +
      "A claimed original is not shown with `heldBy` in the usage-event list; the batch's members list shows it.",
    path: z.object({ batchId: z.uuid() }),
    body: Body,
    responses: { 200: AddReplacementsResultView },
    errors: ['NOT_FOUND', 'INVALID_TRANSITION', 'ACTION_NOT_ALLOWED_FOR_TYPE'],
  },
  async ({ path, body, actor }) => {
    const result = await addReplacementsToBatch(path.batchId, body.replacements, actor, new Date().toISOString());
    return ok({ ...result, already: result.already.length });
  },
);
