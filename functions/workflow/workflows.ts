// The one list of workflows: CDK and the local Step Functions service both read it.
// An ASL Task names `${<TaskName>FunctionArn}`; each task function is listed once here.
import type { WorkflowName } from '../../shared/domain/workflows';
import type { Access } from '../api/routes';

export interface TaskFunction {
  /** Module path from the project root; its `handler` export is the Lambda handler. */
  handler: string;
  access: Access;
}

const tableWork: Access = { table: 'readWrite' };

export const taskFunctions = {
  LockForReview: { handler: 'functions/workflow/lock-for-review.ts', access: tableWork },
  LockFailed: { handler: 'functions/workflow/lock-failed.ts', access: tableWork },
  RevertForEdit: { handler: 'functions/workflow/revert-for-edit.ts', access: tableWork },
  RevertFailed: { handler: 'functions/workflow/revert-failed.ts', access: tableWork },
  PlanSubmit: { handler: 'functions/workflow/plan-submit.ts', access: tableWork },
  InsertReplacements: { handler: 'functions/workflow/insert-replacements.ts', access: tableWork },
  ProcessShardChunk: { handler: 'functions/workflow/process-shard-chunk.ts', access: tableWork },
  FinishSubmit: { handler: 'functions/workflow/finish-submit.ts', access: tableWork },
  SubmitFailed: { handler: 'functions/workflow/submit-failed.ts', access: tableWork },
} satisfies Record<string, TaskFunction>;

export type TaskName = keyof typeof taskFunctions;

export interface Workflow {
  /** ASL file from the project root. */
  definition: string;
  tasks: readonly TaskName[];
}

export const workflows = {
  'lock-for-review': { definition: 'statemachines/lock-for-review.asl.json', tasks: ['LockForReview', 'LockFailed'] },
  'revert-for-edit': { definition: 'statemachines/revert-for-edit.asl.json', tasks: ['RevertForEdit', 'RevertFailed'] },
  submit: {
    definition: 'statemachines/submit.asl.json',
    tasks: ['PlanSubmit', 'InsertReplacements', 'ProcessShardChunk', 'FinishSubmit', 'SubmitFailed'],
  },
} satisfies Record<WorkflowName, Workflow>;

/** The `definitionSubstitutions` key of a task: `${LockForReviewFunctionArn}` in the ASL. */
export const substitutionKey = (task: string) => `${task}FunctionArn`;
