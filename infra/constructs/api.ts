// The HTTP API, generated from the one route table: IAM authorization on every route, one
// function per handler module, access logs and default-stage throttling.
import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { routes as realRoutes, type HttpMethod as RouteMethod } from '../../functions/api/routes';
import { moduleId, type AccessSpec, type FunctionFactory, type ServiceFunction } from './functions';

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
  /** By handler module. */
  readonly functions = new Map<string, ServiceFunction>();

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const routes = props.routes ?? realRoutes;
    checkUnique(routes);

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

    for (const [handler, served] of groupByHandler(routes)) {
      const fn = props.functions.create(this, moduleId(handler), { handler, access: mergeAccess(served.map((r) => r.access)) }, {
        kind: 'api',
        stateMachines: props.stateMachines,
      });
      this.functions.set(handler, fn);
      const integration = new HttpLambdaIntegration(`${moduleId(handler)}Integration`, fn.function);
      for (const route of served) {
        this.httpApi.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration });
      }
    }
  }

  get url(): string {
    return this.stage.url;
  }
}

function checkUnique(routes: readonly RouteSpec[]): void {
  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) throw new Error(`route ${key} is listed twice`);
    seen.add(key);
  }
}

function groupByHandler(routes: readonly RouteSpec[]): Map<string, RouteSpec[]> {
  const groups = new Map<string, RouteSpec[]>();
  for (const r of routes) groups.set(r.handler, [...(groups.get(r.handler) ?? []), r]);
  return groups;
}

/** One module serving several routes needs what all of them need, and nothing more. */
export function mergeAccess(accesses: readonly AccessSpec[]): AccessSpec {
  const table = accesses.some((a) => a.table === 'readWrite') ? 'readWrite' : 'read';
  const buckets = accesses.map((a) => a.bucket).filter((b) => b !== undefined);
  const bucket = buckets.includes('readWrite') ? 'readWrite' : buckets.length ? 'read' : undefined;
  const workflows = [...new Set(accesses.flatMap((a) => a.workflows ?? []))].sort();
  const events = accesses.some((a) => a.events) ? ({ events: true } as const) : {};
  return { table, ...(bucket ? { bucket } : {}), ...(workflows.length ? { workflows } : {}), ...events };
}
