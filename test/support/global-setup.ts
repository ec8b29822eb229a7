// One DynamoDB Local (a real server, in memory) for the whole run, shared by every test project
// that lists this file; each test file makes its own table.
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../infra/local/dynamodb-local';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

// Each project loads this module anew, but all run in one process: the server lives on globalThis.
const run = globalThis as { dynamoDbLocalForTests?: { server: Promise<DynamoDbLocal>; projects: number } };

export async function setup(project: TestProject): Promise<void> {
  const shared = (run.dynamoDbLocalForTests ??= { server: startDynamoDbLocal(), projects: 0 });
  shared.projects += 1;
  project.provide('dynamoEndpoint', (await shared.server).endpoint);
}

export async function teardown(): Promise<void> {
  const shared = run.dynamoDbLocalForTests;
  if (!shared || --shared.projects > 0) return;
  run.dynamoDbLocalForTests = undefined;
  await (await shared.server).stop();
}
