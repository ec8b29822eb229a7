// The parts of s3rver 3.7.1 the local stack uses (the package ships no types; @types/s3rver lacks events).
declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory?: string;
    silent?: boolean;
    /** `configs`: CORS or website configuration XML, applied at every start. */
    configureBuckets?: { name: string; configs?: string[] }[];
  }

  /** One record as s3rver emits it: S3's shape, but the key is not URL-encoded. */
  export interface S3rverEventRecord {
    eventName: string;
    eventTime: string;
    s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; sequencer: string } };
    [field: string]: unknown;
  }

  /** An object as the store reads and writes it: `content` a Buffer or a stream. */
  export interface S3rverObject {
    bucket: string;
    key: string;
    content: Buffer | NodeJS.ReadableStream;
    metadata: Record<string, string>;
  }

  /** The filesystem store's methods the local stack wraps (writes made whole before they are seen). */
  export interface S3rverStore {
    getResourcePath(bucket: string, key: string, resource: string): string;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
    putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
    getObject(bucket: string, key: string, options?: unknown): Promise<unknown>;
  }

  export default class S3rver {
    constructor(options?: S3rverOptions);
    store: S3rverStore;
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
    on(event: 'event', listener: (event: { Records: S3rverEventRecord[] }) => void): this;
  }
}

declare module 's3rver/lib/models/account.js' {
  /** s3rver accepts only access keys registered on this account. */
  export const DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
}
