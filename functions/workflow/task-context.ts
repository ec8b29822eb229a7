// What every workflow task shares: a clock, a time budget per invocation, and Catch payloads.
import type { Context } from 'aws-lambda';
import { isErrorCode, type ErrorCode } from '../../shared/domain/errors';
import { asTaskError } from '../../shared/store/errors';

/** Work per invocation before returning a cursor; keeps each task well inside its timeout. */
const DEFAULT_BUDGET_MS = 45_000;

export function deadlineOf(context: Context | undefined): number {
  const configured = Number(process.env.WORKFLOW_CHUNK_BUDGET_MS ?? DEFAULT_BUDGET_MS);
  const remaining = context?.getRemainingTimeInMillis?.() ?? Infinity;
  return Date.now() + Math.max(0, Math.min(configured, remaining - 30_000));
}

export const now = () => new Date().toISOString();

/** A workflow task's handler: its failures carry names a Retry can match (shared/store/errors.ts). */
export const task =
  <I, O>(run: (input: I, context?: Context) => Promise<O>) =>
  async (input: I, context?: Context): Promise<O> => {
    try {
      return await run(input, context);
    } catch (err) {
      throw asTaskError(err);
    }
  };

/** The error a Catch hands on: `{ Error, Cause }`, where Cause is the Lambda error as JSON. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

/**
 * The batch's lastError and its members' codes are the stable codes of shared/domain/errors.ts:
 * a DomainError crosses the Lambda boundary with its code as its name (the payload's errorType,
 * the Catch's Error); anything else caught (States.Timeout, an SDK error's name) becomes
 * INTERNAL, its name kept in the message.
 */
export function describeCaught(caught: CaughtError | undefined): { code: ErrorCode; message: string } {
  let message = caught?.Cause ?? 'unknown failure';
  let code = caught?.Error ?? 'INTERNAL';
  try {
    const cause = JSON.parse(message) as { errorMessage?: string; errorType?: string; code?: string };
    message = cause.errorMessage ?? message;
    code = cause.code ?? code;
  } catch {
    // Cause was not JSON; keep it as it is.
  }
  if (isErrorCode(code)) return { code, message: message.slice(0, 1000) };
  return { code: 'INTERNAL', message: `${code === 'DomainError' ? '' : `${code}: `}${message}`.slice(0, 1000) };
}
