// The one function factory: every Lambda of the stack (routes, workflow tasks, the import) is built
// here, so runtime, bundling, logging and least-privilege grants are decided once.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, RecursiveLoop, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from './nag';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * What a function may touch (the `access` of a route or task). Same shape as `Access` in
 * functions/api/routes.ts, with workflow names widened to strings so fixtures can name their own.
 */
export interface AccessSpec {
  table: 'read' | 'readWrite';
  bucket?: 'read' | 'readWrite';
  workflows?: readonly string[];
  /** Publishes domain events to the stack's event bus. */
  events?: true;
}

export interface FunctionSpec {
  /** Module path from the project root (or absolute); its `handler` export is the Lambda handler. */
  handler: string;
  access: AccessSpec;
}

/** Sizing per kind of function: API handlers answer within API Gateway's 30 s; tasks and imports work in chunks. */
export const functionKinds = {
  api: { memorySize: 1024, timeout: Duration.seconds(15) },
  task: { memorySize: 1024, timeout: Duration.minutes(5) },
  // A large CSV may take minutes; the handler is idempotent, so a retry after a timeout redoes nothing.
  import: { memorySize: 1024, timeout: Duration.minutes(15) },
} as const;
export type FunctionKind = keyof typeof functionKinds;

export interface CreateFunctionOptions {
  kind: FunctionKind;
  /** State machines a function may start, by workflow name; required when `access.workflows` is set. */
  stateMachines?: ReadonlyMap<string, IStateMachine>;
  /** Where failed asynchronous invocations go (the import function). */
  deadLetterQueue?: IQueue;
  /**
   * The function invokes itself by design (the import continuing a long file): Lambda's recursive
   * loop detection would stop the chain after 16 invocations and send the event to the dead-letter queue.
   */
  invokesItself?: true;
  /** What the function does, for its description, its role's and its alarms'; default: its handler module. */
  description?: string;
}

export interface FunctionFactoryProps {
  table: ITable;
  bucket: IBucket;
  /** Where domain events go (balance-group moves, transfers, adjustments). */
  eventBus: IEventBus;
  logRetention?: RetentionDays;
  /** Root that handler module paths are relative to. */
  projectRoot?: string;
  /** Settings every function reads from its environment (validated by shared/config at cold start). */
  settings?: Readonly<Record<string, string>>;
}

/** A Lambda function with its own role and log group, granted exactly its `access`. */
export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly kind: FunctionKind;
  readonly spec: FunctionSpec;
  readonly description: string;

  constructor(
    scope: Construct,
    id: string,
    factory: FunctionFactoryProps,
    spec: FunctionSpec,
    options: CreateFunctionOptions,
  ) {
    super(scope, id);
    this.kind = options.kind;
    this.spec = spec;
    this.description = options.description ?? spec.handler;
    const root = factory.projectRoot ?? projectRoot;
    const { access } = spec;
    const stateMachines = workflowsOf(spec, options.stateMachines);

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: factory.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs ${this.description}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: resolve(root, spec.handler),
      handler: 'handler',
      description: this.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: functionKinds[options.kind].memorySize,
      timeout: functionKinds[options.kind].timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      deadLetterQueue: options.deadLetterQueue,
      ...(options.invokesItself ? { recursiveLoop: RecursiveLoop.ALLOW } : {}),
      projectRoot: root,
      depsLockFilePath: join(root, 'package-lock.json'),
      environment: {
        TABLE_NAME: factory.table.tableName,
        ...(access.bucket ? { BUCKET_NAME: factory.bucket.bucketName } : {}),
        ...(access.events ? { EVENT_BUS_NAME: factory.eventBus.eventBusName } : {}),
        ...(stateMachines.size > 0
          ? {
              STATE_MACHINE_ARNS: Stack.of(this).toJsonString(
                Object.fromEntries([...stateMachines].map(([name, sm]) => [name, sm.stateMachineArn])),
              ),
            }
          : {}),
        ...factory.settings,
        NODE_OPTIONS: '--enable-source-maps',
        LOG_LEVEL: 'INFO',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        // Prefer packages' ESM builds: they tree-shake.
        mainFields: ['module', 'main'],
        // Bundled CommonJS dependencies call `require`, which ESM lacks; aliased to avoid clashing with bundled names.
        banner:
          "import { createRequire as __cjsCreateRequire } from 'node:module'; const require = __cjsCreateRequire(import.meta.url);",
        minify: true,
        keepNames: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // The SDK we tested with, not whatever version the runtime ships today.
        bundleAwsSDK: true,
      },
    });

    if (access.table === 'readWrite') factory.table.grantReadWriteData(this.role);
    else factory.table.grantReadData(this.role);
    if (access.bucket) grantBucket(factory.bucket, this.role, access.bucket);
    if (access.events) factory.eventBus.grantPutEventsTo(this.role);
    for (const sm of stateMachines.values()) {
      sm.grantStartExecution(this.role);
      sm.grantExecution(this.role, 'states:DescribeExecution');
    }
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the project pins and tests on (DESIGN §5, TOOLCHAIN); moving to 24 is its own change.',
    });
    acknowledgeWildcardResources(this.role, {
      table: factory.table,
      bucket: access.bucket ? factory.bucket : undefined,
      stateMachines: [...stateMachines.values()],
    });
  }
}

/**
 * Object reads and writes only. `bucket.grantRead`/`grantReadWrite` would add wildcard actions
 * (`s3:GetBucket*`, `s3:List*`, `s3:DeleteObject*`): no function reads bucket configuration, and
 * none may delete object versions, which would defeat versioning as the record of what partners sent.
 */
export const bucketActions = {
  read: { objects: ['s3:GetObject', 's3:GetObjectVersion'], bucket: ['s3:ListBucket'] },
  readWrite: { objects: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'], bucket: ['s3:ListBucket'] },
} as const;

function grantBucket(bucket: IBucket, role: Role, level: 'read' | 'readWrite'): void {
  const actions = bucketActions[level];
  Grant.addToPrincipal({ grantee: role, actions: [...actions.objects], resourceArns: [bucket.arnForObjects('*')] });
  // ListBucket lets a missing key answer 404 instead of 403.
  Grant.addToPrincipal({ grantee: role, actions: [...actions.bucket], resourceArns: [bucket.bucketArn] });
}

function workflowsOf(
  spec: FunctionSpec,
  stateMachines: ReadonlyMap<string, IStateMachine> = new Map(),
): Map<string, IStateMachine> {
  const found = new Map<string, IStateMachine>();
  for (const name of [...new Set(spec.access.workflows ?? [])].sort()) {
    const sm = stateMachines.get(name);
    if (!sm) throw new Error(`${spec.handler} needs workflow '${name}', which is not defined`);
    found.set(name, sm);
  }
  return found;
}

/** Built once per stack; every function goes through `create`. */
export class FunctionFactory {
  readonly created: ServiceFunction[] = [];
  constructor(private readonly props: FunctionFactoryProps) {}

  create(scope: Construct, id: string, spec: FunctionSpec, options: CreateFunctionOptions): ServiceFunction {
    const fn = new ServiceFunction(scope, id, this.props, spec, options);
    this.created.push(fn);
    return fn;
  }
}

/** `functions/api/get-batch.ts` → `GetBatch`: a stable construct id per handler module. */
export function moduleId(handler: string): string {
  const base = handler.replace(/^functions\//, '').replace(/\.[cm]?[jt]s$/, '');
  return base
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}
