import { beforeAll, describe, expect, it } from 'vitest';
import { metricsPerAlarm } from '../../infra/constructs/observability';
import { metricNames, metricNamespace } from '../../shared/metrics';
import { fixtureProps } from './fixture';
import { asList, logicalId, resourcesOf, synth, type Statement, type Synthesized } from './synth';

let fixture: Synthesized;
let real: Synthesized;
let alarms: any[];
beforeAll(() => {
  fixture = synth('observability', { ...fixtureProps, alarmEmail: 'ops@example.com' });
  real = synth('observability-real');
  alarms = Object.values(resourcesOf(fixture.template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
});

const alarmsOn = (namespace: string, metricName: string) =>
  alarms.filter((a) => a.Namespace === namespace && a.MetricName === metricName);
const dimension = (a: any, name: string) => asList(a.Dimensions).find((d: any) => d.Name === name)?.Value;

describe('alarms', () => {
  it('fire on a failed or timed-out execution of every state machine', () => {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      const watched = alarmsOn('AWS/States', metric).map((a) => dimension(a, 'StateMachineArn'));
      expect(watched, metric).toEqual(
        expect.arrayContaining(
          [...fixture.stack.workflows.stateMachines.values()].map((sm) => ({ Ref: logicalId(sm) })),
        ),
      );
      expect(watched).toHaveLength(fixture.stack.workflows.stateMachines.size);
    }
  });

  it.each([
    ['fixture', () => fixture],
    ['real', () => real],
  ])(
    'fire on errors and throttles of every function, each function read by one shared alarm of at most ten metrics (%s stack)',
    (_name, stackOf) => {
      // CDK's deploy-time functions (bucket notifications, the dashboard's file copy) serve no request.
      const deployTime = ['BucketNotificationsHandler', 'CustomCDKBucketDeployment'];
      const functions = Object.keys(resourcesOf(stackOf().template, 'AWS::Lambda::Function')).filter(
        (id) => !deployTime.some((prefix) => id.startsWith(prefix)),
      );
      const alarms = Object.values(resourcesOf(stackOf().template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
      for (const metric of ['Errors', 'Throttles']) {
        const shared = alarms.filter((a) => a.Metrics?.some((m: any) => m.MetricStat?.Metric.MetricName === metric));
        const watched = shared.flatMap((a) => {
          const read = a.Metrics.filter((m: any) => m.MetricStat);
          expect(read.length, a.AlarmName).toBeLessThanOrEqual(metricsPerAlarm);
          for (const m of read)
            expect(m.MetricStat, a.AlarmName).toMatchObject({
              Metric: { Namespace: 'AWS/Lambda', MetricName: metric },
              Period: 300,
              Stat: 'Sum',
            });
          // The alarm watches the sum of every metric it reads, a function without data counting 0.
          const [expression] = a.Metrics.filter((m: any) => m.ReturnData !== false);
          expect(expression.Expression).toBe(read.map((m: any) => `FILL(${m.Id}, 0)`).join(' + '));
          expect(a).toMatchObject({
            Threshold: 1,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            EvaluationPeriods: 1,
          });
          return read.map((m: any) => dimension(m.MetricStat.Metric, 'FunctionName').Ref);
        });
        expect(watched.sort(), metric).toEqual(functions.sort());
        expect(shared.length, metric).toBe(Math.ceil(stackOf().stack.api.functions.size / metricsPerAlarm) + 2);
      }
      expect(alarms.filter((a) => a.Namespace === 'AWS/Lambda')).toEqual([]);
    },
  );

  it('fire when a message reaches the import dead-letter queue', () => {
    const [dlq] = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible');
    expect(dimension(dlq, 'QueueName')).toEqual({
      'Fn::GetAtt': [logicalId(fixture.stack.imports.deadLetterQueue), 'QueueName'],
    });
    expect(dlq).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Statistic: 'Maximum',
    });
  });

  it('count ERROR lines of the import function as import failures, and fire on one', () => {
    const filters = Object.values(resourcesOf(fixture.template, 'AWS::Logs::MetricFilter')).map((f) => f.Properties);
    const importLogs = (fixture.stack.imports.node.findChild('Function') as any).logGroup;
    expect(filters).toEqual([
      {
        LogGroupName: { Ref: logicalId(importLogs) },
        FilterPattern: '{ $.level = "ERROR" }',
        MetricTransformations: [
          { MetricNamespace: metricNamespace, MetricName: metricNames.importFailures, MetricValue: '1' },
        ],
      },
    ]);
    expect(alarmsOn(metricNamespace, metricNames.importFailures)).toEqual([
      expect.objectContaining({ Threshold: 1, Statistic: 'Sum' }),
    ]);
  });

  it('treat missing data as fine and notify the alarm topic both on alarm and on recovery', () => {
    const topic = { Ref: logicalId(fixture.stack.observability.topic) };
    expect(alarms.length).toBeGreaterThan(10);
    for (const a of alarms) {
      expect(a.AlarmActions, a.AlarmName).toEqual([topic]);
      expect(a.OKActions, a.AlarmName).toEqual([topic]);
      expect(a.TreatMissingData).toBe('notBreaching');
      expect(a.AlarmName).toMatch(/^UsageCorrections-/);
    }
  });
});

describe('the alarm topic', () => {
  it('is encrypted with a rotated customer-managed key that CloudWatch may use', () => {
    const topic = resourcesOf(fixture.template, 'AWS::SNS::Topic')[logicalId(fixture.stack.observability.topic)]!
      .Properties;
    const keyId = topic.KmsMasterKeyId['Fn::GetAtt'][0];
    const key = resourcesOf(fixture.template, 'AWS::KMS::Key')[keyId]!.Properties;
    expect(key.EnableKeyRotation).toBe(true);
    expect(key.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        }),
      ]),
    );
  });

  it('refuses publishing without TLS and lets only CloudWatch of this account publish', () => {
    const [policy] = Object.values(resourcesOf(fixture.template, 'AWS::SNS::TopicPolicy'));
    const statements: Statement[] = policy!.Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'sns:Publish',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
  });

  it('mails the address given as alarmEmail', () => {
    const subscriptions = Object.values(resourcesOf(fixture.template, 'AWS::SNS::Subscription')).map(
      (s) => s.Properties,
    );
    expect(subscriptions).toEqual([expect.objectContaining({ Protocol: 'email', Endpoint: 'ops@example.com' })]);
  });
});

describe('the ops dashboard', () => {
  it('shows alarms, executions by status per workflow, batch throughput, imports and errors', () => {
    const [dashboard] = Object.values(resourcesOf(fixture.template, 'AWS::CloudWatch::Dashboard'));
    expect(dashboard!.Properties.DashboardName).toBe('UsageCorrections-ops');
    // The body is a Fn::Join of JSON text and tokens; the literal parts are enough to read the widgets.
    const body = (dashboard!.Properties.DashboardBody['Fn::Join'][1] as unknown[])
      .filter((p) => typeof p === 'string')
      .join('');
    for (const title of [
      'Alarms',
      'fixture-submit: executions by status',
      'fixture-revert: executions by status',
      'Batch throughput',
      'Imports',
      'Function errors',
      'Function throttles',
      'API',
    ]) {
      expect(body).toContain(`"title":"${title}"`);
    }
    for (const metric of [
      'ExecutionsStarted',
      'ExecutionsSucceeded',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'ExecutionsAborted',
      metricNames.eventsProcessed,
      metricNames.importRowsRejected,
    ]) {
      expect(body).toContain(`"${metric}"`);
    }
  });
});
