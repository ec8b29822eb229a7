// The response headers the dashboard is served with, locally and by CloudFront: a content security
// policy that lets the page load only its own files and call only the API, S3 and sign-in.
export function dashboardCsp(connectSources: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${connectSources.join(' ')}`.trim(),
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
