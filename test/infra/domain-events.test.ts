import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/api/routes';
import { outboxRelay } from '../../infra/constructs/domain-events';
import { resourcesOf, synth, type Synthesized } from './synth';

let real: Synthesized;
beforeAll(() => {
  real = synth('domain-events');
});

/** Handler module (function Description) → the actions its role's policies allow. */
function actionsByHandler(s: Synthesized): Map<string, Set<string>> {
  const functions = resourcesOf(s.template, 'AWS::Lambda::Function');
  const policies = Object.values(resourcesOf(s.template, 'AWS::IAM::Policy'));
  const out = new Map<string, Set<string>>();
  for (const fn of Object.values(functions)) {
    const role = fn.Properties.Role['Fn::GetAtt'][0] as string;
    const actions = new Set<string>();
    for (const p of policies.filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))) {
      for (const st of p.Properties.PolicyDocument.Statement) for (const a of [st.Action].flat()) actions.add(a);
    }
    out.set(fn.Properties.Description, actions);
  }
  return out;
}

describe('domain events', () => {
  it('lets exactly the functions that publish events put them on the bus, and tells them its name', () => {
    const publishers = new Set([...routes.filter((r) => r.access.events).map((r) => r.handler), outboxRelay.handler]);
    expect(publishers.size).toBeGreaterThan(1);
    const functions = Object.values(resourcesOf(real.template, 'AWS::Lambda::Function'));
    for (const [handler, actions] of actionsByHandler(real)) {
      if (!handler?.startsWith('functions/')) continue; // CDK's own helper functions
      const fn = functions.find((f) => f.Properties.Description === handler)!;
      expect(actions.has('events:PutEvents'), handler).toBe(publishers.has(handler));
      expect(fn.Properties.Environment.Variables.EVENT_BUS_NAME !== undefined, handler).toBe(publishers.has(handler));
    }
  });

  it('runs the outbox relay every minute', () => {
    const rules = Object.values(resourcesOf(real.template, 'AWS::Events::Rule'));
    expect(rules.map((r) => r.Properties.ScheduleExpression)).toContain('rate(1 minute)');
    expect(Object.keys(resourcesOf(real.template, 'AWS::Events::EventBus'))).toHaveLength(1);
  });
});
