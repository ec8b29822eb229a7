import { beforeAll, describe, expect, it } from 'vitest';
import { importPartsPrefix, importPrefixes, importSuffix, resultsPrefix } from '../../infra/constructs/imports';
import { asList, logicalId, resourcesOf, synth, type Statement, type Synthesized } from './synth';

let real: Synthesized;
let bucketId: string;
let logBucketId: string;
let importFnId: string;
beforeAll(() => {
  real = synth('imports');
  bucketId = logicalId(real.stack.imports.bucket);
  logBucketId = logicalId(real.stack.imports.accessLogs);
  importFnId = logicalId(real.stack.imports.node.findChild('Function').node.findChild('Function'));
});

const bucket = (id: string) => resourcesOf(real.template, 'AWS::S3::Bucket')[id]!.Properties;
const bucketPolicy = (id: string): Statement[] => {
  const policy = Object.values(resourcesOf(real.template, 'AWS::S3::BucketPolicy')).find(
    (p) => p.Properties.Bucket.Ref === id,
  );
  return policy!.Properties.PolicyDocument.Statement;
};

describe('the imports bucket and its access-log bucket', () => {
  it('block every kind of public access', () => {
    for (const id of [bucketId, logBucketId]) {
      expect(bucket(id).PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
  });

  it('deny every request that is not over TLS 1.2 or later', () => {
    for (const id of [bucketId, logBucketId]) {
      const denies = bucketPolicy(id).filter((s) => s.Effect === 'Deny' && s.Action === 's3:*');
      expect(denies.map((s) => s.Condition)).toEqual(
        expect.arrayContaining([
          { Bool: { 'aws:SecureTransport': 'false' } },
          { NumericLessThan: { 's3:TlsVersion': 1.2 } },
        ]),
      );
      for (const s of denies) expect(s.Principal).toEqual({ AWS: '*' });
    }
  });

  it('encrypt objects at rest with S3-managed keys and disable ACLs', () => {
    for (const id of [bucketId, logBucketId]) {
      expect(bucket(id).BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      expect(bucket(id).OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    }
  });

  it('are retained when the stack is deleted', () => {
    for (const id of [bucketId, logBucketId]) {
      expect(resourcesOf(real.template, 'AWS::S3::Bucket')[id]!.DeletionPolicy).toBe('Retain');
    }
  });
});

describe('the imports bucket', () => {
  it('is versioned, expires results/ reports, import work objects and old versions, and aborts stale multipart uploads', () => {
    const p = bucket(bucketId);
    expect(p.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(p.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Prefix: resultsPrefix, ExpirationInDays: 90, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: importPartsPrefix, ExpirationInDays: 30, Status: 'Enabled' }),
        expect.objectContaining({
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
          Status: 'Enabled',
        }),
      ]),
    );
  });

  it('logs server access to the access-log bucket, where only S3 logging for this bucket may write', () => {
    expect(bucket(bucketId).LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logBucketId },
      LogFilePrefix: 'imports/',
    });
    const allows = bucketPolicy(logBucketId).filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({
      Principal: { Service: 'logging.s3.amazonaws.com' },
      Action: 's3:PutObject',
      Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId, 'Arn'] } } },
    });
  });

  it('notifies the import function only of new .csv objects under the import prefixes, never results/', () => {
    const notifications = Object.values(resourcesOf(real.template, 'Custom::S3BucketNotifications'));
    expect(notifications).toHaveLength(1);
    const config = notifications[0]!.Properties.NotificationConfiguration;
    expect(Object.keys(config)).toEqual(['LambdaFunctionConfigurations']);
    const filters = (config.LambdaFunctionConfigurations as any[]).map((c) => {
      expect(c.Events).toEqual(['s3:ObjectCreated:*']);
      expect(c.LambdaFunctionArn).toEqual({ 'Fn::GetAtt': [importFnId, 'Arn'] });
      const rules = Object.fromEntries(
        (c.Filter.Key.FilterRules as { Name: string; Value: string }[]).map((r) => [r.Name, r.Value]),
      );
      return { prefix: rules.prefix ?? '', suffix: rules.suffix ?? '' };
    });
    expect(filters.map((f) => f.prefix).sort()).toEqual([...importPrefixes].sort());
    const notified = (key: string) => filters.some((f) => key.startsWith(f.prefix) && key.endsWith(f.suffix));
    expect(importSuffix).toBe('.csv');
    expect(notified('usage-events/2026-11-21.csv')).toBe(true);
    expect(notified('batches/b-1/events/selection.csv')).toBe(true);
    expect(notified('batches/b-1/replacements/fix.csv')).toBe(true);
    expect(notified(`${resultsPrefix}usage-events/2026-11-21.csv.json`)).toBe(false);
    expect(notified(`${resultsPrefix}usage-events/2026-11-21.csv.errors.csv`)).toBe(false);
    expect(notified(`${resultsPrefix}batches/b-1/events/selection.csv`)).toBe(false);
    expect(notified('usage-events/readme.txt')).toBe(false);
    expect(notified(`${importPartsPrefix}0123abcd/000001-owner.errors.csv`)).toBe(false);
  });

  it('lets only S3, for this bucket in this account, invoke the import function', () => {
    const permissions = Object.values(resourcesOf(real.template, 'AWS::Lambda::Permission')).filter((p) =>
      JSON.stringify(p.Properties.FunctionName).includes(importFnId),
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]!.Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      Principal: 's3.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: { 'Fn::GetAtt': [bucketId, 'Arn'] },
    });
  });
});

describe('the import function', () => {
  it("may invoke itself beyond Lambda's recursive loop limit (16), to continue a file that needs more invocations", () => {
    expect(resourcesOf(real.template, 'AWS::Lambda::Function')[importFnId]!.Properties.RecursiveLoop).toBe('Allow');
    const others = Object.entries(resourcesOf(real.template, 'AWS::Lambda::Function')).filter(
      ([id]) => id !== importFnId,
    );
    expect(others.length).toBeGreaterThan(5);
    for (const [id, fn] of others) expect(fn.Properties.RecursiveLoop, id).toBeUndefined();
  });
});

describe('the import dead-letter queue', () => {
  it("receives the import function's failed asynchronous invocations", () => {
    const queueId = logicalId(real.stack.imports.deadLetterQueue);
    const fn = resourcesOf(real.template, 'AWS::Lambda::Function')[importFnId]!;
    expect(fn.Properties.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
  });

  it('is encrypted, SSL-only and keeps messages 14 days', () => {
    const queueId = logicalId(real.stack.imports.deadLetterQueue);
    const queue = resourcesOf(real.template, 'AWS::SQS::Queue')[queueId]!;
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const policy = Object.values(resourcesOf(real.template, 'AWS::SQS::QueuePolicy')).find((p) =>
      asList(p.Properties.Queues).some((q: any) => q.Ref === queueId),
    );
    expect(policy!.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    ]);
  });
});
