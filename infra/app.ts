// The CDK app: `npx cdk synth` / `npx cdk deploy`. Synthesizes offline; cdk-nag's AwsSolutions
// checks run on every synth, so a deploy cannot carry an unacknowledged finding.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { UsageCorrectionsStack } from './stack';

const app = new App();
const alarmEmail: unknown = app.node.tryGetContext('alarmEmail');
new UsageCorrectionsStack(app, 'UsageCorrections', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  alarmEmail: typeof alarmEmail === 'string' && alarmEmail ? alarmEmail : undefined,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
