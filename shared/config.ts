// Configuration, read once from the environment and validated at cold start.
// A missing variable fails loudly with its name. Endpoints are set only on the local stack.
import { z } from 'zod';

const schema = z.object({
  TABLE_NAME: z.string().min(1),
  BUCKET_NAME: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  DYNAMODB_ENDPOINT: z.url().optional(),
  S3_ENDPOINT: z.url().optional(),
  SFN_ENDPOINT: z.url().optional(),
  LAMBDA_ENDPOINT: z.url().optional(),
  /**
   * Rows one invocation of the import reads at most before it goes on in a fresh one (unset: as
   * many as its time allows). Tests and benchmarks set it to see a file imported in several.
   */
  IMPORT_ROWS_PER_INVOCATION: z.coerce.number().int().positive().optional(),
  /** The EventBridge bus domain events go to; without it (the local stack) they are logged. */
  EVENT_BUS_NAME: z.string().min(1).optional(),
  /** Four-eyes approval of submit (docs/workflows.md): off unless set to on. */
  APPROVAL: z.enum(['off', 'on']).default('off'),
  /** With APPROVAL on: applies only to batches with at least this many members (or above the charge threshold). */
  APPROVAL_MIN_EVENTS: z.coerce.number().int().positive().optional(),
  /** With APPROVAL on: applies only when the preview changes charges in one currency by at least this amount (currency units, summed absolute change). */
  APPROVAL_MIN_CHARGE_CHANGE: z
    .string()
    .regex(/^\d{1,15}(\.\d{1,6})?$/, 'a non-negative decimal amount, e.g. 100.00')
    .optional(),
  /** JSON map of workflow name to state machine ARN, e.g. {"lock-for-review":"arn:..."}. */
  STATE_MACHINE_ARNS: z
    .string()
    .default('{}')
    .transform((s, ctx) => {
      try {
        return z.record(z.string(), z.string()).parse(JSON.parse(s));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'STATE_MACHINE_ARNS must be a JSON object of strings' });
        return z.NEVER;
      }
    }),
});

export type Config = z.infer<typeof schema>;

let cached: Config | undefined;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** The process's configuration, validated on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** Tests and the local stack change the environment between runs. */
export function resetConfig(): void {
  cached = undefined;
}
