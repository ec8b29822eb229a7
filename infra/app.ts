// The CDK app: `npx cdk synth` / `npx cdk deploy`. Synthesizes offline; cdk-nag's AwsSolutions
// checks run on every synth, so a deploy cannot carry an unacknowledged finding.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { UsageCorrectionsStack } from './stack';

const app = new App();
const text = (name: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(name);
  return typeof value === 'string' && value ? value : undefined;
};
new UsageCorrectionsStack(app, 'UsageCorrections', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  alarmEmail: text('alarmEmail'),
  signInDomainPrefix: text('signInDomainPrefix'),
  dashboardWebAclArn: text('dashboardWebAclArn'),
  // -c approval=on [-c approvalMinEvents=100] [-c approvalMinChargeChange=500.00]; off by default.
  approval:
    text('approval') === 'on'
      ? {
          ...(text('approvalMinEvents') ? { minEvents: Number(text('approvalMinEvents')) } : {}),
          ...(text('approvalMinChargeChange') ? { minChargeChange: text('approvalMinChargeChange') } : {}),
        }
      : undefined,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
