import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { substitutionKey, taskFunctions, workflows } from '../../functions/workflow/workflows';
import { placeholdersOutsideTasks, readAsl, taskPlaceholders } from '../../infra/asl-placeholders';
import { projectRoot } from '../../infra/constructs/functions';
import type { WorkflowSpec } from '../../infra/constructs/workflows';
import { fixtureProps, fixtureTaskFunctions, fixtureWorkflows } from './fixture';
import { logicalId, resourcesOf, synth, type Synthesized } from './synth';

let real: Synthesized;
let fixture: Synthesized;
beforeAll(() => {
  real = synth('workflows-real');
  fixture = synth('workflows-fixture', fixtureProps);
});

describe('placeholder collection', () => {
  it('finds Tasks at the top level, inside a Map (with a loop) and inside Parallel branches', () => {
    const found = taskPlaceholders(readAsl(join(projectRoot, 'test/fixtures/statemachines/fixture-submit.asl.json')));
    expect(found).toEqual([
      { path: ['Plan'], key: 'PlanFunctionArn' },
      { path: ['ProcessShards', 'ProcessChunk'], key: 'ProcessChunkFunctionArn' },
      { path: ['Finish', 'Finalize'], key: 'FinalizeFunctionArn' },
      { path: ['Finish', 'ReleaseLocks'], key: 'ReleaseLocksFunctionArn' },
    ]);
  });

  it('finds Tasks inside a legacy Map Iterator', () => {
    const found = taskPlaceholders(readAsl(join(projectRoot, 'test/fixtures/statemachines/fixture-revert.asl.json')));
    expect(found).toEqual([{ path: ['ReleaseEach', 'ReleaseLocks'], key: 'ReleaseLocksFunctionArn' }]);
  });
});

/** Asserts every Task placeholder of a workflow's ASL is substituted by the ARN of the task function it names. */
function expectWired(s: Synthesized, name: string, wf: WorkflowSpec, known: readonly string[]): void {
  const placeholders = taskPlaceholders(readAsl(join(projectRoot, wf.definition)));
  const sm = s.stack.workflows.stateMachines.get(name);
  expect(sm, name).toBeDefined();
  const props = resourcesOf(s.template, 'AWS::StepFunctions::StateMachine')[logicalId(sm!)]!.Properties;
  for (const { path, key } of placeholders) {
    const task = known.find((t) => substitutionKey(t) === key);
    expect(task, `${name}: ${path.join(' > ')} names \${${key}}, a known task function`).toBeDefined();
    const fn = s.stack.workflows.taskFunctions.get(task!)!;
    expect(props.DefinitionSubstitutions[key], `${name}: ${key}`).toEqual({
      'Fn::GetAtt': [logicalId(fn.function), 'Arn'],
    });
  }
  expect(Object.keys(props.DefinitionSubstitutions).sort()).toEqual(
    [...new Set(placeholders.map((p) => p.key))].sort(),
  );
  // CloudFormation substitutes into the very file: the asset CDK uploads is the ASL file unchanged.
  const asset = join(s.app.outdir, `asset.${props.DefinitionS3Location.Key}`);
  expect(readFileSync(asset, 'utf8')).toBe(readFileSync(join(projectRoot, wf.definition), 'utf8'));
}

describe('the real workflows', () => {
  it('list every ASL file in statemachines/', () => {
    const dir = join(projectRoot, 'statemachines');
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.asl.json')) : [];
    const listed: string[] = Object.values<WorkflowSpec>(workflows).map((wf) => wf.definition);
    expect(files.map((f) => `statemachines/${f}`).sort()).toEqual(listed.sort());
  });

  it('wire every Task of every ASL file to a real task function', () => {
    const entries = Object.entries<WorkflowSpec>(workflows);
    for (const [name, wf] of entries) expectWired(real, name, wf, Object.keys(taskFunctions));
    expect(real.stack.workflows.stateMachines.size).toBe(entries.length);
  });
});

