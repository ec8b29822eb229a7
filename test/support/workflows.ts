// Runs the real ASL files in the local Step Functions service, against this file's test table.
import { randomUUID } from 'node:crypto';
import { GetExecutionHistoryCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { expect, inject } from 'vitest';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { clients } from '../../shared/store/clients';
import { call } from './api';
import { waitForStatus } from './batch-status';

export { waitForStatus };

export async function useLocalWorkflows(): Promise<LocalStack> {
  return startLocalStack({
    inMemory: true,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `wf-${randomUUID().slice(0, 8)}`,
  });
}

export async function act(batchId: string, action: 'lock' | 'revert' | 'submit', until: string[]): Promise<any> {
  const res = await call('POST', `/v1/batches/${batchId}/${action}`);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.executionArn).toMatch(/^arn:aws:states:/);
  return waitForStatus(batchId, until);
}

/** Every event of an execution's history, page by page. */
export async function executionHistory(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}
