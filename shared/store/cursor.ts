// Opaque list cursors: base64url JSON of where the next page starts. A tampered cursor is a 400.
import { DomainError } from '../domain/errors';

export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, isValid: (v: unknown) => v is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (isValid(value)) return value;
  } catch {
    // fall through to the refusal below
  }
  throw new DomainError('VALIDATION_FAILED', 'The cursor is not one this API issued', [
    { path: 'query.cursor', code: 'VALIDATION_FAILED', message: 'unknown cursor; start again without it' },
  ]);
}

export const isStringRecord = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
