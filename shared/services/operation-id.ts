// Ids of operations (transfers, moves, adjustments, open items). With an Idempotency-Key the id
// derives from it and the caller, so a retry that outlives the key's record (a crash after the
// write, a released key) meets the item the first attempt wrote instead of doing it twice.
import { createHash, randomUUID } from 'node:crypto';

/** Hex, so the id is a valid `Id` wherever it appears in a path. */
export function operationId(scope: readonly string[], actor: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return randomUUID();
  return createHash('sha256')
    .update([...scope, actor, idempotencyKey].join('\n'))
    .digest('hex')
    .slice(0, 32);
}
