// Executions of the local state machines, held in memory and reported in the Step Functions API's
// own shapes (the SDK's types). History is the runner's event log, translated to AWS event types.
import { randomUUID } from 'node:crypto';
import type {
  DescribeExecutionOutput,
  ExecutionListItem,
  ExecutionStatus,
  GetExecutionHistoryOutput,
  HistoryEvent,
  HistoryEventType,
  ListExecutionsOutput,
  ListStateMachinesOutput,
  StartExecutionOutput,
  StopExecutionOutput,
} from '@aws-sdk/client-sfn';
import { ExecutionAbortedError, ExecutionTimeoutError, type StateMachine } from 'aws-local-stepfunctions';
import { logger } from '../../shared/logger';
import type { LocalStateMachine, StateMachines } from './state-machines';

type Run = ReturnType<StateMachine['run']>;
type EventLog = Run['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type HistoryEntry = Omit<HistoryEvent, 'id' | 'previousEventId' | 'timestamp'>;

/** A refusal of the Step Functions API, named by its AWS error type (`ExecutionAlreadyExists`, …). */
export class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a task of an ended execution meets instead of its function; the runner neither retries nor catches it. */
class ExecutionStopped extends Error {
  override readonly name = 'ExecutionStopped';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

interface Execution {
  machine: LocalStateMachine;
  description: DescribeExecutionOutput;
  history: HistoryEvent[];
  stopRequest?: { error?: string; cause?: string };
  /** Aborts the run and lets no task function start any more. */
  halt(): void;
  settled: Promise<void>;
}

// AWS: 1–80 characters, none of whitespace, brackets, wildcards, `"#%\^|~`$&,;:/` or control characters.
// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS refuses control characters in an execution name; this class names them.
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

export class Executions {
  /** In start order. */
  private readonly executions = new Map<string, Execution>();

  /** `retryIntervalMs` replaces every Retry's wait (tests of many retries need not wait seconds). */
  constructor(
    private readonly machines: StateMachines,
    private readonly options: { retryIntervalMs?: number } = {},
  ) {}

  start(req: { stateMachineArn: string; name?: string; input?: string }): StartExecutionOutput {
    const machine = this.machineOf(req.stateMachineArn);
    const name = req.name ?? randomUUID();
    if (!EXECUTION_NAME.test(name)) throw new ServiceError('InvalidName', `Invalid Name: '${name}'`);
    const input = req.input ?? '{}';
    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(input);
    } catch {
      throw new ServiceError(
        'InvalidExecutionInput',
        'Invalid State Machine Execution Input: the input is not valid JSON',
      );
    }
    const executionArn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // AWS: the same name and input while the execution runs gives the same execution; anything else is refused.
      const { status, input: existingInput, startDate } = existing.description;
      if (status === 'RUNNING' && existingInput === input) return { executionArn, startDate };
      throw new ServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const startDate = new Date();
    // After an abort, a timeout or a failure the runner still starts queued Map items and retries;
    // AWS schedules nothing more for an execution that has ended, so neither do we.
    let stopped = false;
    const taskHandlers = Object.fromEntries(
      Object.entries(machine.taskHandlers).map(([state, invoke]) => [
        state,
        (input: Parameters<typeof invoke>[0]) => {
          if (stopped) throw new ExecutionStopped();
          return invoke(input);
        },
      ]),
    );
    const run = machine.runner.run(parsedInput as Parameters<StateMachine['run']>[0], {
      overrides: {
        taskResourceLocalHandlers: taskHandlers,
        ...(this.options.retryIntervalMs !== undefined
          ? {
              retryIntervalOverrides: Object.fromEntries(
                Object.keys(machine.taskHandlers).map((state) => [state, this.options.retryIntervalMs!]),
              ),
            }
          : {}),
      },
      // The context object ($$) a state may read; AWS fills it, the runner leaves it to us.
      context: {
        Execution: { Id: executionArn, Name: name },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    const execution: Execution = {
      machine,
      description: {
        executionArn,
        stateMachineArn: machine.arn,
        name,
        status: 'RUNNING',
        startDate,
        input,
        inputDetails: { included: true },
      },
      history: [],
      halt: () => {
        stopped = true;
        run.abort();
      },
      settled: Promise.resolve(),
    };
    execution.settled = this.follow(execution, run);
    this.executions.set(executionArn, execution);
    return { executionArn, startDate };
  }

  describe(req: { executionArn: string }): DescribeExecutionOutput {
    return { ...this.executionOf(req.executionArn).description };
  }

  list(req: {
    stateMachineArn: string;
    statusFilter?: ExecutionStatus;
    maxResults?: number;
    nextToken?: string;
  }): ListExecutionsOutput {
    const machine = this.machineOf(req.stateMachineArn);
    const oldestFirst = [...this.executions.values()]
      .filter((e) => e.machine === machine && (!req.statusFilter || e.description.status === req.statusFilter))
      .map(
        ({ description: d }): ExecutionListItem => ({
          executionArn: d.executionArn,
          stateMachineArn: d.stateMachineArn,
          name: d.name,
          status: d.status,
          startDate: d.startDate,
          ...(d.stopDate ? { stopDate: d.stopDate } : {}),
        }),
      );
    const { items, nextToken } = page(oldestFirst, { ...req, newestFirst: true });
    return { executions: items, ...(nextToken ? { nextToken } : {}) };
  }

  history(req: {
    executionArn: string;
    maxResults?: number;
    reverseOrder?: boolean;
    nextToken?: string;
  }): GetExecutionHistoryOutput {
    const { history } = this.executionOf(req.executionArn);
    const { items, nextToken } = page(history, { ...req, newestFirst: req.reverseOrder ?? false });
    return { events: items, ...(nextToken ? { nextToken } : {}) };
  }

  async stop(req: { executionArn: string; error?: string; cause?: string }): Promise<StopExecutionOutput> {
    const execution = this.executionOf(req.executionArn);
    if (execution.description.status === 'RUNNING') {
      execution.stopRequest = { error: req.error, cause: req.cause };
      execution.halt();
      await execution.settled;
    }
    return { stopDate: execution.description.stopDate ?? new Date() };
  }

  listStateMachines(): ListStateMachinesOutput {
    return {
      stateMachines: [...this.machines.byArn.values()].map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: 'STANDARD',
        creationDate: m.createdAt,
      })),
    };
  }

  /** Aborts what still runs and waits for it, task functions included. */
  async close(): Promise<void> {
    const running = [...this.executions.values()].filter((e) => e.description.status === 'RUNNING');
    for (const execution of running) execution.halt();
    await Promise.all(running.map((e) => e.settled));
    await this.machines.idle();
  }

  private async follow(execution: Execution, run: Run): Promise<void> {
    const recording = (async () => {
      for await (const log of run.eventLogs) {
        // Events of concurrent Map iterations reach the root log a moment late; a history reads
        // in id order, so its timestamps never go back.
        const timestamp = new Date(Math.max(log.timestamp, execution.history.at(-1)?.timestamp?.getTime() ?? 0));
        for (const entry of historyEntries(log, execution)) {
          const id = execution.history.length + 1;
          execution.history.push({ ...entry, id, previousEventId: id - 1, timestamp });
        }
      }
    })();
    let outcome: Partial<DescribeExecutionOutput>;
    try {
      outcome = { status: 'SUCCEEDED', output: json(await run.result), outputDetails: { included: true } };
    } catch (error) {
      execution.halt();
      if (error instanceof ExecutionAbortedError) outcome = { status: 'ABORTED', ...execution.stopRequest };
      else if (error instanceof ExecutionTimeoutError) outcome = { status: 'TIMED_OUT', error: 'States.Timeout' };
      else outcome = { status: 'FAILED' };
    }
    // The status turns final only once the history holds the execution's last event.
    await recording;
    if (outcome.status === 'FAILED') {
      const failed = execution.history.findLast((e) => e.type === 'ExecutionFailed')?.executionFailedEventDetails;
      outcome = { ...outcome, error: failed?.error, cause: failed?.cause };
    }
    Object.assign(execution.description, outcome, { stopDate: new Date() });
    const { executionArn, status, error } = execution.description;
    logger.info('execution finished', { executionArn, status, error });
  }

  private machineOf(arn: string): LocalStateMachine {
    if (!/^arn:aws:states:[^:]+:\d{12}:stateMachine:[^:]+$/.test(arn))
      throw new ServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    const machine = this.machines.byArn.get(arn);
    if (!machine) throw new ServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  private executionOf(arn: string): Execution {
    if (!/^arn:aws:states:[^:]+:\d{12}:execution:[^:]+:[^:]+$/.test(arn))
      throw new ServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    const execution = this.executions.get(arn);
    if (!execution) throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }
}

/**
 * One page of a list that only grows at its end (executions in start order, a history). A token
 * is a position in it, so pages stay exact while executions start and histories grow.
 */
function page<T>(
  oldestFirst: T[],
  req: { maxResults?: number; nextToken?: string; newestFirst: boolean },
): { items: T[]; nextToken?: string } {
  const size = Math.min(req.maxResults || DEFAULT_PAGE, MAX_PAGE);
  const position = req.nextToken === undefined ? (req.newestFirst ? oldestFirst.length : 0) : Number(req.nextToken);
  if (!Number.isInteger(position) || position < 0 || position > oldestFirst.length) {
    throw new ServiceError('InvalidToken', `Invalid Token: '${req.nextToken}'`);
  }
  if (req.newestFirst) {
    const start = Math.max(0, position - size);
    return { items: oldestFirst.slice(start, position).reverse(), ...(start > 0 ? { nextToken: String(start) } : {}) };
  }
  const end = position + size;
  return { items: oldestFirst.slice(position, end), ...(end < oldestFirst.length ? { nextToken: String(end) } : {}) };
}

const json = (value: unknown): string => JSON.stringify(value ?? null);
const text = (cause: unknown): string => (typeof cause === 'string' ? cause : json(cause));
const dataDetails = { truncated: false };

/**
 * The AWS history events one runner event stands for. A Task names its function ARN directly,
 * so AWS records it as LambdaFunction* events; a retry shows as the function scheduled again.
 * The runner's Parallel-branch and Catch events have no AWS counterpart and are left out.
 */
function historyEntries(log: EventLog, execution: Execution): HistoryEntry[] {
  switch (log.type) {
    case 'ExecutionStarted':
      return [
        {
          type: 'ExecutionStarted',
          executionStartedEventDetails: { input: json(log.input), inputDetails: dataDetails },
        },
      ];
    case 'ExecutionSucceeded':
      return [
        {
          type: 'ExecutionSucceeded',
          executionSucceededEventDetails: { output: json(log.output), outputDetails: dataDetails },
        },
      ];
    case 'ExecutionFailed':
      return [{ type: 'ExecutionFailed', executionFailedEventDetails: { error: log.Error, cause: text(log.Cause) } }];
    case 'ExecutionAborted':
      return [{ type: 'ExecutionAborted', executionAbortedEventDetails: { ...execution.stopRequest } }];
    case 'ExecutionTimeout':
      return [{ type: 'ExecutionTimedOut', executionTimedOutEventDetails: { error: 'States.Timeout' } }];
    case 'MapIterationStarted':
      return [{ type: log.type, mapIterationStartedEventDetails: { name: log.parentState.name, index: log.index } }];
    case 'MapIterationSucceeded':
      return [{ type: log.type, mapIterationSucceededEventDetails: { name: log.parentState.name, index: log.index } }];
    case 'MapIterationFailed':
      return [{ type: log.type, mapIterationFailedEventDetails: { name: log.parentState.name, index: log.index } }];
    case 'StateEntered': {
      const { name, type, input } = log.state;
      const entered: HistoryEntry = {
        type: `${type}StateEntered` as HistoryEventType,
        stateEnteredEventDetails: { name, input: json(input), inputDetails: dataDetails },
      };
      if (type === 'Task') return [entered, ...lambdaScheduled(name, input, execution)];
      if (type === 'Parallel') return [entered, { type: 'ParallelStateStarted' }];
      return [entered];
    }
    case 'StateExited': {
      const { name, type, output } = log.state;
      const exited: HistoryEntry = {
        type: `${type}StateExited` as HistoryEventType,
        stateExitedEventDetails: { name, output: json(output), outputDetails: dataDetails },
      };
      if (type === 'Task') return [{ type: 'LambdaFunctionSucceeded' }, exited];
      if (type === 'Map') return [{ type: 'MapStateSucceeded' }, exited];
      if (type === 'Parallel') return [{ type: 'ParallelStateSucceeded' }, exited];
      return [exited];
    }
    case 'StateFailed': {
      const failure = { error: log.Error, cause: text(log.Cause) };
      if (log.state.type === 'Task') {
        return log.Error === 'States.Timeout'
          ? [{ type: 'LambdaFunctionTimedOut', lambdaFunctionTimedOutEventDetails: failure }]
          : [{ type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: failure }];
      }
      if (log.state.type === 'Map') return [{ type: 'MapStateFailed' }];
      if (log.state.type === 'Parallel') return [{ type: 'ParallelStateFailed' }];
      return [];
    }
    case 'StateRetried':
      return log.state.type === 'Task' ? lambdaScheduled(log.state.name, log.state.input, execution) : [];
    default:
      return [];
  }
}

function lambdaScheduled(stateName: string, input: unknown, execution: Execution): HistoryEntry[] {
  const resource = execution.machine.taskResources.get(stateName);
  return [
    {
      type: 'LambdaFunctionScheduled',
      lambdaFunctionScheduledEventDetails: { resource, input: json(input), inputDetails: dataDetails },
    },
    { type: 'LambdaFunctionStarted' },
  ];
}
