import { pingTable } from '../../shared/store/health';
import { httpHandler, ok } from './http-handler';
import { HealthView } from './views';

export const handler = httpHandler(
  { summary: 'Check that the API and its table answer', responses: { 200: HealthView } },
  async () => ok({ status: 'ok', table: { latencyMs: await pingTable() } }),
);
