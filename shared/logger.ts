// Structured JSON logs (Powertools Logger: the de-facto Lambda logger, keeps CloudWatch Insights queries simple).
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({
  serviceName: 'usage-corrections',
  logLevel: (process.env.LOG_LEVEL as 'INFO' | 'DEBUG' | 'WARN' | 'ERROR' | 'SILENT' | undefined) ?? 'INFO',
});
