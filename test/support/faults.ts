// Fault injection on the DynamoDB client the handlers share, aimed at workflow task invocations:
// a write fails before it is sent, or after it was applied with its answer lost (the crash the
// workflows must survive); a read is throttled; or a write stalls past the task's timeout, so the
// workflow's Retry starts a new attempt while this one runs on and then lands its write (the
// "zombie" attempt a Step Functions timeout leaves behind in AWS).
import { currentInvocation } from '../../infra/local/lambda';
import { taskFunctions } from '../../functions/workflow/workflows';
import { clients } from '../../shared/store/clients';
import type { SeededRandom } from './seeded-random';

const TASKS = new Set(Object.keys(taskFunctions));

// Names as the low-level client reports them (the document client's commands run as these).
const WRITES = new Set([
  'TransactWriteItemsCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
]);
const READS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
  'ScanCommand',
]);

/** Probability of each fault per task call. */
export interface FaultRates {
  /** A write fails, half the time before it is sent and half after it was applied (answer lost). */
  writes?: number;
  /** A read is refused with ProvisionedThroughputExceededException. */
  throttledReads?: number;
  /** A write stalls past the task timeout (needs `stall`). */
  timeouts?: number;
}

/** How a stalled write behaves; `timeoutMs` is the stack's task timeout. */
export interface StallOptions {
  timeoutMs: number;
  /**
   * After the timeout, the write waits for up to this many writes of other attempts (the retry's
   * first, most, or all of them: seeded per stall) before it is sent, so it lands before, amid or
   * after the retry's own writes.
   */
  maxWritesAfter: number;
  /** A stall never waits longer than this in all (the workflow may have nothing left to write). */
  maxStallMs: number;
  /** At most this many stalls in a run: each costs a timeout's wait. */
  maxTimeouts?: number;
}

export interface FaultLog {
  /** Writes refused before they were sent. */
  before: number;
  /** Writes applied whose answer was lost. */
  after: number;
  /** Reads refused as throttled. */
  throttled: number;
  /** Writes stalled past the task timeout, by task: each one a timed-out attempt that ran on. */
  timeouts: Record<string, number>;
}

export const faultCount = (log: FaultLog): number =>
  log.before + log.after + log.throttled + Object.values(log.timeouts).reduce((s, n) => s + n, 0);

export const timeoutCount = (log: FaultLog): number => Object.values(log.timeouts).reduce((s, n) => s + n, 0);

export interface Faults {
  log: FaultLog;
  /** No new fault from now on; a write already stalled still lands (the stack's idle() waits for it). */
  stop(): void;
}

