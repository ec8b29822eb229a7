// Placeholder so the stack bundles: the real CSV import is being written in its own issue.
// It throws, so a notification that arrives before then lands in the dead-letter queue, not nowhere.
import type { S3Event } from 'aws-lambda';
import { logger } from '../../shared/logger';

export const handler = async (event: S3Event): Promise<void> => {
  logger.error('CSV import is not implemented yet', { keys: event.Records.map((r) => r.s3.object.key) });
  throw new Error('CSV import is not implemented yet');
};
