import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('health');
});
afterAll(async () => table.drop());

describe('GET /v1/health', () => {
  it('answers ok after reading the table', async () => {
    const res = await call('GET', '/v1/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(typeof res.body.table.latencyMs).toBe('number');
  });

  it('answers problem+json with a request id when the table is missing', async () => {
    process.env.TABLE_NAME = 'no-such-table';
    const { resetConfig } = await import('../../shared/config');
    resetConfig();
    try {
      const res = await call('GET', '/v1/health');
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.body.code).toBe('INTERNAL');
      expect(res.body.requestId).toMatch(/[0-9a-f-]{36}/);
      expect(JSON.stringify(res.body)).not.toContain('ResourceNotFound');
    } finally {
      process.env.TABLE_NAME = table.tableName;
      resetConfig();
    }
  });
});