/** Installs faults on the shared DynamoDB client; one set at a time (a new set replaces the last). */
export function injectFaults(random: SeededRandom, rates: FaultRates, stall?: StallOptions): Faults {
  const log: FaultLog = { before: 0, after: 0, throttled: 0, timeouts: {} };
  const { writes = 0, throttledReads = 0, timeouts = 0 } = rates;
  if (timeouts > 0 && !stall) throw new Error('timeouts need the stack task timeout (stall options)');
  let active = true;
  let calm = 0;
  // One stalled attempt at a time, and never twice the same attempt: each stall is one timeout.
  // The stalled attempt meets no other fault meanwhile: a sibling write failing first would end
  // the attempt before its timeout (its writes run side by side), and the stall would time nothing out.
  let stalling: object | undefined;
  const stalled = new WeakSet<object>();
  // An attempt a fault already failed may still be writing (its sibling writes run on): a stall
  // there would time nothing out, so such attempts are never stalled.
  const faulted = new WeakSet<object>();
  let writesSent = 0;
  const onWrite = new Set<() => void>();

  const fault = (name: string) => {
    if (invocationOf()) faulted.add(invocationOf()!);
    return Object.assign(new Error('injected fault'), { name });
  };
  const invocationOf = () => currentInvocation.getStore();
  const stallPastTimeout = async (attempt: object, functionName: string) => {
    stalling = attempt;
    stalled.add(attempt);
    log.timeouts[functionName] = (log.timeouts[functionName] ?? 0) + 1;
    const started = Date.now();
    const writesAfter = Math.floor(random.next() * (stall!.maxWritesAfter + 1));
    // The stall is the fault: a slow call, longer than the task may take, so the runner times out.
    await new Promise((resolve) => setTimeout(resolve, stall!.timeoutMs + 10));
    const target = writesSent + writesAfter;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, stall!.maxStallMs - (Date.now() - started)));
      function done() {
        clearTimeout(timer);
        onWrite.delete(check);
        resolve();
      }
      function check() {
        if (writesSent >= target) done();
      }
      onWrite.add(check);
      check();
    });
    stalling = undefined;
  };

  clients.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const invocation = currentInvocation.getStore();
      // Only the workflows' tasks meet faults: they are what must survive them.
      const task = invocation && TASKS.has(invocation.functionName) ? invocation.functionName : undefined;
      const command = context.commandName ?? '';
      const write = task !== undefined && WRITES.has(command);
      const read = task !== undefined && throttledReads > 0 && READS.has(command);
      // After a fault, some calls go through: a retried unit of work must be able to finish.
      const roll = active && (write || read) && invocation !== stalling && calm-- <= 0 ? random.next() : 1;
      if (read && roll < throttledReads) {
        log.throttled++;
        calm = 8;
        throw fault('ProvisionedThroughputExceededException');
      }
      if (write && roll < writes / 2) {
        log.before++;
        calm = 8;
        throw fault('ThrottlingException');
      }
      const stallsLeft = timeoutCount(log) < (stall?.maxTimeouts ?? Infinity);
      if (
        write &&
        roll >= writes &&
        roll < writes + timeouts &&
        stallsLeft &&
        !stalling &&
        !stalled.has(invocation!) &&
        !faulted.has(invocation!)
      ) {
        calm = 8;
        await stallPastTimeout(invocation!, task!);
      }
      const result = await next(args);
      if (write) {
        writesSent++;
        for (const check of [...onWrite]) check();
      }
      if (write && roll >= writes / 2 && roll < writes) {
        log.after++;
        calm = 8;
        throw fault('ThrottlingException');
      }
      return result;
    },
    { step: 'initialize', name: 'injectFaults', override: true },
  );
  return { log, stop: () => (active = false) };
}

export interface HeldWrite {
  /** Resolves once a write matched and is being held. */
  held: Promise<void>;
  /** Sends the held write (and lets its attempt run on). */
  release(): void;
  /**
   * Ends the held attempt as a killed process ends: its write never lands and nothing after it
   * runs (its invocation settles with an error the runner, having timed it out, ignores).
   */
  kill(): void;
}

/**
 * Holds the first task write `match` accepts until `release()`: its attempt stalls there, its
 * task times out and is retried, and the write lands when the test says, e.g. after the batch
 * has finished. `match` sees the command name, the call's input as JSON, and the task's name.
 * A new hold replaces the last one in its `slot`; two holds at once take two slots.
 */
export function holdFirstWrite(
  match: (command: string, inputJson: string, task: string) => boolean,
  slot = 'holdFirstWrite',
): HeldWrite {
  let matched = false;
  let onHeld!: () => void;
  const held = new Promise<void>((resolve) => (onHeld = resolve));
  let release!: () => void;
  let kill!: () => void;
  const released = new Promise<void>((resolve, reject) => {
    release = resolve;
    kill = () =>
      reject(Object.assign(new Error('the process was killed'), { name: 'Runtime.ExitError', killed: true }));
  });
  released.catch(() => undefined);
  clients.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const task = currentInvocation.getStore()?.functionName ?? '';
      const command = context.commandName ?? '';
      if (
        !matched &&
        TASKS.has(task) &&
        WRITES.has(command) &&
        match(
          command,
          JSON.stringify(args.input, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
          task,
        )
      ) {
        matched = true;
        onHeld();
        await released;
      }
      return next(args);
    },
    { step: 'initialize', name: slot, override: true },
  );
  return { held, release, kill };
}

export interface EveryNthWrite {
  /** Writes refused so far. */
  readonly refused: number;
  stop(): void;
}

/**
 * A fault that never lets up: every `n`-th write of `task` fails before it is sent
 * (ThrottlingException, which the workflows retry), for as long as the test runs.
 */
export function failEveryNthWrite(task: string, n: number): EveryNthWrite {
  let writes = 0;
  let refused = 0;
  let active = true;
  clients.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      if (active && currentInvocation.getStore()?.functionName === task && WRITES.has(context.commandName ?? '')) {
        writes++;
        if (writes % n === 0) {
          refused++;
          throw Object.assign(new Error('injected fault'), { name: 'ThrottlingException' });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'failEveryNthWrite', override: true },
  );
  return {
    get refused() {
      return refused;
    },
    stop: () => (active = false),
  };
}
