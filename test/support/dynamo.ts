// A fresh table on the run's DynamoDB Local for one test file; the process's config points at it.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { createTable } from '../../infra/local/create-table';
import { resetConfig } from '../../shared/config';
import { resetClients } from '../../shared/store/clients';

export interface TestTable {
  tableName: string;
  endpoint: string;
  raw: DynamoDBClient;
  drop(): Promise<void>;
}

export async function useTestTable(prefix = 'test'): Promise<TestTable> {
  const endpoint = inject('dynamoEndpoint');
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  const raw = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await createTable(raw, tableName);
  process.env.TABLE_NAME = tableName;
  process.env.DYNAMODB_ENDPOINT = endpoint;
  resetConfig();
  resetClients();
  return {
    tableName,
    endpoint,
    raw,
    async drop() {
      resetClients();
      await raw.send(new DeleteTableCommand({ TableName: tableName }));
      raw.destroy();
    },
  };
}
