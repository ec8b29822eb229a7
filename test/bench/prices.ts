// What a corrected event costs in AWS, from the counts the end-to-end benchmark measures and the
// published on-demand prices. Region us-east-1, prices as listed on the AWS pricing pages in
// November 2026; Lambda on arm64 at 1,024 MB, as infra/constructs/functions.ts configures it.
// Floating point is fine here: these are estimates for a report, never money we bill.
export const PRICES = {
  region: 'us-east-1',
  dynamodbPerMillionWriteRequestUnits: 0.625,
  dynamodbPerMillionReadRequestUnits: 0.125,
  stepFunctionsStandardPerThousandTransitions: 0.025,
  lambdaPerMillionRequests: 0.2,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaMemoryGb: 1,
  httpApiPerMillionRequests: 1.0,
} as const;

export interface PerEvent {
  writePerEvent: number;
  readPerEvent: number;
  stateTransitionsPerEvent: number;
  lambdaInvocationsPerEvent: number;
  /** Seconds of task Lambdas per event (their summed duration). */
  taskSecondsPerEvent: number;
  /** API calls (adding events to the batch) per event, and their summed duration. */
  apiCallsPerEvent: number;
  apiSecondsPerEvent: number;
}

const cents = (n: number) => Math.round(n * 100) / 100;

/** Dollars per million corrected events, by service, and in total. */
export function costPerMillion(p: PerEvent) {
  const M = 1_000_000;
  const dynamodb =
    p.writePerEvent * PRICES.dynamodbPerMillionWriteRequestUnits +
    p.readPerEvent * PRICES.dynamodbPerMillionReadRequestUnits;
  const stepFunctions = p.stateTransitionsPerEvent * M * (PRICES.stepFunctionsStandardPerThousandTransitions / 1000);
  const invocations = p.lambdaInvocationsPerEvent + p.apiCallsPerEvent;
  const lambda =
    invocations * PRICES.lambdaPerMillionRequests +
    (p.taskSecondsPerEvent + p.apiSecondsPerEvent) * M * PRICES.lambdaMemoryGb * PRICES.lambdaArmPerGbSecond;
  const api = p.apiCallsPerEvent * PRICES.httpApiPerMillionRequests;
  return {
    dynamodb: cents(dynamodb),
    stepFunctions: cents(stepFunctions),
    lambda: cents(lambda),
    api: cents(api),
    total: cents(dynamodb + stepFunctions + lambda + api),
  };
}
