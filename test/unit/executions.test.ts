import { describe, expect, it } from 'vitest';
import { Executions } from '../../infra/local/executions';
import { loadStateMachines } from '../../infra/local/state-machines';
import { eventually } from '../support/eventually';
import { invokedWith, releaseAll } from '../fixtures/workflow/hold-item';

describe('Executions', () => {
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
});
