// The workflows batch actions run, by name, and how one execution is named. The workflow list
// (functions/workflow/workflows.ts) gives each name its ASL file and task functions.
export const WORKFLOW_NAMES = ['lock-for-review', 'revert-for-edit', 'submit'] as const;
export type WorkflowName = (typeof WORKFLOW_NAMES)[number];

/** Execution names derive from the batch, the action and its version: a repeated call never starts a second one. */
export const executionName = (batchId: string, action: string, version: number) => `${batchId}-${action}-v${version}`;
