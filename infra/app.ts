// The CDK app: `npx cdk synth` / `npx cdk deploy`. Synthesizes offline.
import { App } from 'aws-cdk-lib';
import { UsageCorrectionsStack } from './stack';

const app = new App();
new UsageCorrectionsStack(app, 'UsageCorrections', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
