// Custom CloudWatch metrics: one namespace and one name per measure, shared by the functions that
// emit them (Embedded Metric Format log lines) and the ops dashboard and alarms that read them.
export const metricNamespace = 'UsageCorrections';

export const metricNames = {
  /** Events a workflow finished (rated, re-rated or reversed and replaced); emitted per chunk by the workflow tasks. */
  eventsProcessed: 'EventsProcessed',
  /** CSV rows the import accepted / rejected; emitted per file by the import. */
  importRowsAccepted: 'ImportRowsAccepted',
  importRowsRejected: 'ImportRowsRejected',
  /** ERROR lines in the import function's log (a metric filter, nothing to emit). */
  importFailures: 'ImportFailures',
} as const;

export type MetricName = (typeof metricNames)[keyof typeof metricNames];

/**
 * Embedded Metric Format: a structured log line carrying these fields is also a CloudWatch metric
 * of the namespace (counts, no dimensions), with no API call from the function.
 */
export function metricFields(values: Partial<Record<MetricName, number>>, atMs: number): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: atMs,
      CloudWatchMetrics: [
        {
          Namespace: metricNamespace,
          Dimensions: [[]],
          Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })),
        },
      ],
    },
    ...values,
  };
}
