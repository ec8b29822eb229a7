// The model-based test: seeded random histories (subscriptions, grants, ingest, RATING, RERATE and
// REVERSE_REPLACE batches, two at once, removals, reverts, cancels, price and minimum changes,
// bill lines billed and interfaced, faults) played through the real API on DynamoDB Local and the
// real ASL, and after each one every event, grant, register, ledger entry and bill line the table
// holds compared with a pure reference model of the rules (test/support/model/reference.ts).
// `npm run bench -- reliability` plays a thousand and more (BENCH_MODEL_HISTORIES).
import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { clients } from '../../shared/store/clients';
import { keys } from '../../shared/store/keys';
import { generateHistory } from '../support/model/history';
import { describeDivergence, expectedSnapshot } from '../support/model/reference';
import { compareWithModel, playHistory } from '../support/model/runner';
import { runModelHistories } from '../support/model/suite';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({
    inMemory: true,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `model-${randomUUID().slice(0, 8)}`,
    retryIntervalMs: 5,
  });
});
afterAll(async () => stack?.stop());

const explain = (divergences: ReadonlyArray<Parameters<typeof describeDivergence>[0]>) =>
  divergences.map(describeDivergence).join('\n');

describe('the system against the reference model', () => {
  it('the same seed gives the same history', () => {
    expect(generateHistory(7, 'p')).toEqual(generateHistory(7, 'p'));
    expect(generateHistory(7, 'p')).not.toEqual(generateHistory(8, 'p'));
  });

  it('seeds 1-4, no faults: every event, grant, register, ledger entry and bill line is what the model says', async () => {
    const run = await runModelHistories(stack, { histories: 4, firstSeed: 1, concurrency: 4 });
    const diverged = run.histories.filter((h) => h.divergences.length > 0);
    expect(
      diverged.map((h) => `seed ${h.seed}:\n${h.log?.join('\n')}\n${explain(h.divergences)}`),
      'divergences',
    ).toEqual([]);
    expect(run.batches).toBeGreaterThan(8);
  }, 180_000);

  // Timed-out attempts need a stack whose task timeout is cut short: the benchmark plays those.
  it('seeds 5-8 under failed writes (before sending, answer lost) and throttled reads: still what the model says', async () => {
    const run = await runModelHistories(stack, {
      histories: 4,
      firstSeed: 5,
      concurrency: 4,
      faults: () => ({ name: 'writes and reads', rates: { writes: 0.06, throttledReads: 0.02 } }),
    });
    const diverged = run.histories.filter((h) => h.divergences.length > 0);
    expect(
      diverged.map((h) => `seed ${h.seed}:\n${h.log?.join('\n')}\n${explain(h.divergences)}`),
      'divergences',
    ).toEqual([]);
    expect(run.faultsInjected).toBeGreaterThan(0);
  }, 300_000);

  it('a register changed behind the model is named: item, field, expected and actual', async () => {
    const played = await playHistory(generateHistory(11, `planted-${randomUUID().slice(0, 6)}`));
    await stack.idle();
    expect(explain(await compareWithModel(played))).toBe('');

    const [item, register] = [...expectedSnapshot(played.state)].find(([key]) => key.startsWith('register '))!;
    const [, path] = item.split(' ');
    const [sub, name] = path!.split('/');
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.register(sub!, name!),
        UpdateExpression: 'ADD #c :one',
        ExpressionAttributeNames: { '#c': 'consumed' },
        ExpressionAttributeValues: { ':one': 1n },
      }),
    );

    const divergences = await compareWithModel(played);
    expect(divergences).toContainEqual({
      item,
      field: 'consumed',
      expected: register.consumed,
      actual: String(BigInt(register.consumed!) + 1n),
    });
  }, 120_000);
});
