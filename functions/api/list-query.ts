// The paging query every list route shares: ?limit= (default 100, max 1000) and ?cursor=.
import { z } from 'zod';

export const Paging = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(2048).optional(),
};
