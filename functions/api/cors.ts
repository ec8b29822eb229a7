// Cross-origin calls from the dashboard, which is served from an origin of its own (CloudFront in
// AWS, its own port locally). API Gateway answers preflights from this spec (infra/constructs/api.ts)
// and the local HTTP API does the same (infra/local/http-api.ts); only the allowed origins differ.
export interface CorsSpec {
  allowHeaders: readonly string[];
  allowMethods: readonly string[];
  exposeHeaders: readonly string[];
  maxAgeSeconds: number;
}

export const apiCors: CorsSpec = {
  // SigV4 headers (AWS), Idempotency-Key on every POST, If-Match on submit, X-Actor (the local stack's caller).
  allowHeaders: [
    'authorization',
    'content-type',
    'idempotency-key',
    'if-match',
    'x-actor',
    'x-amz-content-sha256',
    'x-amz-date',
    'x-amz-security-token',
  ],
  allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
  // The preview's ETag is what submit sends back in If-Match.
  exposeHeaders: ['etag', 'idempotent-replayed'],
  maxAgeSeconds: 600,
};
