// CSV drops: the imports bucket, its access-log bucket, the import function's notifications and
// the dead-letter queue for invocations that failed every retry.
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, EventType, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FunctionFactory, FunctionSpec, ServiceFunction } from './functions';

import { importPartsPrefix, importPrefixes, importSuffix, resultsPrefix } from '../../shared/domain/import-keys';

// The key layout of CSV drops is defined once, beside the import handler that reads it.
export { importPartsPrefix, importPrefixes, importSuffix, resultsPrefix };

export const importFunction: FunctionSpec = {
  handler: 'functions/import/handler.ts',
  access: { table: 'readWrite', bucket: 'readWrite' },
};

export interface ImportsProps {
  /** How long import reports stay readable. */
  resultsExpiration?: Duration;
  /** How long an overwritten or deleted upload can still be recovered. */
  noncurrentVersionExpiration?: Duration;
  /** How long the work objects of an import (errors CSV parts, carried state) are kept: longer than any import runs. */
  importPartsExpiration?: Duration;
  accessLogExpiration?: Duration;
}

export class Imports extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ImportsProps = {}) {
    super(scope, id);

    this.accessLogs = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // S3 server access logs can only be delivered to a bucket with S3-managed encryption.
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: props.accessLogExpiration ?? Duration.days(365) }],
    });

    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // SSE-S3, not KMS: partners upload with a scoped IAM policy or a presigned URL and need no key
      // grant; access is decided by IAM and the bucket policy, and KMS would add a request per object.
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // A partner re-uploading a file under the same key must not erase what was imported before.
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'imports/',
      lifecycleRules: [
        { id: 'ExpireResults', prefix: resultsPrefix, expiration: props.resultsExpiration ?? Duration.days(90) },
        // Longer than the dead-letter queue keeps a failed invocation, so a redelivered import still finds its parts.
        {
          id: 'ExpireImportParts',
          prefix: importPartsPrefix,
          expiration: props.importPartsExpiration ?? Duration.days(30),
        },
        {
          id: 'ExpireNoncurrentVersions',
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          expiredObjectDeleteMarker: true,
        },
      ],
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
  }

  /** The import function: invoked for new `.csv` objects under the import prefixes only. */
  addImportFunction(functions: FunctionFactory, spec: FunctionSpec = importFunction): ServiceFunction {
    // A file too long for one invocation is continued by an invocation the function sends itself, only
    // after a checkpoint that moved the file on: the chain ends with the file. Its own writes (results/,
    // import-parts/) never notify it (the filters below).
    const fn = functions.create(this, 'Function', spec, {
      kind: 'import',
      deadLetterQueue: this.deadLetterQueue,
      invokesItself: true,
    });
    // A policy of its own: the function depends on its role's default policy, and this one names the function.
    new Policy(this, 'ContinuePolicy', {
      roles: [fn.role],
      statements: [new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.function.functionArn] })],
    });
    for (const prefix of importPrefixes) {
      this.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(fn.function), {
        prefix,
        suffix: importSuffix,
      });
    }
    acknowledgeNotificationsHandler(Stack.of(this));
    return fn;
  }
}

/** CDK configures bucket notifications through one singleton custom-resource function per stack. */
function acknowledgeNotificationsHandler(stack: Stack): void {
  const handler = stack.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
  if (!handler) return;
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      "CDK's bucket-notifications custom resource (runs at deploy time only) creates its role with the basic execution policy; CDK offers no way to replace it.",
  });
}
