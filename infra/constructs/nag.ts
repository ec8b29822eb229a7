// cdk-nag acknowledgments that name the exact wildcard resource they accept, so a new or wider
// wildcard is still reported.
import { CfnElement, Token, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';

export interface GrantedResources {
  table: ITable;
  bucket?: IBucket;
  stateMachines: readonly IStateMachine[];
}

/** The wildcard resources a function's `grant*` calls produce, each acknowledged by its exact finding. */
export function acknowledgeWildcardResources(role: IConstruct, granted: GrantedResources): void {
  const stack = Stack.of(role);
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${logicalId(stack, granted.table)}.Arn>/index/*]`,
    reason:
      "grantReadData/grantReadWriteData add this table's own global secondary indexes as index/*; the data-access layer queries them (events of a partition, batches by time, children of an event).",
  });
  if (granted.bucket) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId(stack, granted.bucket)}.Arn>/*]`,
      reason:
        'Objects of the imports bucket only (CSV drops and results/ reports); object keys are chosen by partners, so no narrower pattern holds.',
    });
  }
  for (const sm of granted.stateMachines) {
    // grantExecution derives the machine's name from its ARN; cdk-nag renders that intrinsic as JSON.
    const name = JSON.stringify({ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: logicalId(stack, sm) }] }] });
    // With an env (the CLI's default account and region), the ARN carries concrete values, not pseudo parameters.
    const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
    const arn = `arn:${shown(stack.partition, 'Partition')}:states:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}`;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arn}:execution:${name}:*]`,
      reason:
        'states:DescribeExecution on the executions of this one state machine; execution names are per batch and action.',
    });
  }
}

function logicalId(stack: Stack, construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return stack.resolve(resource.logicalId) as string;
}
