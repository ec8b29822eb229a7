// Alarms to an encrypted SNS topic, and the ops dashboard: executions by status, throughput, errors.
import { Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { metricNames, metricNamespace } from '../../shared/metrics';
import { moduleId, type FunctionKind, type ServiceFunction } from './functions';

export interface ObservabilityProps {
  functions: readonly ServiceFunction[];
  stateMachines: ReadonlyMap<string, StateMachine>;
  importFunction: ServiceFunction;
  deadLetterQueue: IQueue;
  httpApi: HttpApi;
  /** Subscribed to the alarm topic when given (context `alarmEmail`). */
  alarmEmail?: string;
}

const period = Duration.minutes(5);

export class Observability extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const cloudwatch = new ServicePrincipal('cloudwatch.amazonaws.com');

    // A customer-managed key: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key.
    const key = new Key(this, 'AlarmTopicKey', {
      enableKeyRotation: true,
      description: 'Encrypts usage-corrections alarm notifications',
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        // In a key policy, '*' is this key.
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: 'usage-corrections alarms',
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        effect: Effect.ALLOW,
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const alarm = (alarmId: string, metric: IMetric, description: string, threshold = 1): Alarm => {
      const a = new Alarm(this, alarmId, {
        alarmName: `${stack.stackName}-${alarmId}`,
        alarmDescription: `${description} Runbook: docs/deploy.md#operations`,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No data means nothing ran: not a failure.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new SnsAction(this.topic));
      a.addOkAction(new SnsAction(this.topic));
      this.alarms.push(a);
      return a;
    };

    for (const [name, sm] of props.stateMachines) {
      alarm(
        `${moduleId(name)}ExecutionsFailed`,
        sm.metricFailed({ period, statistic: 'Sum' }),
        `A ${name} execution failed.`,
      );
      alarm(
        `${moduleId(name)}ExecutionsTimedOut`,
        sm.metricTimedOut({ period, statistic: 'Sum' }),
        `A ${name} execution timed out.`,
      );
    }
    // Shared alarms, not two per function: a function's own pair would cost more CloudFormation
    // resources than the function itself. Each watches the sum over up to ten functions of one kind
    // (an alarm's metric math may read ten metrics); the dashboard's graphs show which one it was.
    for (const [kind, chunk, index] of functionChunks(props.functions)) {
      const labels = chunk.map(functionLabel).join(', ');
      const id = `${kindLabels[kind]}Functions${index > 1 ? index : ''}`;
      alarm(
        `${id}Errors`,
        summed(chunk, (fn) => fn.function.metricErrors({ period, statistic: 'Sum' })),
        `A function threw or timed out (one of ${labels}).`,
      );
      alarm(
        `${id}Throttles`,
        summed(chunk, (fn) => fn.function.metricThrottles({ period, statistic: 'Sum' })),
        `A function was throttled (one of ${labels}).`,
      );
    }
    const dlqDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' });
    alarm(
      'ImportDeadLetters',
      dlqDepth,
      'An S3 notification failed every import attempt; the message is in the dead-letter queue.',
    );

    // Every ERROR line of the import (Powertools and the runtime both log `"level":"ERROR"` in JSON format),
    // including unreadable files that the import reports rather than throws on.
    new MetricFilter(this, 'ImportFailuresFilter', {
      logGroup: props.importFunction.logGroup,
      filterPattern: FilterPattern.stringValue('$.level', '=', 'ERROR'),
      metricNamespace,
      metricName: metricNames.importFailures,
      metricValue: '1',
    });
    const importFailures = new Metric({
      namespace: metricNamespace,
      metricName: metricNames.importFailures,
      period,
      statistic: 'Sum',
    });
    alarm('ImportFailures', importFailures, 'The import logged an error (a file could not be read or imported).');
    const api5xx = props.httpApi.metricServerError({ period, statistic: 'Sum' });
    alarm('Api5xx', api5xx, 'The API answered 5xx repeatedly.', 5);

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${stack.stackName}-ops`,
      defaultInterval: Duration.hours(24),
    });
    const executionWidgets = [...props.stateMachines].map(
      ([name, sm]) =>
        new GraphWidget({
          title: `${name}: executions by status`,
          stacked: true,
          left: [
            sm.metricStarted({ period, statistic: 'Sum', label: 'started' }),
            sm.metricSucceeded({ period, statistic: 'Sum', label: 'succeeded' }),
            sm.metricFailed({ period, statistic: 'Sum', label: 'failed' }),
            sm.metricTimedOut({ period, statistic: 'Sum', label: 'timed out' }),
            sm.metricAborted({ period, statistic: 'Sum', label: 'aborted' }),
          ],
        }),
    );
    const custom = (metricName: string, label: string) =>
      new Metric({ namespace: metricNamespace, metricName, period, statistic: 'Sum', label });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          "# usage-corrections\nFind a batch's execution by its name `<batchId>-<action>-v<version>`; see docs/deploy.md.",
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }));
    this.dashboard.addWidgets(
      ...(executionWidgets.length
        ? executionWidgets
        : [new TextWidget({ markdown: 'No workflows deployed yet.', width: 24, height: 2 })]),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Batch throughput',
        left: [custom(metricNames.eventsProcessed, 'events processed')],
        right: [...props.stateMachines].map(([name, sm]) =>
          sm.metricSucceeded({ period, statistic: 'Sum', label: `${name} succeeded` }),
        ),
        width: 12,
      }),
      new GraphWidget({
        title: 'Imports',
        left: [
          custom(metricNames.importRowsAccepted, 'rows accepted'),
          custom(metricNames.importRowsRejected, 'rows rejected'),
        ],
        right: [
          props.importFunction.function.metricInvocations({ period, statistic: 'Sum', label: 'files' }),
          importFailures.with({ label: 'failures' }),
          dlqDepth.with({ label: 'dead letters' }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Function errors',
        left: props.functions.map((fn) =>
          fn.function.metricErrors({ period, statistic: 'Sum', label: functionLabel(fn) }),
        ),
        width: 8,
      }),
      new GraphWidget({
        title: 'Function throttles',
        left: props.functions.map((fn) =>
          fn.function.metricThrottles({ period, statistic: 'Sum', label: functionLabel(fn) }),
        ),
        width: 8,
      }),
      new GraphWidget({
        title: 'API',
        left: [
          props.httpApi.metricCount({ period, statistic: 'Sum', label: 'requests' }),
          props.httpApi.metricClientError({ period, statistic: 'Sum', label: '4xx' }),
          api5xx.with({ label: '5xx' }),
        ],
        right: [props.httpApi.metricLatency({ period, statistic: 'p95', label: 'p95 latency' })],
        width: 8,
      }),
    );
  }
}

function functionLabel(fn: ServiceFunction): string {
  if (fn.kind === 'import') return 'Import';
  return fn.kind === 'task' ? `Task${fn.node.id}` : `Api${fn.node.id}`;
}

/** Metrics an alarm's metric math may read (a CloudWatch hard limit). */
export const metricsPerAlarm = 10;

const kindLabels: Record<FunctionKind, string> = { api: 'Api', task: 'Task', import: 'Import' };

/** The functions by kind, in chunks an alarm can read: [kind, functions, 1-based chunk number]. */
function functionChunks(functions: readonly ServiceFunction[]): [FunctionKind, ServiceFunction[], number][] {
  const chunks: [FunctionKind, ServiceFunction[], number][] = [];
  for (const kind of Object.keys(kindLabels) as FunctionKind[]) {
    const ofKind = functions.filter((fn) => fn.kind === kind);
    for (let i = 0; i < ofKind.length; i += metricsPerAlarm)
      chunks.push([kind, ofKind.slice(i, i + metricsPerAlarm), i / metricsPerAlarm + 1]);
  }
  return chunks;
}

/** The sum of one metric over several functions; a function with no data that period counts 0. */
function summed(functions: readonly ServiceFunction[], metric: (fn: ServiceFunction) => IMetric): MathExpression {
  const usingMetrics = Object.fromEntries(functions.map((fn, i) => [`m${i}`, metric(fn)]));
  return new MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    period,
  });
}
