// The Usage Events Dashboard in AWS: its files in a private bucket behind CloudFront (origin access
// control), a Cognito user pool to sign in to and an identity pool whose role may call only this
// API (the browser signs every call with SigV4, as the HTTP API's IAM authorization requires), and
// the CORS the browser needs on the API and on the imports bucket.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnResource, DockerImage, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { CfnApi, HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import {
  AccountRecovery,
  CfnIdentityPool,
  CfnIdentityPoolRoleAttachment,
  FeaturePlan,
  Mfa,
  OAuthScope,
  StandardThreatProtectionMode,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  type UserPoolDomain,
} from 'aws-cdk-lib/aws-cognito';
import { FederatedPrincipal, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import type { DashboardConfig } from '../../dashboard/src/config';
import { apiCors } from '../../functions/api/cors';
import { uploadCors } from '../../shared/domain/import-keys';
import { dashboardCsp } from '../dashboard-headers';
import { projectRoot } from './functions';

export interface DashboardProps {
  httpApi: HttpApi;
  /** The API's base URL (the stage's). */
  apiUrl: string;
  /** The imports bucket: the dashboard's uploads go there on URLs the API signs. */
  importsBucket: Bucket;
  /** The sign-in domain's prefix (`<prefix>.auth.<region>.amazoncognito.com`): unique in the region. */
  signInDomainPrefix?: string;
  /** A CloudFront (us-east-1) web ACL to attach, when the account has one. */
  webAclArn?: string;
}

/** Operators sign in for a working day at most; the API's credentials last an hour and are renewed. */
const SESSION = { access: Duration.hours(1), refresh: Duration.hours(12) };

export class Dashboard extends Construct {
  readonly site: Bucket;
  readonly distribution: Distribution;
  readonly userPool: UserPool;
  readonly userPoolClient: UserPoolClient;
  readonly signInDomain: UserPoolDomain;
  readonly identityPool: CfnIdentityPool;
  readonly operatorRole: Role;
  readonly url: string;
  deployment!: BucketDeployment;
  deploymentRole!: Role;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // CloudFront's standard logs are written with an ACL: a bucket of their own that allows ACLs.
    // It takes the site bucket's server access logs too (one log bucket for the dashboard).
    const cdnLogs = new Bucket(this, 'Logs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'ExpireLogs', expiration: Duration.days(365) }],
    });
    this.site = new Bucket(this, 'Site', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: cdnLogs,
      serverAccessLogsPrefix: 'site/',
    });

    // The sign-in domain: the page talks to it, to the identity pool, to the API and to S3 only.
    this.userPool = new UserPool(this, 'Operators', {
      userPoolName: `${stack.stackName}-operators`,
      // Operators are invited by an administrator (docs/deploy.md), never sign themselves up.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      // Accounts that can change customers' bills: threat protection blocks risky sign-ins.
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const prefix = props.signInDomainPrefix ?? `usage-corrections-${stack.account}`;
    this.signInDomain = this.userPool.addDomain('SignIn', { cognitoDomain: { domainPrefix: prefix } });
    const signInUrl = this.signInDomain.baseUrl();

    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Usage Events Dashboard: only its own files, the API, sign-in and S3',
      securityHeadersBehavior: {
        // The API's and the buckets' host names are wildcards: naming them here would make the
        // distribution depend on the API and the bucket, whose CORS already depends on the distribution.
        contentSecurityPolicy: {
          contentSecurityPolicy: dashboardCsp([
            `https://*.execute-api.${stack.region}.${stack.urlSuffix}`,
            `https://cognito-identity.${stack.region}.${stack.urlSuffix}`,
            signInUrl,
            `https://*.s3.${stack.region}.${stack.urlSuffix}`,
          ]),
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
      // index.html and config.json: browsers ask again on every load (a deploy invalidates CloudFront's copy).
      customHeadersBehavior: { customHeaders: [{ header: 'Cache-Control', value: 'no-cache', override: true }] },
    });
    // Vite names every built file by its content: a name never changes its bytes.
    const assetHeaders = new ResponseHeadersPolicy(this, 'AssetHeaders', {
      comment: 'Usage Events Dashboard: content-hashed files, cached for a year',
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [{ header: 'Cache-Control', value: 'public, max-age=31536000, immutable', override: true }],
      },
    });
    const origin = S3BucketOrigin.withOriginAccessControl(this.site);
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Usage Events Dashboard',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
      },
      additionalBehaviors: {
        'assets/*': {
          origin,
          viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: CachePolicy.CACHING_OPTIMIZED,
          responseHeadersPolicy: assetHeaders,
        },
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: cdnLogs,
      logFilePrefix: 'cdn/',
      ...(props.webAclArn ? { webAclId: props.webAclArn } : {}),
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    this.userPoolClient = this.userPool.addClient('Dashboard', {
      generateSecret: false,
      authFlows: {},
      preventUserExistenceErrors: true,
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL],
        callbackUrls: [`${this.url}/`],
        logoutUrls: [`${this.url}/`],
      },
      accessTokenValidity: SESSION.access,
      idTokenValidity: SESSION.access,
      refreshTokenValidity: SESSION.refresh,
    });

    this.identityPool = new CfnIdentityPool(this, 'Identities', {
      identityPoolName: `${stack.stackName}-operators`,
      allowUnauthenticatedIdentities: false,
      cognitoIdentityProviders: [
        {
          clientId: this.userPoolClient.userPoolClientId,
          providerName: this.userPool.userPoolProviderName,
          serverSideTokenCheck: true,
        },
      ],
    });
    this.operatorRole = new Role(this, 'OperatorRole', {
      description: 'Signed-in dashboard operators: may call the usage-corrections HTTP API, nothing else',
      assumedBy: new FederatedPrincipal(
        'cognito-identity.amazonaws.com',
        {
          StringEquals: { 'cognito-identity.amazonaws.com:aud': this.identityPool.ref },
          'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
        },
        'sts:AssumeRoleWithWebIdentity',
      ),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: {
        CallTheApi: new PolicyDocument({
          statements: [
            new PolicyStatement({
              actions: ['execute-api:Invoke'],
              resources: [
                stack.formatArn({ service: 'execute-api', resource: props.httpApi.apiId, resourceName: '*' }),
              ],
            }),
          ],
        }),
      },
    });
    new CfnIdentityPoolRoleAttachment(this, 'IdentityRoles', {
      identityPoolId: this.identityPool.ref,
      roles: { authenticated: this.operatorRole.roleArn },
    });

    // The browser calls the API and PUTs uploads from the dashboard's origin only.
    const api = props.httpApi.node.defaultChild as CfnApi;
    api.corsConfiguration = {
      allowOrigins: [this.url],
      allowHeaders: [...apiCors.allowHeaders],
      allowMethods: [...apiCors.allowMethods],
      exposeHeaders: [...apiCors.exposeHeaders],
      maxAge: apiCors.maxAgeSeconds,
    };
    props.importsBucket.addCorsRule({
      allowedOrigins: [this.url],
      allowedMethods: uploadCors.allowedMethods.map((m) => HttpMethods[m]),
      allowedHeaders: [...uploadCors.allowedHeaders],
      maxAge: uploadCors.maxAgeSeconds,
    });

    this.deploySite(props.apiUrl, signInUrl);
    this.acknowledge(props);
  }

  /**
   * The built files and config.json; old bundles stay, so a browser still on the previous index.html
   * loads them during a deploy. CDK's copy function runs with a role of ours, granted exactly what
   * the copy needs (CDK's own grants would add wildcard actions): read the assets, list and write
   * the site bucket, invalidate this distribution, write its log group.
   */
  private deploySite(apiUrl: string, signInUrl: string): void {
    const stack = Stack.of(this);
    const config: DashboardConfig = {
      apiUrl,
      aws: {
        region: stack.region,
        userPoolId: this.userPool.userPoolId,
        userPoolClientId: this.userPoolClient.userPoolClientId,
        identityPoolId: this.identityPool.ref,
        signInUrl,
      },
    };
    const files = new Asset(this, 'Files', {
      path: join(projectRoot, 'dashboard'),
      bundling: {
        // Never pulled: the local build below succeeds, or fails the synth.
        image: DockerImage.fromRegistry('node:22'),
        local: {
          tryBundle(outputDir) {
            copyBuiltDashboard(outputDir);
            return true;
          },
        },
      },
    });
    const logs = new LogGroup(this, 'DeploymentLogs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = (this.deploymentRole = new Role(this, 'DeploymentRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the dashboard into its site bucket at deploy time',
      inlinePolicies: {
        Copy: new PolicyDocument({
          statements: [
            // The built files and config.json, both staged by CDK in its assets bucket.
            new PolicyStatement({ actions: ['s3:GetObject'], resources: [files.bucket.arnForObjects('*')] }),
            new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.site.bucketArn] }),
            new PolicyStatement({ actions: ['s3:PutObject'], resources: [this.site.arnForObjects('*')] }),
            new PolicyStatement({
              actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
              resources: [
                stack.formatArn({
                  service: 'cloudfront',
                  region: '',
                  resource: 'distribution',
                  resourceName: this.distribution.distributionId,
                }),
              ],
            }),
          ],
        }),
      },
    }));
    logs.grantWrite(role);
    this.deployment = new BucketDeployment(this, 'Deployment', {
      sources: [Source.bucket(files.bucket, files.s3ObjectKey), Source.jsonData('config.json', config)],
      destinationBucket: this.site,
      prune: false,
      distribution: this.distribution,
      distributionPaths: ['/', '/index.html', '/config.json'],
      // Read-only to CDK: its wider grants land nowhere; the statements above are the role's all.
      role: Role.fromRoleArn(this, 'DeploymentRoleRef', role.roleArn, { mutable: false }),
      logGroup: logs,
    });
    this.deployment.node.addDependency(role);
  }

  private acknowledge(props: DashboardProps): void {
    const stack = Stack.of(this);
    const api = stack.resolve((props.httpApi.node.defaultChild as CfnApi).logicalId) as string;
    // With an env (the CLI's default account and region), ARNs carry concrete values, not pseudo parameters.
    const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
    const [partition, region, account] = [
      shown(stack.partition, 'Partition'),
      shown(stack.region, 'Region'),
      shown(stack.account, 'AccountId'),
    ];
    Validations.of(this.operatorRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${partition}:execute-api:${region}:${account}:<${api}>/*]`,
      reason:
        'execute-api:Invoke on every route of this one HTTP API (any stage, method and path): the dashboard offers operators every route; no other API or service.',
    });
    acknowledgeDeploymentHandler(stack);
    const site = stack.resolve((this.site.node.defaultChild as CfnResource).logicalId) as string;
    Validations.of(this.deploymentRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${partition}:s3:::cdk-hnb659fds-assets-${account}-${region}/*]`,
      reason:
        "s3:GetObject in CDK's assets bucket, where the deploy stages the built files and config.json under names known only then.",
    });
    Validations.of(this.deploymentRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${site}.Arn>/*]`,
      reason:
        "s3:PutObject on the site bucket's objects only (the dashboard's built files and config.json); no delete: old bundles stay for browsers mid-deploy.",
    });
    const reasons = {
      'AwsSolutions-CFR1':
        'Operators work from anywhere; every call needs a Cognito sign-in with MFA and a SigV4-signed request, so a geographic restriction would add no protection.',
      'AwsSolutions-CFR4':
        'The default *.cloudfront.net certificate cannot pin a TLS policy (only a custom domain with its own ACM certificate can, not set up here). The site serves static files; the API has its own TLS 1.2 endpoint.',
      ...(props.webAclArn
        ? {}
        : {
            'AwsSolutions-CFR2':
              'The site serves static files, and every API call is SigV4-signed by a signed-in operator; a CloudFront web ACL must live in us-east-1 and is attached with -c dashboardWebAclArn=… (docs/deploy.md).',
          }),
    };
    for (const [id, reason] of Object.entries(reasons)) Validations.of(this.distribution).acknowledge({ id, reason });
  }
}

/** CDK's BucketDeployment copies the built files with one singleton function per stack; its runtime is CDK's. */
function acknowledgeDeploymentHandler(stack: Stack): void {
  const handler = stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (!handler) return;
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      "CDK's BucketDeployment function (runs at deploy time only) copies the dashboard's files; its Python runtime is CDK's choice and moves with aws-cdk-lib.",
  });
}

let build: string | undefined;

/** Builds the dashboard once per synth (Vite, about a second) and copies it where CDK stages the asset. */
function copyBuiltDashboard(outputDir: string): void {
  if (!build || !existsSync(join(build, 'index.html'))) {
    const dir = mkdtempSync(join(tmpdir(), 'usage-dashboard-build-'));
    execFileSync(
      process.execPath,
      [
        join(projectRoot, 'node_modules/vite/bin/vite.js'),
        'build',
        join(projectRoot, 'dashboard'),
        '--outDir',
        dir,
        '--emptyOutDir',
        '--logLevel',
        'warn',
      ],
      {
        cwd: projectRoot,
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    build = dir;
  }
  cpSync(build, outputDir, { recursive: true });
}
