// The one definition of the single table. CDK, the local stack and the test harness all read it.
//
// Projections matter for cost: an update of an item rewrites its copy in every index that
// projects the changed attributes. Every index carries keys only, so an update that leaves an
// item's index keys alone (holding, rating, re-rating an event) writes no index entry; readers
// take the keys from the index and the items from the table (query-all.ts, queryIndexItems).
export const tableDefinition = {
  partitionKey: 'PK',
  sortKey: 'SK',
  /** Items with this epoch-seconds attribute expire (idempotency records, import leases). */
  ttlAttribute: 'expiresAt',
  globalSecondaryIndexes: [
    // Events of a partition in rating order; ledger entries in time order; batches by creation time.
    { indexName: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK', projection: 'KEYS_ONLY' },
    // Children of a parent event (sparse: only events with a parent carry it).
    { indexName: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK', projection: 'KEYS_ONLY' },
    // Events by day of occurrence, sharded so that one busy day is not one hot partition.
    { indexName: 'GSI3', partitionKey: 'GSI3PK', sortKey: 'GSI3SK', projection: 'KEYS_ONLY' },
  ],
} as const;

export type IndexName = (typeof tableDefinition.globalSecondaryIndexes)[number]['indexName'];

/** The physical table's name when nothing else is configured (local stack). */
export const defaultTableName = 'usage-corrections';
