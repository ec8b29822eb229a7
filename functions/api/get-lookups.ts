import { lookups } from '../../shared/domain/lookups';
import { httpHandler, ok } from './http-handler';
import { LookupsView } from './views';

export const handler = httpHandler(
  {
    summary: 'List the codes, types, statuses and actions a client must handle',
    description:
      'Every error code with its HTTP status and meaning, batch types and statuses, the actions each type allows in each status, and the limits of one call.',
    responses: { 200: LookupsView },
  },
  async () => ok(lookups()),
);
