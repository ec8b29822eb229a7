import { z } from 'zod';
import { requestUpload } from '../../../shared/services/import-uploads';
import { created, httpHandler } from '../http-handler';
import { ImportUploadView } from '../views';

const FileName = z.string().trim().min(1).max(255);
const Body = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('usage-events'), fileName: FileName }),
  z.strictObject({ kind: z.literal('batch-events'), batchId: z.uuid(), fileName: FileName }),
  z.strictObject({ kind: z.literal('batch-replacements'), batchId: z.uuid(), fileName: FileName }),
]);

export const handler = httpHandler(
  {
    summary:
      "An upload URL for a CSV file (usage events, or a draft batch's events or replacements): PUT the file there and the S3 drop imports it",
    body: Body,
    responses: { 201: ImportUploadView },
    errors: ['NOT_FOUND', 'INVALID_TRANSITION', 'ACTION_NOT_ALLOWED_FOR_TYPE'],
  },
  async ({ body, actor }) => {
    const { fileName, ...target } = body;
    return created(await requestUpload(target, fileName, actor, new Date().toISOString()));
  },
);
