// The cloud stack: table, imports bucket, workflows, HTTP API and their alarms. The route table and
// the workflow list are props defaulting to the real ones, so tests can prove the wiring with fixtures.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { approvalSettings, type ApprovalProps } from './approval';
import { Api, type RouteSpec } from './constructs/api';
import { Dashboard } from './constructs/dashboard';
import { Data } from './constructs/data';
import { DomainEvents } from './constructs/domain-events';
import { FunctionFactory, moduleId, type FunctionSpec } from './constructs/functions';
import { Imports, importFunction } from './constructs/imports';
import { Observability } from './constructs/observability';
import { Workflows, type WorkflowSpec } from './constructs/workflows';

export interface UsageCorrectionsStackProps extends StackProps {
  routes?: readonly RouteSpec[];
  taskFunctions?: Readonly<Record<string, FunctionSpec>>;
  workflows?: Readonly<Record<string, WorkflowSpec>>;
  importFunction?: FunctionSpec;
  /** Root that handler modules and ASL files are relative to. */
  projectRoot?: string;
  logRetention?: RetentionDays;
  alarmEmail?: string;
  /** The dashboard's sign-in domain prefix (default `usage-corrections-<account>`). */
  signInDomainPrefix?: string;
  /** A CloudFront web ACL (us-east-1) for the dashboard. */
  dashboardWebAclArn?: string;
  /** Four-eyes approval of submit (docs/workflows.md); absent: off. */
  approval?: ApprovalProps;
}

export class UsageCorrectionsStack extends Stack {
  readonly data: Data;
  readonly imports: Imports;
  readonly events: DomainEvents;
  readonly workflows: Workflows;
  readonly api: Api;
  readonly observability: Observability;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: UsageCorrectionsStackProps = {}) {
    super(scope, id, props);
    const { logRetention } = props;
    this.data = new Data(this, 'Data');
    this.imports = new Imports(this, 'Imports');
    this.events = new DomainEvents(this, 'DomainEvents');
    const functions = new FunctionFactory({
      table: this.data.table,
      bucket: this.imports.bucket,
      eventBus: this.events.bus,
      logRetention,
      projectRoot: props.projectRoot,
      settings: approvalSettings(props.approval),
    });
    const importFn = this.imports.addImportFunction(functions, props.importFunction ?? importFunction);
    this.events.addOutboxRelay(functions);
    this.workflows = new Workflows(this, 'Workflows', {
      functions,
      taskFunctions: props.taskFunctions,
      workflows: props.workflows,
      logRetention,
      projectRoot: props.projectRoot,
    });
    this.api = new Api(this, 'Api', {
      functions,
      stateMachines: this.workflows.stateMachines,
      routes: props.routes,
      logRetention,
      projectRoot: props.projectRoot,
    });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      httpApi: this.api.httpApi,
      apiUrl: this.api.url,
      importsBucket: this.imports.bucket,
      signInDomainPrefix: props.signInDomainPrefix,
      webAclArn: props.dashboardWebAclArn,
    });
    this.observability = new Observability(this, 'Observability', {
      functions: functions.created,
      stateMachines: this.workflows.stateMachines,
      importFunction: importFn,
      deadLetterQueue: this.imports.deadLetterQueue,
      httpApi: this.api.httpApi,
      alarmEmail: props.alarmEmail,
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: 'HTTP API base URL (SigV4, service execute-api)',
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: this.dashboard.url,
      description: 'The Usage Events Dashboard (sign in with a user of OperatorsUserPoolId)',
    });
    new CfnOutput(this, 'OperatorsUserPoolId', {
      value: this.dashboard.userPool.userPoolId,
      description: 'Dashboard operators: add users here (docs/deploy.md)',
    });
    new CfnOutput(this, 'BucketName', { value: this.imports.bucket.bucketName, description: 'CSV imports bucket' });
    new CfnOutput(this, 'TableName', { value: this.data.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.topic.topicArn });
    new CfnOutput(this, 'ImportFunctionName', {
      value: importFn.function.functionName,
      description: 'Re-deliver a dead letter to it',
    });
    new CfnOutput(this, 'ImportDeadLetterQueueUrl', { value: this.imports.deadLetterQueue.queueUrl });
    for (const [name, sm] of this.workflows.stateMachines) {
      new CfnOutput(this, `${moduleId(name)}StateMachineArn`, {
        value: sm.stateMachineArn,
        description: `${name} state machine`,
      });
    }
  }
}
