import { readdirSync, readFileSync } from 'node:fs';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { task } from '../../functions/workflow/task-context';
import { TRANSIENT_ERRORS, TRANSIENT_RETRY } from '../../shared/store/errors';

interface State {
  Type: string;
  Retry?: ({ ErrorEquals: string[] } & Record<string, unknown>)[];
  ItemProcessor?: { States: Record<string, State> };
  Iterator?: { States: Record<string, State> };
  Branches?: { States: Record<string, State> }[];
}

function tasksOf(states: Record<string, State>, prefix = ''): [string, State][] {
  return Object.entries(states).flatMap(([name, s]): [string, State][] => {
    if (s.Type === 'Task') return [[`${prefix}${name}`, s]];
    const inner = s.ItemProcessor ?? s.Iterator;
    if (inner) return tasksOf(inner.States, `${prefix}${name}/`);
    return (s.Branches ?? []).flatMap((b) => tasksOf(b.States, `${prefix}${name}/`));
  });
}

describe('transient errors', () => {
  it('every Task of every state machine retries every transient error of the one list', () => {
    const files = readdirSync('statemachines').filter((f) => f.endsWith('.asl.json'));
    const missing: string[] = [];
    let tasks = 0;
    for (const file of files) {
      const asl = JSON.parse(readFileSync(`statemachines/${file}`, 'utf8')) as { States: Record<string, State> };
      for (const [name, state] of tasksOf(asl.States)) {
        tasks++;
        const retried = new Set((state.Retry ?? []).flatMap((r) => r.ErrorEquals));
        for (const error of TRANSIENT_ERRORS) if (!retried.has(error)) missing.push(`${file} ${name}: ${error}`);
      }
    }
    expect(tasks).toBeGreaterThanOrEqual(9);
    expect(missing).toEqual([]);
  });

  it('every Task repeats the transient errors with the one policy: ten retries, capped and jittered waits', () => {
    const files = readdirSync('statemachines').filter((f) => f.endsWith('.asl.json'));
    const policies: Record<string, unknown> = {};
    for (const file of files) {
      const asl = JSON.parse(readFileSync(`statemachines/${file}`, 'utf8')) as { States: Record<string, State> };
      for (const [name, state] of tasksOf(asl.States)) {
        for (const { ErrorEquals, ...policy } of state.Retry ?? []) {
          if (ErrorEquals.some((e) => (TRANSIENT_ERRORS as readonly string[]).includes(e)))
            policies[`${file} ${name}`] = policy;
        }
      }
    }
    expect(Object.keys(policies).length).toBeGreaterThanOrEqual(9);
    for (const [task, policy] of Object.entries(policies))
      expect({ task, policy }).toEqual({ task, policy: TRANSIENT_RETRY });
  });

  it('a task reports a transaction cancelled only by contention under a name its Retry matches, and a refused guard as it is', async () => {
    const cancelled = (codes: string[]) =>
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: codes.map((Code) => ({ Code })),
      });
    const busy = task(async () => {
      throw cancelled(['None', 'TransactionConflict']);
    });
    await expect(busy({})).rejects.toMatchObject({ name: 'TransactionBusy' });
    const refused = task(async () => {
      throw cancelled(['ConditionalCheckFailed', 'None']);
    });
    await expect(refused({})).rejects.toMatchObject({ name: 'TransactionCanceledException' });
  });
});
