// A function bundled exactly as the stack deploys it: a FunctionFactory in a throwaway CDK app,
// synthesized with bundling on (NodejsFunction through the local esbuild), and its asset folder.
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { FunctionFactory, type FunctionKind, type FunctionSpec } from '../../infra/constructs/functions';
import { cdkContext, logicalId, testOutdir } from '../infra/synth';

/** Bundles `spec`'s handler; answers the folder holding `index.mjs` and its source map. */
export function bundleFunction(label: string, spec: FunctionSpec, kind: FunctionKind): string {
  const app = new App({ outdir: testOutdir(label), context: cdkContext, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Bundling');
  const factory = new FunctionFactory({
    table: new Table(stack, 'Table', { partitionKey: { name: 'PK', type: AttributeType.STRING } }),
    bucket: new Bucket(stack, 'Bucket'),
    eventBus: new EventBus(stack, 'Bus'),
  });
  const fn = factory.create(stack, 'Function', spec, { kind });
  const code = Template.fromStack(stack).toJSON().Resources[logicalId(fn.function)].Properties.Code;
  return join(app.outdir, `asset.${(code.S3Key as string).replace(/\.zip$/, '')}`);
}
