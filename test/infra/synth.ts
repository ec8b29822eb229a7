// Synthesizes the stack for assertions: bundling off (TOOLCHAIN: ~0.25 s a stack), the feature
// flags of cdk.json, and the cloud assembly under .local/ instead of /tmp.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import { projectRoot } from '../../infra/constructs/functions';
import { UsageCorrectionsStack, type UsageCorrectionsStackProps } from '../../infra/stack';

export const cdkContext = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')).context as Record<
  string,
  unknown
>;

export function testOutdir(label: string): string {
  const dir = join(projectRoot, '.local', 'cdk-test', label);
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

export interface Synthesized {
  app: App;
  stack: UsageCorrectionsStack;
  template: Template;
}

export function synth(label: string, props: UsageCorrectionsStackProps = {}): Synthesized {
  // The built-in CloudFormation validation costs ~1-5 s a synth; `npm run synth` keeps it.
  const app = new App({
    outdir: testOutdir(label),
    context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  const stack = new UsageCorrectionsStack(app, 'UsageCorrections', props);
  return { app, stack, template: Template.fromStack(stack) };
}

type Resources = Record<
  string,
  { Type: string; Properties: any; DependsOn?: unknown; DeletionPolicy?: string; UpdateReplacePolicy?: string }
>;

/** Resources of a type, by logical id. */
export function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** The logical id CloudFormation knows a construct's resource by. */
export function logicalId(construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).resolve(resource.logicalId) as string;
}

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
}

export const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of every identity policy attached to a role. */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  const policies = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).filter((p) =>
    asList(p.Properties.Roles).some((r: any) => r.Ref === roleLogicalId),
  );
  const role = resourcesOf(template, 'AWS::IAM::Role')[roleLogicalId];
  if (!role) throw new Error(`no role ${roleLogicalId}`);
  const inline = asList(role.Properties.Policies).flatMap((p: any) => p.PolicyDocument.Statement as Statement[]);
  return [...policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]), ...inline];
}

/** The role logical id of a Lambda function resource. */
export function roleOfFunction(template: Template, functionLogicalId: string): string {
  const fn = resourcesOf(template, 'AWS::Lambda::Function')[functionLogicalId];
  if (!fn) throw new Error(`no function ${functionLogicalId}`);
  return fn.Properties.Role['Fn::GetAtt'][0] as string;
}
