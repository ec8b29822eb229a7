// Runs a Lambda handler in this process: the very module and `handler` export AWS runs.
import { AsyncLocalStorage } from 'node:async_hooks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { lambdaContext } from './api-gateway-event';
import { projectRoot } from './dynamodb-local';

export type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** The function whose invocation is running (one store object per invocation): lets a test aim faults at workflow tasks only. */
export const currentInvocation = new AsyncLocalStorage<{ functionName: string }>();

/**
 * Invocations so far and their summed duration, by function: what a Lambda bill counts; and the
 * longest one, which a deployed function's timeout would have to allow (this runner has none).
 */
export const invocationTally = new Map<string, { count: number; seconds: number; longest: number }>();

/** Imports a module named from the project root (route table, workflow list); its `handler` export must be a function. */
export async function loadHandlerModule(modulePath: string): Promise<{ handler: Handler }> {
  // import() caches modules, so a handler's cold start happens once per process, as in a warm Lambda.
  const mod = (await import(pathToFileURL(join(projectRoot, modulePath)).href)) as { handler?: unknown };
  if (typeof mod.handler !== 'function') throw new Error(`${modulePath} has no handler export`);
  return mod as { handler: Handler };
}

/** Calls the `handler` export of a module named from the project root. */
export async function invokeHandler(modulePath: string, functionName: string, event: unknown): Promise<unknown> {
  return invokeFunction(functionName, (await loadHandlerModule(modulePath)).handler, event);
}

/** One invocation of a function, with its Lambda context, counted in the tally. */
export async function invokeFunction(functionName: string, handler: Handler, event: unknown): Promise<unknown> {
  const start = performance.now();
  try {
    return await currentInvocation.run({ functionName }, () => handler(event, lambdaContext(functionName)));
  } finally {
    const tally = invocationTally.get(functionName) ?? { count: 0, seconds: 0, longest: 0 };
    const seconds = (performance.now() - start) / 1000;
    invocationTally.set(functionName, {
      count: tally.count + 1,
      seconds: tally.seconds + seconds,
      longest: Math.max(tally.longest, seconds),
    });
  }
}
