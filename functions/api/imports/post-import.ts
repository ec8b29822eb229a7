import { z } from 'zod';
import { requestUpload } from '../../../shared/services/import-uploads';
import { created, httpHandler } from '../http-handler';

const FileName = z.string().trim().min(1).max(255);
const Body = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('usage-events'), fileName: FileName }),
  z.strictObject({ kind: z.literal('batch-events'), batchId: z.uuid(), fileName: FileName }),
  z.strictObject({ kind: z.literal('batch-replacements'), batchId: z.uuid(), fileName: FileName }),
]);

export const handler = httpHandler({ body: Body }, async ({ body, actor }) => {
  const { fileName, ...target } = body;
  return created(await requestUpload(target, fileName, actor, new Date().toISOString()));
});
