// The paging query every list route shares: ?limit= (default 100, max 1000) and ?cursor=.
import { z } from 'zod';
import { MAX_PAGE_LIMIT } from '../../shared/domain/lookups';

export const Paging = {
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(100),
  cursor: z.string().max(2048).optional(),
};
