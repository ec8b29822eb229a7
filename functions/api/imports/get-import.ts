import { z } from 'zod';
import { importStatus } from '../../../shared/services/import-uploads';
import { httpHandler, ok } from '../http-handler';
import { ImportStatusView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Where an import stands: waiting for its file, importing, or its report (with a link to the errors CSV)',
    path: z.object({ importId: z.string().min(1).max(1400) }),
    responses: { 200: ImportStatusView },
    errors: ['NOT_FOUND'],
  },
  async ({ path }) => ok(await importStatus(path.importId)),
);
