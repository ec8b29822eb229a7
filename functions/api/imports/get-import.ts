import { z } from 'zod';
import { importStatus } from '../../../shared/services/import-uploads';
import { httpHandler, ok } from '../http-handler';

export const handler = httpHandler({ path: z.object({ importId: z.string().min(1).max(1400) }) }, async ({ path }) => ok(await importStatus(path.importId)));
