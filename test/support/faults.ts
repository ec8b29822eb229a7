// Fault injection on the DynamoDB client the handlers share: a write fails before it is sent,
// or after it was applied with its answer lost (the crash the workflows must survive).
import { currentInvocation } from '../../infra/local/lambda';
import { taskFunctions } from '../../functions/workflow/workflows';
import { clients } from '../../shared/store/clients';

const TASKS = new Set(Object.keys(taskFunctions));

// Names as the low-level client reports them (the document client's commands run as these).
const WRITES = new Set(['TransactWriteItemsCommand', 'PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand']);

/** Deterministic pseudo-random numbers (mulberry32): a seed names a run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultLog {
  before: number;
  after: number;
}

/** Installs faults with probability `p` per write; returns the log and a switch to stop them. */
export function injectFaults(random: () => number, p: number): { log: FaultLog; stop(): void } {
  const log: FaultLog = { before: 0, after: 0 };
  let active = true;
  let calm = 0;
  const fault = () => Object.assign(new Error('injected fault'), { name: 'ThrottlingException' });
  clients.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      // Only the workflows' tasks meet faults: they are what must survive them.
      const write = WRITES.has(context.commandName ?? '') && TASKS.has(currentInvocation.getStore()?.functionName ?? '');
      // After a fault, some writes go through: a retried unit of work must be able to finish.
      const roll = active && write && calm-- <= 0 ? random() : 1;
      if (roll < p / 2) {
        log.before++;
        calm = 8;
        throw fault();
      }
      const result = await next(args);
      if (roll < p) {
        log.after++;
        calm = 8;
        throw fault();
      }
      return result;
    },
    { step: 'initialize', name: 'injectFaults', override: true },
  );
  return { log, stop: () => (active = false) };
}
