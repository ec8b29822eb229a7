// What the dashboard reads at start from `config.json` beside index.html: written by the local stack
// (infra/local/dashboard.ts) or by the CDK deployment (infra/constructs/dashboard.ts).
export interface DashboardConfig {
  /** The HTTP API's base URL, without a trailing slash. */
  apiUrl: string;
  /** In AWS: sign-in (Cognito) and SigV4 signing. Absent locally, where the caller is the X-Actor header. */
  aws?: {
    region: string;
    userPoolId: string;
    userPoolClientId: string;
    identityPoolId: string;
    /** The user pool's sign-in domain, e.g. `https://usage-corrections-123.auth.eu-west-1.amazoncognito.com`. */
    signInUrl: string;
  };
}