describe('workflows from a fixture list', () => {
  it('are one Standard state machine each, named after the stack and the workflow', () => {
    const machines = Object.values(resourcesOf(fixture.template, 'AWS::StepFunctions::StateMachine'));
    expect(machines.map((m) => m.Properties.StateMachineName).sort()).toEqual([
      'UsageCorrections-fixture-revert',
      'UsageCorrections-fixture-submit',
    ]);
    for (const m of machines) expect(m.Properties.StateMachineType).toBe('STANDARD');
  });

  it('substitute every Task placeholder, nested ones included, with the ARN of its task function', () => {
    for (const [name, wf] of Object.entries(fixtureWorkflows))
      expectWired(fixture, name, wf, Object.keys(fixtureTaskFunctions));
  });

  it('build a task used by two workflows once', () => {
    const taskModules = Object.values(resourcesOf(fixture.template, 'AWS::Lambda::Function')).filter(
      (f) => f.Properties.Description === 'test/fixtures/functions/task.ts',
    );
    expect(taskModules).toHaveLength(Object.keys(fixtureTaskFunctions).length);
  });

  it('log ALL events with execution data to a log group with retention, and trace with X-Ray', () => {
    for (const sm of fixture.stack.workflows.stateMachines.values()) {
      const props = resourcesOf(fixture.template, 'AWS::StepFunctions::StateMachine')[logicalId(sm)]!.Properties;
      expect(props.TracingConfiguration).toEqual({ Enabled: true });
      expect(props.LoggingConfiguration.Level).toBe('ALL');
      expect(props.LoggingConfiguration.IncludeExecutionData).toBe(true);
      const logGroupId = props.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
      expect(resourcesOf(fixture.template, 'AWS::Logs::LogGroup')[logGroupId]!.Properties.RetentionInDays).toBe(90);
    }
  });

  it('output each state machine ARN', () => {
    const outputs = fixture.template.toJSON().Outputs;
    for (const sm of fixture.stack.workflows.stateMachines.values()) {
      expect(Object.values<any>(outputs).some((o) => o.Value?.Ref === logicalId(sm))).toBe(true);
    }
  });
});

describe('a workflow list with mistakes', () => {
  const { taskFunctions: tasks } = fixtureProps;
  const submit = fixtureWorkflows['fixture-submit']!;

  it('refuses an ASL Task that names a function missing from the workflow', () => {
    const wf = { submit: { ...submit, tasks: submit.tasks.filter((t) => t !== 'ProcessChunk') } };
    expect(() => synth('wf-unknown', { taskFunctions: tasks, workflows: wf })).toThrow(
      /\$\{ProcessChunkFunctionArn\}, not among its tasks/,
    );
  });

  it('refuses a listed task that no Task uses', () => {
    const wf = { revert: { ...fixtureWorkflows['fixture-revert']!, tasks: ['ReleaseLocks', 'Plan'] }, submit };
    expect(() => synth('wf-unused', { taskFunctions: tasks, workflows: wf })).toThrow(/tasks Plan appear in no Task/);
  });

  it('refuses a task without a task function', () => {
    const { Finalize: _, ...withoutFinalize } = tasks;
    expect(() => synth('wf-nofn', { taskFunctions: withoutFinalize, workflows: { submit } })).toThrow(
      /task 'Finalize' has no task function/,
    );
  });

  it('refuses a placeholder outside a Task state', () => {
    const wf = {
      odd: { definition: 'test/fixtures/statemachines/placeholder-outside-task.asl.json', tasks: ['Plan'] },
    };
    expect(() => synth('wf-outside', { taskFunctions: { Plan: tasks.Plan! }, workflows: wf })).toThrow(
      /placeholders outside Task states: PlanFunctionArn/,
    );
  });

  it('refuses a task function that no workflow uses', () => {
    expect(() =>
      synth('wf-orphan', { taskFunctions: tasks, workflows: { revert: fixtureWorkflows['fixture-revert']! } }),
    ).toThrow(/task function 'Plan' is used by no workflow/);
  });

  it('refuses a task function that would start a workflow', () => {
    const starting = {
      ...tasks,
      Plan: { ...tasks.Plan!, access: { table: 'read' as const, workflows: ['fixture-submit'] } },
    };
    expect(() => synth('wf-cycle', { taskFunctions: starting, workflows: fixtureWorkflows })).toThrow(
      /may not start workflows/,
    );
  });
});

describe('placeholders outside Task states', () => {
  it('are found in Pass states, Map and Parallel fields and top-level fields, but not in Tasks', () => {
    const asl = {
      Comment: '${InComment}',
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Result: '${InPass}', Next: 'B' },
        B: {
          Type: 'Map',
          ItemsPath: '${InMapField}',
          ItemProcessor: {
            StartAt: 'T',
            States: {
              T: { Type: 'Task', Resource: '${InTask}', Next: 'P' },
              P: { Type: 'Pass', Result: '${InNestedPass}', End: true },
            },
          },
          Next: 'C',
        },
        C: {
          Type: 'Parallel',
          Branches: [{ StartAt: 'U', States: { U: { Type: 'Task', Resource: '${InBranchTask}', End: true } } }],
          End: true,
        },
      },
    };
    expect(placeholdersOutsideTasks(asl).sort()).toEqual(['InComment', 'InMapField', 'InNestedPass', 'InPass']);
  });
});
