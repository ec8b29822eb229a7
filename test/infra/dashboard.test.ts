// The dashboard's hosting and sign-in in the synthesized template: a private bucket behind
// CloudFront with origin access control, the CSP, CORS for the dashboard's origin only, a user pool
// with MFA, an identity pool whose role may call only this API, and config.json pointing at both.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiCors } from '../../functions/api/cors';
import { asList, logicalId, resourcesOf, roleStatements, synth, type Synthesized } from './synth';

let real: Synthesized;
let ids: Record<
  | 'site'
  | 'logs'
  | 'distribution'
  | 'api'
  | 'imports'
  | 'pool'
  | 'client'
  | 'identities'
  | 'domain'
  | 'operatorRole'
  | 'deploymentRole',
  string
>;

beforeAll(() => {
  real = synth('dashboard');
  const d = real.stack.dashboard;
  ids = {
    site: logicalId(d.site),
    logs: logicalId(d.node.findChild('Logs')),
    distribution: logicalId(d.distribution),
    api: logicalId(real.stack.api.httpApi),
    imports: logicalId(real.stack.imports.bucket),
    pool: logicalId(d.userPool),
    client: logicalId(d.userPoolClient),
    identities: real.stack.resolve(d.identityPool.logicalId) as string,
    domain: logicalId(d.signInDomain),
    operatorRole: logicalId(d.operatorRole),
    deploymentRole: logicalId(d.deploymentRole),
  };
});

const one = (type: string, id: string) => {
  const r = resourcesOf(real.template, type)[id];
  if (!r) throw new Error(`no ${type} ${id}`);
  return r.Properties;
};
const policyOf = (bucketId: string) =>
  Object.values(resourcesOf(real.template, 'AWS::S3::BucketPolicy')).find((p) => p.Properties.Bucket.Ref === bucketId)!
    .Properties.PolicyDocument.Statement as any[];
const dashboardOrigin = () => ({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [ids.distribution, 'DomainName'] }]] });

describe('the dashboard hosting', () => {
  it('serves the files from a private bucket that only this distribution may read (origin access control), over HTTPS', () => {
    const site = one('AWS::S3::Bucket', ids.site);
    expect(site.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const allows = policyOf(ids.site).filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      {
        Action: 's3:GetObject',
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.site, 'Arn'] }, '/*']] },
        Condition: {
          StringEquals: {
            'AWS:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':cloudfront::',
                  { Ref: 'AWS::AccountId' },
                  ':distribution/',
                  { Ref: ids.distribution },
                ],
              ],
            },
          },
        },
      },
    ]);
    const config = one('AWS::CloudFront::Distribution', ids.distribution).DistributionConfig;
    expect(config.Origins).toHaveLength(1);
    expect(config.Origins[0].DomainName).toEqual({ 'Fn::GetAtt': [ids.site, 'RegionalDomainName'] });
    expect(config.Origins[0].OriginAccessControlId).toBeDefined();
    expect(config.DefaultRootObject).toBe('index.html');
    for (const behavior of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) {
      expect(behavior).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD'] });
    }
    expect(config.Logging).toEqual({ Bucket: { 'Fn::GetAtt': [ids.logs, 'RegionalDomainName'] }, Prefix: 'cdn/' });
    expect(one('AWS::S3::Bucket', ids.site).LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: ids.logs },
      LogFilePrefix: 'site/',
    });
  });

  it('lets the page load only its own files and call only the API, sign-in, the identity pool and S3 (CSP), and caches only hashed files', () => {
    const config = one('AWS::CloudFront::Distribution', ids.distribution).DistributionConfig;
    const pages = one(
      'AWS::CloudFront::ResponseHeadersPolicy',
      config.DefaultCacheBehavior.ResponseHeadersPolicyId.Ref,
    ).ResponseHeadersPolicyConfig;
    const csp = JSON.stringify(pages.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("default-src 'none'; script-src 'self'; style-src 'self';");
    expect(csp).not.toContain('unsafe');
    const connect = csp.slice(csp.indexOf('connect-src'), csp.indexOf('; base-uri'));
    expect(connect).toContain("connect-src 'self' https://*.execute-api.");
    expect(connect).toContain(' https://cognito-identity.');
    expect(connect).toContain(`{"Ref":"${ids.domain}"},".auth.`);
    expect(connect).toContain(' https://*.s3.');
    expect(connect.match(/https:\/\//g)).toHaveLength(4);
    expect(pages.CustomHeadersConfig.Items).toEqual([{ Header: 'Cache-Control', Value: 'no-cache', Override: true }]);
    const [assets] = config.CacheBehaviors;
    expect(assets.PathPattern).toBe('assets/*');
    expect(
      one('AWS::CloudFront::ResponseHeadersPolicy', assets.ResponseHeadersPolicyId.Ref).ResponseHeadersPolicyConfig
        .CustomHeadersConfig.Items,
    ).toEqual([{ Header: 'Cache-Control', Value: 'public, max-age=31536000, immutable', Override: true }]);
  });

  it("lets the dashboard's origin, and no other, call the API (SigV4, Idempotency-Key, If-Match; ETag readable) and PUT uploads", () => {
    expect(one('AWS::ApiGatewayV2::Api', ids.api).CorsConfiguration).toEqual({
      AllowOrigins: [dashboardOrigin()],
      AllowHeaders: [...apiCors.allowHeaders],
      AllowMethods: [...apiCors.allowMethods],
      ExposeHeaders: [...apiCors.exposeHeaders],
      MaxAge: apiCors.maxAgeSeconds,
    });
    expect(apiCors.allowHeaders).toEqual(
      expect.arrayContaining(['authorization', 'x-amz-date', 'x-amz-security-token', 'idempotency-key', 'if-match']),
    );
    expect(one('AWS::S3::Bucket', ids.imports).CorsConfiguration).toEqual({
      CorsRules: [
        { AllowedOrigins: [dashboardOrigin()], AllowedMethods: ['PUT'], AllowedHeaders: ['content-type'], MaxAge: 600 },
      ],
    });
  });
});

describe('signing in to the dashboard', () => {
  it('lets invited operators only, with a strong password and an authenticator app (MFA), on the plus tier with threat protection', () => {
    const pool = one('AWS::Cognito::UserPool', ids.pool);
    expect(pool).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
    });
    const client = one('AWS::Cognito::UserPoolClient', ids.client);
    expect(client).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email'],
      SupportedIdentityProviders: ['COGNITO'],
    });
    const back = { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [ids.distribution, 'DomainName'] }, '/']] };
    expect(client.CallbackURLs).toEqual([back]);
    expect(client.LogoutURLs).toEqual([back]);
  });

  it('gives signed-in operators, and nobody else, a role that may call this API and nothing more', () => {
    const pool = one('AWS::Cognito::IdentityPool', ids.identities);
    expect(pool.AllowUnauthenticatedIdentities).toBe(false);
    expect(pool.CognitoIdentityProviders).toEqual([
      {
        ClientId: { Ref: ids.client },
        ProviderName: { 'Fn::GetAtt': [ids.pool, 'ProviderName'] },
        ServerSideTokenCheck: true,
      },
    ]);
    const attachments = Object.values(resourcesOf(real.template, 'AWS::Cognito::IdentityPoolRoleAttachment'));
    expect(attachments).toHaveLength(1);
    expect(attachments[0]!.Properties).toEqual({
      IdentityPoolId: { Ref: ids.identities },
      Roles: { authenticated: { 'Fn::GetAtt': [ids.operatorRole, 'Arn'] } },
    });
    const role = one('AWS::IAM::Role', ids.operatorRole);
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRoleWithWebIdentity',
        Effect: 'Allow',
        Principal: { Federated: 'cognito-identity.amazonaws.com' },
        Condition: {
          StringEquals: { 'cognito-identity.amazonaws.com:aud': { Ref: ids.identities } },
          'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
        },
      },
    ]);
    expect(roleStatements(real.template, ids.operatorRole)).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':execute-api:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':',
              { Ref: ids.api },
              '/*',
            ],
          ],
        },
      },
    ]);
  });
});

