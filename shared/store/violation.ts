/** A broken invariant: the rule and what breaks it, with the subscription or account where known. */
export interface Violation {
  subscriptionId?: string;
  accountId?: string;
  rule: string;
  detail: string;
}
