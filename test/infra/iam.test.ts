// Least privilege, read off the synthesized template: each function's role allows exactly what its
// `access` names, and no Allow statement anywhere uses a wildcard action.
import { beforeAll, describe, expect, it } from 'vitest';
import { routeGroup, routes } from '../../functions/api/routes';
import type { AccessSpec, ServiceFunction } from '../../infra/constructs/functions';
import { importFunction } from '../../infra/constructs/imports';
import { fixtureProps, fixtureTaskFunctions } from './fixture';
import {
  asList,
  logicalId,
  resourcesOf,
  roleOfFunction,
  roleStatements,
  synth,
  type Statement,
  type Synthesized,
} from './synth';

let real: Synthesized;
let fixture: Synthesized;
beforeAll(() => {
  real = synth('iam-real');
  fixture = synth('iam-fixture', fixtureProps);
});

// What `grantReadData` / `grantReadWriteData` allow (aws-cdk-lib 2.276); a CDK upgrade that changes them fails here on purpose.
const tableRead = [
  'dynamodb:BatchGetItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:Query',
  'dynamodb:Scan',
];
const tableWrite = ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

/** What a function may do, by the resource it acts on. */
type Allowed = Record<string, string[]>;

function expected(access: AccessSpec, extra: Allowed = {}): Allowed {
  const allowed: Allowed = {
    logs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    table: access.table === 'readWrite' ? [...tableRead, ...tableWrite] : tableRead,
    ...extra,
  };
  if (access.bucket === 'read')
    Object.assign(allowed, { bucketObjects: ['s3:GetObject', 's3:GetObjectVersion'], bucket: ['s3:ListBucket'] });
  if (access.bucket === 'readWrite')
    Object.assign(allowed, {
      bucketObjects: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
      bucket: ['s3:ListBucket'],
    });
  for (const wf of access.workflows ?? []) allowed[`workflow:${wf}`] = ['states:StartExecution'];
  for (const wf of access.workflows ?? []) allowed[`executions:${wf}`] = ['states:DescribeExecution'];
  if (access.events) allowed.eventBus = ['events:PutEvents'];
  for (const key of Object.keys(allowed)) allowed[key] = [...allowed[key]!].sort();
  return allowed;
}

/** The actions a function's role allows, grouped by what each resource is. Fails on a resource it cannot name. */
function allowedFor(s: Synthesized, fn: ServiceFunction): Allowed {
  const names = new Map<string, string>([
    [`{"Fn::GetAtt":["${logicalId(fn.logGroup)}","Arn"]}`, 'logs'],
    [`{"Fn::GetAtt":["${logicalId(s.stack.data.table)}","Arn"]}`, 'table'],
    [`{"Fn::Join":["",[{"Fn::GetAtt":["${logicalId(s.stack.data.table)}","Arn"]},"/index/*"]]}`, 'table'],
    [`{"Fn::GetAtt":["${logicalId(s.stack.imports.bucket)}","Arn"]}`, 'bucket'],
    [`{"Fn::Join":["",[{"Fn::GetAtt":["${logicalId(s.stack.imports.bucket)}","Arn"]},"/*"]]}`, 'bucketObjects'],
    [`{"Fn::GetAtt":["${logicalId(s.stack.imports.deadLetterQueue)}","Arn"]}`, 'deadLetterQueue'],
    [`{"Fn::GetAtt":["${logicalId(s.stack.events.bus)}","Arn"]}`, 'eventBus'],
    [
      `{"Fn::GetAtt":["${logicalId((s.stack.imports.node.findChild('Function') as ServiceFunction).function)}","Arn"]}`,
      'importFunction',
    ],
  ]);
  for (const [name, sm] of s.stack.workflows.stateMachines) {
    names.set(`{"Ref":"${logicalId(sm)}"}`, `workflow:${name}`);
    names.set(
      JSON.stringify({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':states:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':execution:',
            { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: logicalId(sm) }] }] },
            ':*',
          ],
        ],
      }),
      `executions:${name}`,
    );
  }
  const allowed: Record<string, Set<string>> = {};
  for (const st of roleStatements(s.template, roleOfFunction(s.template, logicalId(fn.function)))) {
    expect(st.Effect).toBe('Allow');
    for (const resource of asList(st.Resource)) {
      const name = names.get(JSON.stringify(resource));
      expect(name, `${fn.spec.handler}: unexpected resource ${JSON.stringify(resource)}`).toBeDefined();
      for (const action of asList(st.Action)) (allowed[name!] ??= new Set()).add(action);
    }
  }
  return Object.fromEntries(Object.entries(allowed).map(([k, v]) => [k, [...v].sort()]));
}

