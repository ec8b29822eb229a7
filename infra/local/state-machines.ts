// The workflow list's ASL files made runnable in this process, as CDK deploys them: every
// `${<Task>FunctionArn}` replaced by that function's ARN, and every Task state, at any depth of
// Map or Parallel, run by its task function's handler module.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine, type RunOptions, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { substitutionKey, type TaskFunction, type Workflow } from '../../functions/workflow/workflows';
import { projectRoot } from './dynamodb-local';
import { invokeHandler } from './lambda';

// The runner calls Promise.withResolvers, which Node 22 (Lambda's runtime) has and Node 20 lacks.
const promiseStatics = Promise as { withResolvers?: unknown };
promiseStatics.withResolvers ??= <T>() => {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

/** A workflow of the list, with any task names: tests run their own fixtures. */
export type WorkflowSpec = Omit<Workflow, 'tasks'> & { tasks: readonly string[] };
export type TaskFunctionSpec = Pick<TaskFunction, 'handler'>;

type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type JsonValue = ReturnType<TaskHandlers[string]> extends infer R ? Awaited<R> : never;

const localAccountId = '000000000000';
const functionArn = (region: string, task: string) => `arn:aws:lambda:${region}:${localAccountId}:function:${task}`;
const stateMachineArn = (region: string, name: string) =>
  `arn:aws:states:${region}:${localAccountId}:stateMachine:${name}`;

/** Step Functions refuses a state's data beyond 256 KiB; failing the same way here catches it before AWS does. */
const PAYLOAD_LIMIT_BYTES = 256 * 1024;

export interface LocalStateMachine {
  name: string;
  arn: string;
  createdAt: Date;
  runner: StateMachine;
  /** The function ARN each Task state invokes, by state name. */
  taskResources: ReadonlyMap<string, string>;
  taskHandlers: TaskHandlers;
}

export interface StateMachines {
  byArn: ReadonlyMap<string, LocalStateMachine>;
  /**
   * Resolves when no task function is running: an aborted execution's task, or an attempt its
   * Task's timeout gave up on, still finishes, as a Lambda does.
   */
  idle(): Promise<void>;
}

export interface LoadOptions {
  /**
   * Local and test use only: replaces every Task's TimeoutSeconds (fractions allowed) in the
   * loaded definition; the ASL files stay as they are. A timed-out task is retried while its
   * invocation runs on, as in AWS, so tests can race a retry against the attempt it replaced.
   */
  taskTimeoutSeconds?: number;
}

export function loadStateMachines(
  workflows: Readonly<Record<string, WorkflowSpec>>,
  taskFunctions: Readonly<Record<string, TaskFunctionSpec>>,
  region: string,
  options: LoadOptions = {},
): StateMachines {
  const { taskTimeoutSeconds } = options;
  if (taskTimeoutSeconds !== undefined && !(taskTimeoutSeconds > 0 && Number.isFinite(taskTimeoutSeconds))) {
    throw new RangeError(`taskTimeoutSeconds must be a positive number of seconds, not ${taskTimeoutSeconds}`);
  }
  const running = new Set<Promise<unknown>>();
  const invoke = (task: string, input: unknown): Promise<JsonValue> => {
    const call = runTask(task, taskFunctions[task]!.handler, input);
    running.add(call);
    void call.finally(() => running.delete(call)).catch(() => undefined);
    return call;
  };
  const byArn = new Map<string, LocalStateMachine>();
  for (const [name, spec] of Object.entries(workflows)) {
    const machine = loadStateMachine(name, spec, taskFunctions, region, invoke, taskTimeoutSeconds);
    byArn.set(machine.arn, machine);
  }
  return {
    byArn,
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}

function loadStateMachine(
  name: string,
  spec: WorkflowSpec,
  taskFunctions: Readonly<Record<string, TaskFunctionSpec>>,
  region: string,
  invoke: (task: string, input: unknown) => Promise<JsonValue>,
  taskTimeoutSeconds: number | undefined,
): LocalStateMachine {
  const fail = (message: string) => new Error(`workflow ${name} (${spec.definition}): ${message}`);
  const substitutions = new Map(spec.tasks.map((task) => [substitutionKey(task), functionArn(region, task)]));
  const text = readFileSync(join(projectRoot, spec.definition), 'utf8').replace(
    /\$\{([^}]*)\}/g,
    (_whole, key: string) => {
      const arn = substitutions.get(key);
      // CDK would leave it in place and AWS would refuse the definition; say so now.
      if (!arn) throw fail(`\${${key}} names no task of this workflow (tasks: ${spec.tasks.join(', ') || 'none'})`);
      return arn;
    },
  );
  const definition = JSON.parse(text) as StateMachineDefinition;

  const taskOfArn = new Map(spec.tasks.map((task) => [functionArn(region, task), task]));
  const taskResources = new Map<string, string>();
  collectTaskResources(definition.States, taskResources, fail);
  const taskHandlers: TaskHandlers = {};
  for (const [stateName, resource] of taskResources) {
    const task = taskOfArn.get(resource);
    if (!task) throw fail(`Task ${stateName} invokes ${resource}; a Task names its function as \${<Task>FunctionArn}`);
    const fn = taskFunctions[task];
    if (!fn) throw fail(`task ${task} is not in the task functions list`);
    if (!existsSync(join(projectRoot, fn.handler))) throw fail(`task ${task}: ${fn.handler} does not exist`);
    taskHandlers[stateName] = (input) => invoke(task, input);
  }
  // The file is validated as written; the runner takes the shortened copy unvalidated, since the
  // ASL schema allows no timeout under one second.
  let runner = new StateMachine(definition);
  if (taskTimeoutSeconds !== undefined) {
    runner = new StateMachine(withTaskTimeouts(definition, taskTimeoutSeconds), {
      validationOptions: { noValidate: true },
    });
  }
  return {
    name,
    arn: stateMachineArn(region, name),
    createdAt: new Date(),
    runner,
    taskResources,
    taskHandlers,
  };
}

/** A copy of the definition in which every Task, at any depth, times out after `seconds`. */
function withTaskTimeouts(definition: StateMachineDefinition, seconds: number): StateMachineDefinition {
  const copy = structuredClone(definition);
  const visit = (states: StateMachineDefinition['States']) => {
    for (const state of Object.values(states)) {
      if (state.Type === 'Task') {
        delete state.TimeoutSecondsPath;
        state.TimeoutSeconds = seconds;
      } else if (state.Type === 'Map') {
        const processor = state.ItemProcessor ?? state.Iterator;
        if (processor) visit(processor.States);
      } else if (state.Type === 'Parallel') {
        for (const branch of state.Branches) visit(branch.States);
      }
    }
  };
  visit(copy.States);
  return copy;
}

/** The library routes Tasks by state name; state names are unique across a whole state machine. */
function collectTaskResources(
  states: StateMachineDefinition['States'],
  into: Map<string, string>,
  fail: (m: string) => Error,
): void {
  for (const [stateName, state] of Object.entries(states)) {
    if (state.Type === 'Task') {
      if (into.has(stateName)) throw fail(`state name ${stateName} is used twice`);
      into.set(stateName, state.Resource);
    } else if (state.Type === 'Map') {
      const processor = state.ItemProcessor ?? state.Iterator;
      if (processor) collectTaskResources(processor.States, into, fail);
    } else if (state.Type === 'Parallel') {
      for (const branch of state.Branches) collectTaskResources(branch.States, into, fail);
    }
  }
}

/** Invokes a task function as Step Functions invokes a Lambda: JSON in, JSON out, errors by name. */
async function runTask(task: string, modulePath: string, input: unknown): Promise<JsonValue> {
  let output: unknown;
  try {
    output = await invokeHandler(modulePath, task, JSON.parse(JSON.stringify(input)));
  } catch (error) {
    throw lambdaFailure(error);
  }
  const json = JSON.stringify(output ?? null);
  if (Buffer.byteLength(json) > PAYLOAD_LIMIT_BYTES) throw new DataLimitExceeded(task, Buffer.byteLength(json));
  return JSON.parse(json) as JsonValue;
}

/** Retry/Catch match the error's name, as with a Lambda's errorType; the Cause is the Lambda's error payload. */
function lambdaFailure(error: unknown): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  const failure = new Error(
    JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: e.stack?.split('\n') ?? [] }),
  );
  failure.name = e.name;
  return failure;
}

class DataLimitExceeded extends Error {
  override readonly name = 'States.DataLimitExceeded';
  /** Read by the runner: like AWS, no Retry repeats it. */
  readonly isRetryable = false;
  constructor(task: string, bytes: number) {
    super(`task ${task} returned ${bytes} bytes; Step Functions allows ${PAYLOAD_LIMIT_BYTES}`);
  }
}
