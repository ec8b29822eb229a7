// The layers' import rules (README "Layout"): domain → store → services → functions → infra.
// `npm run deps` checks them; a violation fails `npm test` and CI.
/** Node.js modules the pure domain may use: hashing only, no I/O, clock or environment. */
const pureCore = ['crypto'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-imports-only-domain',
      comment:
        'shared/domain is pure: it imports no other part of the project (store, services, config, logger, functions, infra).',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { dependencyTypes: ['local'], pathNot: '^shared/domain/' },
    },
    {
      name: 'domain-no-io',
      comment: `shared/domain does no I/O: of Node's own modules it may import only ${pureCore.join(', ')}.`,
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { dependencyTypes: ['core'], pathNot: `^(node:)?(${pureCore.join('|')})$` },
    },
    {
      name: 'domain-no-aws',
      comment:
        'shared/domain never talks to AWS: no AWS SDK, Powertools, CDK or middy (aws-lambda event types are types only).',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { path: '^node_modules/(@aws-sdk|@smithy|@aws-lambda-powertools|aws-cdk-lib|@middy)/' },
    },
    {
      name: 'functions-not-infra',
      comment: 'A handler importing infra/ would bundle CDK or the local stack into its Lambda.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^infra/' },
    },
    {
      name: 'store-not-services',
      comment: 'Rules live above the store: shared/store never imports shared/services.',
      severity: 'error',
      from: { path: '^shared/store/' },
      to: { path: '^shared/services/' },
    },
    {
      name: 'dynamodb-only-in-store',
      comment:
        'Only shared/store builds DynamoDB requests (infra/ and test/ also create and inspect tables): a service or handler calls a store function.',
      severity: 'error',
      from: { pathNot: '^(shared/store|infra|test)/' },
      to: { path: '^node_modules/@aws-sdk/(lib-dynamodb|client-dynamodb|util-dynamodb)/' },
    },
    {
      name: 'dashboard-only-dashboard',
      comment:
        'The dashboard is a browser bundle that talks to the API over HTTP: it imports nothing of shared/, functions/ or infra/.',
      severity: 'error',
      from: { path: '^dashboard/' },
      to: { dependencyTypes: ['local'], pathNot: '^dashboard/' },
    },
    {
      name: 'shared-not-functions-or-infra',
      comment: 'shared/ is what handlers and infra build on: it never imports functions/ or infra/.',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: '^(functions|infra)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(\\.local|cdk\\.out|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.json'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
