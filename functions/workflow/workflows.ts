// The one list of workflows: CDK and the local Step Functions service both read it.
// An ASL Task names `${<TaskName>FunctionArn}`; each task function is listed once here.
import type { Access } from '../api/routes';

export interface TaskFunction {
  /** Module path from the project root; its `handler` export is the Lambda handler. */
  handler: string;
  access: Access;
}

export const taskFunctions = {} satisfies Record<string, TaskFunction>;

export type TaskName = keyof typeof taskFunctions;

export interface Workflow {
  /** ASL file from the project root. */
  definition: string;
  tasks: readonly TaskName[];
}

export const workflows = {} satisfies Record<string, Workflow>;

export type WorkflowName = keyof typeof workflows;

/** The `definitionSubstitutions` key of a task: `${LockEventsFunctionArn}` in the ASL. */
export const substitutionKey = (task: string) => `${task}FunctionArn`;
