// The one definition of the single table. CDK, the local stack and the test harness all read it.
export const tableDefinition = {
  partitionKey: 'PK',
  sortKey: 'SK',
  /** Items with this epoch-seconds attribute expire (idempotency records, import markers). */
  ttlAttribute: 'expiresAt',
  globalSecondaryIndexes: [
    // Events of a partition in rating order; batches by creation time.
    { indexName: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
    // Children of a parent event (sparse: only events with a parent carry it).
    { indexName: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK' },
  ],
} as const;

export type IndexName = (typeof tableDefinition.globalSecondaryIndexes)[number]['indexName'];

/** The physical table's name when nothing else is configured (local stack). */
export const defaultTableName = 'usage-corrections';
