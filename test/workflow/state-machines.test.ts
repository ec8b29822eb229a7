import { describe, expect, it } from 'vitest';
import { loadStateMachines } from '../../infra/local/state-machines';
import { describeCaught } from '../../functions/workflow/task-context';

const taskFunctions = {
  ListItems: { handler: 'test/fixtures/workflow/list-items.ts' },
  ProcessItem: { handler: 'test/fixtures/workflow/process-item.ts' },
};
const items = { definition: 'test/fixtures/workflow/items.asl.json', tasks: ['ListItems', 'ProcessItem'] };

describe('loadStateMachines', () => {
  it('substitutes function ARNs as CDK does and routes Tasks nested in a Map', () => {
    const { byArn } = loadStateMachines({ items }, taskFunctions, 'eu-west-1');
    const machine = byArn.get('arn:aws:states:eu-west-1:000000000000:stateMachine:items')!;
    expect(Object.fromEntries(machine.taskResources)).toEqual({
      ListItems: 'arn:aws:lambda:eu-west-1:000000000000:function:ListItems',
      ProcessItem: 'arn:aws:lambda:eu-west-1:000000000000:function:ProcessItem',
    });
  });

  it('runs the task function of each Parallel branch', async () => {
    const parallel = { definition: 'test/fixtures/workflow/parallel.asl.json', tasks: ['ListItems'] };
    const machine = [...loadStateMachines({ parallel }, taskFunctions, 'us-east-1').byArn.values()][0]!;
    const run = machine.runner.run({ count: 1 }, { overrides: { taskResourceLocalHandlers: machine.taskHandlers } });
    expect(await run.result).toEqual([['item-1'], ['item-1']]);
  });

  it('fails a task whose result exceeds 256 KiB with States.DataLimitExceeded, as AWS does', async () => {
    const machine = [...loadStateMachines({ items }, taskFunctions, 'us-east-1').byArn.values()][0]!;
    const run = machine.runner.run(
      { count: 30_000 },
      { overrides: { taskResourceLocalHandlers: machine.taskHandlers } },
    );
    await expect(run.result).rejects.toMatchObject({ cause: { name: 'States.DataLimitExceeded' } });
  });

  it('lets a Catch match a domain error by its code, which reaches the batch as lastError.code', async () => {
    const refuse = { definition: 'test/fixtures/workflow/refuse.asl.json', tasks: ['Refuse'] };
    const machine = [
      ...loadStateMachines(
        { refuse },
        { Refuse: { handler: 'test/fixtures/workflow/refuse.ts' } },
        'us-east-1',
      ).byArn.values(),
    ][0]!;
    const run = machine.runner.run({}, { overrides: { taskResourceLocalHandlers: machine.taskHandlers } });
    const out = (await run.result) as { error: { Error: string; Cause: string } };
    expect(out.error.Error).toBe('EVENT_HELD_BY_OTHER_BATCH');
    expect(describeCaught(out.error)).toEqual({ code: 'EVENT_HELD_BY_OTHER_BATCH', message: 'held by another batch' });
  });

  it('refuses an ASL that names a function the workflow does not list', () => {
    const partial = { ...items, tasks: ['ListItems'] };
    expect(() => loadStateMachines({ items: partial }, taskFunctions, 'us-east-1')).toThrow(
      'workflow items (test/fixtures/workflow/items.asl.json): ${ProcessItemFunctionArn} names no task of this workflow',
    );
  });

  it('refuses a task function module that does not exist', () => {
    const typo = { ...taskFunctions, ListItems: { handler: 'test/fixtures/workflow/list-itemz.ts' } };
    expect(() => loadStateMachines({ items }, typo, 'us-east-1')).toThrow(
      'task ListItems: test/fixtures/workflow/list-itemz.ts does not exist',
    );
  });

  it('refuses a task that has no task function', () => {
    expect(() => loadStateMachines({ items }, { ListItems: taskFunctions.ListItems }, 'us-east-1')).toThrow(
      'task ProcessItem is not in the task functions list',
    );
  });
});

describe('the submit state machine', () => {
  it('runs as many shards at once as submit plans at most: more would only add state transitions', async () => {
    const { readFile } = await import('node:fs/promises');
    const { MAX_SHARDS } = await import('../../shared/services/submit');
    const asl = JSON.parse(await readFile('statemachines/submit.asl.json', 'utf8'));
    expect(asl.States.ProcessShards.MaxConcurrency).toBe(MAX_SHARDS);
  });
});
