// The HTTP API, generated from the one route table: IAM authorization on every route, one
// function per route group (the routes of one area that need the same access: routeGroup in
// functions/api/routes.ts), access logs and default-stage throttling.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { RemovalPolicy, Stage } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  routes as realRoutes,
  routeGroups,
  routeKey,
  type HttpMethod as RouteMethod,
} from '../../functions/api/routes';
import { moduleId, projectRoot, type AccessSpec, type FunctionFactory, type ServiceFunction } from './functions';

export interface RouteSpec {
  method: RouteMethod;
  path: string;
  handler: string;
  access: AccessSpec;
}

export interface ApiProps {
  functions: FunctionFactory;
  stateMachines: ReadonlyMap<string, IStateMachine>;
  /** Defaults to the real route table in functions/api/routes.ts. */
  routes?: readonly RouteSpec[];
  /** Whole-API limits; the account default (10,000 rps) is far above what operators and partners need. */
  throttle?: ThrottleSettings;
  logRetention?: RetentionDays;
  /** Root that handler modules are relative to. */
  projectRoot?: string;
}

// One JSON line per request; the caller's IAM identity is what ops need to trace a change.
const accessLogFormat = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  userArn: '$context.identity.userArn',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integration.status',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
};

export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** By route group. */
  readonly functions = new Map<string, ServiceFunction>();

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const routes = props.routes ?? realRoutes;
    const root = props.projectRoot ?? projectRoot;
    checkRoutes(routes, root);

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'usage-corrections v1 (IAM-authorized)',
      // Every route, present and future, requires SigV4-signed requests.
      defaultAuthorizer: new HttpIamAuthorizer(),
      // The stage is ours, so that it gets access logs and throttling.
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFormat)),
      },
    });

    const stage = Stage.of(this);
    if (!stage)
      throw new Error('the HTTP API must be built inside an App, whose cloud assembly holds the group entries');
    const entries = join(stage.outdir, 'api-group-entries');
    for (const [group, served] of routeGroups(routes)) {
      const fn = props.functions.create(
        this,
        moduleId(group),
        // Every route of a group has the same access (the group is made of it).
        { handler: writeGroupEntry(entries, group, served, root), access: served[0]!.access },
        { kind: 'api', stateMachines: props.stateMachines, description: groupDescription(group, served.length) },
      );
      this.functions.set(group, fn);
      // One integration per function; API Gateway may invoke it for each of its routes only (one permission per route).
      const integration = new HttpLambdaIntegration(`${moduleId(group)}Integration`, fn.function);
      for (const route of served) {
        this.httpApi.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration });
      }
    }
  }

  get url(): string {
    return this.stage.url;
  }
}

function checkRoutes(routes: readonly RouteSpec[], root: string): void {
  const seen = new Set<string>();
  for (const r of routes) {
    const key = routeKey(r);
    if (seen.has(key)) throw new Error(`route ${key} is listed twice`);
    seen.add(key);
    if (!existsSync(resolve(root, r.handler))) throw new Error(`route ${key}: ${r.handler} does not exist`);
  }
}

/** Short enough for Lambda's 256 characters however many routes a group has. */
function groupDescription(group: string, routeCount: number): string {
  return `Serves the ${group} routes of functions/api/routes.ts (${routeCount} ${routeCount === 1 ? 'route' : 'routes'})`;
}

/**
 * The group's Lambda entry, written beside the cloud assembly: the group dispatcher over its
 * routes' handler modules, each imported on its route's first request. esbuild bundles exactly
 * these modules; the local HTTP API builds the same dispatcher (infra/local/api-functions.ts).
 */
export function writeGroupEntry(dir: string, group: string, served: readonly RouteSpec[], root: string): string {
  const file = join(dir, `${group}.ts`);
  const from = (module: string) => JSON.stringify(relative(dirname(file), resolve(root, module)).split('\\').join('/'));
  const lines = [
    `// The ${group} function of the HTTP API, written by infra/constructs/api.ts from functions/api/routes.ts.`,
    `import { routeGroupHandler } from ${from('functions/api/route-group.ts')};`,
    '',
    'export const handler = routeGroupHandler({',
    ...served.map((r) => `  ${JSON.stringify(routeKey(r))}: () => import(${from(r.handler)}),`),
    '});',
    '',
  ];
  mkdirSync(dir, { recursive: true });
  // Written whole, then renamed: parallel syntheses into one folder never see half a file.
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, lines.join('\n'));
  renameSync(partial, file);
  return file;
}
