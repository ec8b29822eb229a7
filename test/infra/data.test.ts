import { beforeAll, describe, expect, it } from 'vitest';
import { tableDefinition } from '../../shared/store/table';
import { resourcesOf, synth, type Synthesized } from './synth';

let real: Synthesized;
let table: { Properties: any; DeletionPolicy?: string; UpdateReplacePolicy?: string };
beforeAll(() => {
  real = synth('data');
  const tables = Object.values(resourcesOf(real.template, 'AWS::DynamoDB::Table'));
  expect(tables).toHaveLength(1);
  table = tables[0]!;
});

describe('the table', () => {
  it('has the keys, GSIs and TTL attribute of the one table definition', () => {
    const p = table.Properties;
    expect(p.KeySchema).toEqual([
      { AttributeName: tableDefinition.partitionKey, KeyType: 'HASH' },
      { AttributeName: tableDefinition.sortKey, KeyType: 'RANGE' },
    ]);
    expect(p.GlobalSecondaryIndexes).toEqual(
      tableDefinition.globalSecondaryIndexes.map((gsi) => ({
        IndexName: gsi.indexName,
        KeySchema: [
          { AttributeName: gsi.partitionKey, KeyType: 'HASH' },
          { AttributeName: gsi.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: gsi.projection },
      })),
    );
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: tableDefinition.ttlAttribute, Enabled: true });
  });

  it('is on-demand, with point-in-time recovery and deletion protection', () => {
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.Properties.DeletionProtectionEnabled).toBe(true);
  });

  it('is retained when the stack is deleted or the resource replaced', () => {
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('keeps the logical id of the first stack, so the refactor does not replace it', () => {
    expect(Object.keys(resourcesOf(real.template, 'AWS::DynamoDB::Table'))).toEqual(['TableCD117FA1']);
  });
});
