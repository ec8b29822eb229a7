// One Standard state machine per workflow, deployed from its ASL file with each Task's
// `${<Task>FunctionArn}` substituted by the task function's ARN.
import { join } from 'node:path';
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  substitutionKey,
  taskFunctions as realTaskFunctions,
  workflows as realWorkflows,
} from '../../functions/workflow/workflows';
import { placeholdersOutsideTasks, readAsl, taskPlaceholders } from '../asl-placeholders';
import { moduleId, projectRoot, type FunctionFactory, type FunctionSpec, type ServiceFunction } from './functions';

export interface WorkflowSpec {
  /** ASL file from the project root. */
  definition: string;
  tasks: readonly string[];
}

export interface WorkflowsProps {
  functions: FunctionFactory;
  /** Defaults to the real list in functions/workflow/workflows.ts. */
  taskFunctions?: Readonly<Record<string, FunctionSpec>>;
  /** Defaults to the real list in functions/workflow/workflows.ts. */
  workflows?: Readonly<Record<string, WorkflowSpec>>;
  logRetention?: RetentionDays;
  projectRoot?: string;
}

export class Workflows extends Construct {
  /** By workflow name. */
  readonly stateMachines = new Map<string, StateMachine>();
  /** By task name. */
  readonly taskFunctions = new Map<string, ServiceFunction>();

  constructor(scope: Construct, id: string, props: WorkflowsProps) {
    super(scope, id);
    const root = props.projectRoot ?? projectRoot;
    const tasks: Readonly<Record<string, FunctionSpec>> = props.taskFunctions ?? realTaskFunctions;
    const workflows: Readonly<Record<string, WorkflowSpec>> = props.workflows ?? realWorkflows;
    const definitions = new Map(
      Object.entries(workflows).map(([name, wf]) => [name, checkWiring(name, wf, tasks, root)]),
    );

    const used = new Set(Object.values(workflows).flatMap((wf) => wf.tasks));
    for (const [task, spec] of Object.entries(tasks)) {
      if (!used.has(task)) throw new Error(`task function '${task}' is used by no workflow`);
      // A task that started a workflow would make state machine and function depend on each other.
      if (spec.access.workflows?.length) throw new Error(`task function '${task}' may not start workflows`);
      this.taskFunctions.set(task, props.functions.create(this, task, spec, { kind: 'task' }));
    }

    const stackName = Stack.of(this).stackName;
    for (const [name, wf] of Object.entries(workflows)) {
      // Suffixed: a workflow may share its name with one of its tasks (lock-for-review / LockForReview).
      const id = `${moduleId(name)}StateMachine`;
      const logGroup = new LogGroup(this, `${id}Logs`, {
        retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const sm = new StateMachine(this, id, {
        // Readable in the console; ops find a batch's execution by its name under this machine.
        stateMachineName: `${stackName}-${name}`,
        stateMachineType: StateMachineType.STANDARD,
        definitionBody: DefinitionBody.fromFile(definitions.get(name)!),
        definitionSubstitutions: Object.fromEntries(
          wf.tasks.map((task) => [substitutionKey(task), this.taskFunctions.get(task)!.function.functionArn]),
        ),
        // Payloads carry ids and cursors only (DESIGN §3), so full execution data is safe to log.
        logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: true },
        tracingEnabled: true,
      });
      // The ASL names the unqualified ARN: no `:*` version wildcard needed.
      for (const task of wf.tasks) this.taskFunctions.get(task)!.function.grantInvokeLatestVersion(sm);
      Validations.of(sm.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Step Functions adds X-Ray (PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs vended delivery (CreateLogDelivery, …) actions for tracing and logging; these actions support no resource-level scoping.',
      });
      this.stateMachines.set(name, sm);
    }
  }
}

/**
 * Refuses a workflow whose ASL and task list disagree: every placeholder must sit in a Task state
 * and name a listed task, and every listed task must be used (its invoke grant would be unused).
 * Returns the ASL file's absolute path.
 */
function checkWiring(
  name: string,
  wf: WorkflowSpec,
  tasks: Readonly<Record<string, FunctionSpec>>,
  root: string,
): string {
  const file = join(root, wf.definition);
  const asl = readAsl(file);
  const inTasks = new Set(taskPlaceholders(asl).map((p) => p.key));
  const outside = placeholdersOutsideTasks(asl);
  if (outside.length) throw new Error(`workflow '${name}': placeholders outside Task states: ${outside.join(', ')}`);
  for (const task of wf.tasks) {
    if (!(task in tasks)) throw new Error(`workflow '${name}': task '${task}' has no task function`);
  }
  const listed = new Set(wf.tasks.map(substitutionKey));
  const unknown = [...inTasks].filter((key) => !listed.has(key));
  if (unknown.length)
    throw new Error(
      `workflow '${name}': ${wf.definition} uses ${unknown.map((k) => `\${${k}}`).join(', ')}, not among its tasks`,
    );
  const unused = wf.tasks.filter((task) => !inTasks.has(substitutionKey(task)));
  if (unused.length)
    throw new Error(`workflow '${name}': tasks ${unused.join(', ')} appear in no Task of ${wf.definition}`);
  return file;
}
