// An import too long for one invocation goes on in a fresh one: the import function invokes itself
// asynchronously, as S3 does, so the continuation gets the same retries and dead-letter queue.
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { ImportContinuation } from '../domain/import-keys';
import { clients } from './clients';

export async function sendImportContinuation(functionName: string, continuation: ImportContinuation): Promise<void> {
  await clients.lambda.send(
    new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: JSON.stringify(continuation) }),
  );
}