describe('the dashboard deployment', () => {
  it('writes config.json naming the API, the region, the pools and the sign-in domain', () => {
    const deployment = Object.values(resourcesOf(real.template, 'Custom::CDKBucketDeployment'))[0]!.Properties;
    expect(deployment).toMatchObject({
      DestinationBucketName: { Ref: ids.site },
      Prune: false,
      DistributionId: { Ref: ids.distribution },
    });
    expect(deployment.DistributionPaths).toEqual(['/', '/index.html', '/config.json']);
    // The staged config.json holds markers that the deployment replaces by these values.
    const markers = deployment.SourceMarkers.find((m: object) => Object.keys(m).length > 0) as Record<string, unknown>;
    const staged = readdirSync(real.app.outdir)
      .map((d) => join(real.app.outdir, d, 'config.json'))
      .find((f) => existsSync(f))!;
    let text = readFileSync(staged, 'utf8');
    for (const [marker, value] of Object.entries(markers))
      text = text.split(marker).join(`<${(value as { Ref?: string }).Ref ?? JSON.stringify(value)}>`);
    const config = JSON.parse(text);
    expect(config.apiUrl).toBe(`https://<${ids.api}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/`);
    expect(config.aws).toEqual({
      region: '<AWS::Region>',
      userPoolId: `<${ids.pool}>`,
      userPoolClientId: `<${ids.client}>`,
      identityPoolId: `<${ids.identities}>`,
      signInUrl: `https://<${ids.domain}>.auth.<AWS::Region>.amazoncognito.com`,
    });
  });

  it("copies the files with a role that may read CDK's staged assets, write the site bucket and invalidate this distribution, and no more", () => {
    const fn = Object.values(resourcesOf(real.template, 'AWS::Lambda::Function')).find(
      (f) => f.Properties.Role?.['Fn::GetAtt']?.[0] === ids.deploymentRole,
    );
    expect(fn).toBeDefined();
    const statements = roleStatements(real.template, ids.deploymentRole);
    expect(statements.map((s) => asList(s.Action).join(',')).sort()).toEqual([
      'cloudfront:CreateInvalidation,cloudfront:GetInvalidation',
      'logs:CreateLogStream,logs:PutLogEvents',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
    const put = statements.find((s) => s.Action === 's3:PutObject')!;
    expect(put.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.site, 'Arn'] }, '/*']] });
  });

  it('outputs the dashboard URL and the user pool operators are added to', () => {
    const outputs = real.template.toJSON().Outputs;
    expect(outputs.DashboardUrl.Value).toEqual(dashboardOrigin());
    expect(outputs.OperatorsUserPoolId.Value).toEqual({ Ref: ids.pool });
  });
});
