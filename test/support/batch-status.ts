// Waiting for batches through the API, without vitest: tests and benchmarks share it.
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { clients } from '../../shared/store/clients';
import { call } from './api';
import { eventually } from './eventually';

/** Polls a batch until its status is one of `statuses`. */
export async function waitForStatus(batchId: string, statuses: string[], timeoutMs = 60_000): Promise<any> {
  return eventually(
    `batch ${batchId} to become ${statuses.join('|')}`,
    async () => {
      const res = await call('GET', `/v1/batches/${batchId}`);
      return statuses.includes(res.body.status) ? res.body : undefined;
    },
    timeoutMs,
  );
}

/**
 * Asks for an action until its workflow has run to `target`: a lock that failed (its retries
 * spent) is back in `retryFrom` and is asked again, as an operator would.
 */
export async function drive(
  batchId: string,
  action: 'lock' | 'submit' | 'cancel',
  target: string[],
  retryFrom: string[] = [],
): Promise<any> {
  for (let attempt = 0; attempt < 6; attempt++) {
    const res = await call('POST', `/v1/batches/${batchId}/${action}`);
    if (res.status !== 202 && res.status !== 409 && res.status !== 500)
      throw new Error(`${action} ${batchId}: ${JSON.stringify(res.body)}`);
    const batch = await waitForStatus(batchId, [...target, ...retryFrom]);
    if (target.includes(batch.status)) return batch;
  }
  throw new Error(`batch ${batchId} never reached ${target.join('|')}`);
}

/** Waits for the batch's latest execution of `action` to end, and gives its status (SUCCEEDED, FAILED, …). */
export async function executionEnded(
  batchId: string,
  action: 'lock' | 'revert' | 'submit',
  timeoutMs = 60_000,
): Promise<string> {
  return eventually(
    `the ${action} execution of batch ${batchId} to end`,
    async () => {
      const executionArn = (await call('GET', `/v1/batches/${batchId}`)).body.executions?.[action];
      if (!executionArn) return undefined;
      const { status } = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return status === 'RUNNING' ? undefined : status;
    },
    timeoutMs,
  );
}
