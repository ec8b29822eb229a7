import { describe, expect, it } from 'vitest';
import { Executions } from '../../infra/local/executions';
import { loadStateMachines } from '../../infra/local/state-machines';
import { eventually } from '../support/eventually';
import { invokedWith, releaseAll } from '../fixtures/workflow/hold-item';
import { finished, releaseFirst } from '../fixtures/workflow/slow-task';

const waiting = () => {
  const machines = loadStateMachines(
    { wait: { definition: 'test/fixtures/workflow/wait.asl.json', tasks: [] } },
    {},
    'us-east-1',
  );
  return { executions: new Executions(machines), stateMachineArn: [...machines.byArn.keys()][0]! };
};

describe('Executions', () => {
  it('pages executions newest first without repeating one started between pages', async () => {
    const { executions, stateMachineArn } = waiting();
    for (const name of ['e1', 'e2', 'e3']) executions.start({ stateMachineArn, name });
    const first = executions.list({ stateMachineArn, maxResults: 2 });
    expect(first.executions!.map((e) => e.name)).toEqual(['e3', 'e2']);
    executions.start({ stateMachineArn, name: 'e4' });
    const second = executions.list({ stateMachineArn, maxResults: 2, nextToken: first.nextToken });
    expect(second.executions!.map((e) => e.name)).toEqual(['e1']);
    expect(second.nextToken).toBeUndefined();
    await executions.close();
    expect(executions.list({ stateMachineArn, statusFilter: 'ABORTED' }).executions).toHaveLength(4);
  });

  it('pages a history forwards and backwards to the same events', async () => {
    const { executions, stateMachineArn } = waiting();
    const { executionArn } = executions.start({ stateMachineArn });
    await executions.stop({ executionArn: executionArn! });
    const all = executions.history({ executionArn: executionArn! }).events!;
    expect(all.map((e) => e.type)).toEqual(['ExecutionStarted', 'WaitStateEntered', 'ExecutionAborted']);
    const walk = (reverseOrder: boolean) => {
      const ids: (number | undefined)[] = [];
      let nextToken: string | undefined;
      do {
        const res = executions.history({ executionArn: executionArn!, maxResults: 2, reverseOrder, nextToken });
        ids.push(...res.events!.map((e) => e.id));
        nextToken = res.nextToken;
      } while (nextToken);
      return ids;
    };
    expect(walk(false)).toEqual([1, 2, 3]);
    expect(walk(true)).toEqual([3, 2, 1]);
  });

  it('invokes no task function once an execution is stopped, though the runner would go on', async () => {
    const machines = loadStateMachines(
      { hold: { definition: 'test/fixtures/workflow/hold.asl.json', tasks: ['HoldItem'] } },
      { HoldItem: { handler: 'test/fixtures/workflow/hold-item.ts' } },
      'us-east-1',
    );
    const executions = new Executions(machines);
    const stateMachineArn = [...machines.byArn.keys()][0]!;
    const { executionArn } = executions.start({ stateMachineArn, input: JSON.stringify({ items: ['a', 'b', 'c'] }) });
    await eventually('the first item to be held', async () => (invokedWith.length > 0 ? true : undefined));

    await executions.stop({ executionArn: executionArn! });
    releaseAll();
    // The runner takes its next steps in microtasks and starts the next Map item without a timer.
    await new Promise((resolve) => setImmediate(resolve));
    await machines.idle();

    expect(invokedWith).toEqual(['a']);
    expect(executions.describe({ executionArn: executionArn! }).status).toBe('ABORTED');
  });

  it('retries a task that outlives its shortened timeout while the timed-out attempt runs on to completion, as in AWS', async () => {
    const machines = loadStateMachines(
      { slow: { definition: 'test/fixtures/workflow/slow.asl.json', tasks: ['SlowTask'] } },
      { SlowTask: { handler: 'test/fixtures/workflow/slow-task.ts' } },
      'us-east-1',
      { taskTimeoutSeconds: 0.2 },
    );
    const executions = new Executions(machines, { retryIntervalMs: 0 });
    const { executionArn } = executions.start({ stateMachineArn: [...machines.byArn.keys()][0]! });
    const ended = await eventually('the execution to end', async () => {
      const d = executions.describe({ executionArn: executionArn! });
      return d.status === 'RUNNING' ? undefined : d;
    });

    expect(ended).toMatchObject({ status: 'SUCCEEDED', output: JSON.stringify({ attempt: 2 }) });
    const types = executions
      .history({ executionArn: executionArn! })
      .events!.map((e) => e.lambdaFunctionTimedOutEventDetails?.error ?? e.type);
    expect(types).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'States.Timeout',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    // The first attempt is still running after its execution ended, and finishes once released.
    expect(finished).toEqual([2]);
    releaseFirst();
    await machines.idle();
    expect(finished).toEqual([2, 1]);
  });

  it('refuses a task timeout that is not a positive number of seconds', () => {
    const load = (taskTimeoutSeconds: number) => () => loadStateMachines({}, {}, 'us-east-1', { taskTimeoutSeconds });
    expect(load(0)).toThrow('taskTimeoutSeconds must be a positive number of seconds, not 0');
    expect(load(Number.NaN)).toThrow(RangeError);
  });
});
