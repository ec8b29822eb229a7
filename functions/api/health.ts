import { pingTable } from '../../shared/store/health';
import { httpHandler, ok } from './http-handler';

export const handler = httpHandler({}, async () => ok({ status: 'ok', table: { latencyMs: await pingTable() } }));
