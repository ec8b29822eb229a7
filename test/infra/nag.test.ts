// cdk-nag AwsSolutions on the synthesized stacks: zero unacknowledged findings, and every
// acknowledgment is specific (names one finding that really occurs) and says why.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { UsageCorrectionsStack, type UsageCorrectionsStackProps } from '../../infra/stack';
import { fixtureProps } from './fixture';
import { cdkContext, testOutdir } from './synth';

function build(label: string, props: UsageCorrectionsStackProps): App {
  const app = new App({
    outdir: testOutdir(label),
    context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  new UsageCorrectionsStack(app, 'UsageCorrections', props);
  return app;
}

function findings(app: App): { rule: string; path: string }[] {
  return new AwsSolutionsChecks(app).validateScope(app).violations.flatMap((v) =>
    v.violatingResources.map((r) => ({
      rule: v.ruleName,
      path: r.constructPath ?? `(no path) ${r.resourceLogicalId}`,
    })),
  );
}

function acknowledgments(app: App): { rule: string; path: string; reason: string }[] {
  return app.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ rule: id.replace(/^Annotation::/, ''), path: c.node.path, reason })),
  );
}

/** The same stack with every acknowledgment ignored: what cdk-nag finds before anyone explains it. */
function rawFindings(label: string, props: UsageCorrectionsStackProps): { rule: string; path: string }[] {
  const acknowledge = Validations.prototype.acknowledge;
  Validations.prototype.acknowledge = () => {};
  try {
    return findings(build(label, props));
  } finally {
    Validations.prototype.acknowledge = acknowledge;
  }
}

describe.each([
  ['the real stack', {}],
  ['a stack with fixture routes and workflows', fixtureProps],
] as const)('cdk-nag AwsSolutions on %s', (name, props) => {
  const label = name === 'the real stack' ? 'nag-real' : 'nag-fixture';

  it('reports no unacknowledged error or warning', () => {
    expect(findings(build(label, props))).toEqual([]);
  });

  it('has no acknowledgment without a finding it silences, and none without a reason', () => {
    const acks = acknowledgments(build(label, props));
    const raw = rawFindings(`${label}-raw`, props);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      const silenced = raw.filter(
        (f) => f.rule === ack.rule && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)),
      );
      expect(silenced, `${ack.path}: ${ack.rule}`).not.toEqual([]);
      expect(ack.reason.length, `${ack.rule} needs a reason`).toBeGreaterThan(60);
    }
    // Bulk acknowledgments (a bare IAM5 on a whole stack) would hide new wildcards: each one is on a resource's own construct.
    for (const ack of acks) expect(ack.path.split('/').length, ack.path).toBeGreaterThan(1);
  });
});