describe('function roles', () => {
  it('allow each route group function exactly what the access of each of its routes names (real route table)', () => {
    for (const route of routes) {
      const fn = real.stack.api.functions.get(routeGroup(route))!;
      expect(allowedFor(real, fn), `${route.method} ${route.path}`).toEqual(expected(route.access));
    }
  });

  it('allow each fixture route group function exactly what its routes need', () => {
    const fns = fixture.stack.api.functions;
    expect(allowedFor(fixture, fns.get('health-read')!)).toEqual(expected({ table: 'read' }));
    // One module serving GET (read) and POST (readWrite) runs in two functions: its reads never hold write access.
    expect(allowedFor(fixture, fns.get('fixture-read')!)).toEqual(expected({ table: 'read' }));
    expect(allowedFor(fixture, fns.get('fixture-write')!)).toEqual(expected({ table: 'readWrite' }));
    expect(allowedFor(fixture, fns.get('fixture-write-fixture-submit')!)).toEqual(
      expected({ table: 'readWrite', workflows: ['fixture-submit'] }),
    );
    expect(allowedFor(fixture, fns.get('fixture-write-fixture-revert')!)).toEqual(
      expected({ table: 'readWrite', workflows: ['fixture-revert'] }),
    );
    expect(allowedFor(fixture, fns.get('fixture-read-bucket-read')!)).toEqual(
      expected({ table: 'read', bucket: 'read' }),
    );
    expect([...fns.keys()].sort()).toEqual([
      'fixture-read',
      'fixture-read-bucket-read',
      'fixture-write',
      'fixture-write-fixture-revert',
      'fixture-write-fixture-submit',
      'health-read',
    ]);
  });

  it('allow each task function exactly its access', () => {
    for (const [task, fn] of fixture.stack.workflows.taskFunctions) {
      expect(allowedFor(fixture, fn), task).toEqual(expected(fixtureTaskFunctions[task]!.access));
    }
  });

  it('allow the import function its access, sending to its dead-letter queue and invoking itself (to continue a long file)', () => {
    const fn = real.stack.imports.node.findChild('Function') as ServiceFunction;
    expect(allowedFor(real, fn)).toEqual(
      expected(importFunction.access, {
        deadLetterQueue: ['sqs:SendMessage'],
        importFunction: ['lambda:InvokeFunction'],
      }),
    );
  });

  it('carry no managed policy', () => {
    for (const s of [real, fixture]) {
      for (const fn of [...s.stack.api.functions.values(), ...s.stack.workflows.taskFunctions.values()]) {
        const role = resourcesOf(s.template, 'AWS::IAM::Role')[logicalId(fn.role)]!;
        expect(role.Properties.ManagedPolicyArns, fn.spec.handler).toBeUndefined();
      }
    }
  });
});

describe('state machine roles', () => {
  it('may invoke exactly their own task functions, and use X-Ray and log delivery, which take no resource scope', () => {
    for (const [name, sm] of fixture.stack.workflows.stateMachines) {
      const statements = roleStatements(fixture.template, logicalId(sm.role));
      const invoke = statements.filter((st) => asList(st.Action).includes('lambda:InvokeFunction'));
      const tasks = fixtureProps.workflows[name]!.tasks.map((t) =>
        logicalId(fixture.stack.workflows.taskFunctions.get(t)!.function),
      );
      expect(
        invoke
          .flatMap((st) => asList(st.Resource))
          .map((r) => JSON.stringify(r))
          .sort(),
        name,
      ).toEqual(
        tasks
          .flatMap((id) => [
            JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] }),
            JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, ':$LATEST']] }),
          ])
          .sort(),
      );
      const unscoped = statements.filter((st) => asList(st.Resource).includes('*')).flatMap((st) => asList(st.Action));
      expect(
        unscoped.every(
          (a) =>
            a.startsWith('xray:') ||
            /^logs:(Create|Get|Update|Delete|List)LogDeliver(y|ies)$|^logs:(PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$/.test(
              a,
            ),
        ),
        name,
      ).toBe(true);
    }
  });
});

describe('every policy in the template', () => {
  const policyDocuments = (s: Synthesized): [string, Statement[]][] => {
    const docs: [string, Statement[]][] = [];
    const add = (type: string, pick: (p: any) => any[]) => {
      for (const [id, r] of Object.entries(resourcesOf(s.template, type)))
        for (const doc of pick(r.Properties)) docs.push([`${type} ${id}`, doc.Statement]);
    };
    add('AWS::IAM::Policy', (p) => [p.PolicyDocument]);
    add('AWS::IAM::ManagedPolicy', (p) => [p.PolicyDocument]);
    add('AWS::IAM::Role', (p) => asList(p.Policies).map((x: any) => x.PolicyDocument));
    add('AWS::S3::BucketPolicy', (p) => [p.PolicyDocument]);
    add('AWS::SQS::QueuePolicy', (p) => [p.PolicyDocument]);
    add('AWS::SNS::TopicPolicy', (p) => [p.PolicyDocument]);
    add('AWS::KMS::Key', (p) => [p.KeyPolicy]);
    return docs;
  };

  it.each([
    ['real', () => real],
    ['fixture', () => fixture],
  ])('allows no wildcard action (%s stack)', (_name, stackOf) => {
    const docs = policyDocuments(stackOf());
    expect(docs.length).toBeGreaterThan(5);
    for (const [where, statements] of docs) {
      for (const st of statements.filter((x) => x.Effect === 'Allow')) {
        // A key policy's account-root statement is how IAM (not the key policy) decides who uses the key.
        if (where.startsWith('AWS::KMS::Key') && JSON.stringify(st.Principal).includes(':root')) continue;
        for (const action of asList(st.Action)) expect(action, `${where}: ${action}`).not.toContain('*');
      }
    }
  });
});
