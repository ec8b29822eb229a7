// The dashboard's pure pieces, run in Node: the exact money difference it shows, and the Web Crypto
// hashing it signs API calls with in AWS.
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { decimalDelta } from '../../dashboard/src/decimal';
import { WebCryptoSha256 } from '../../dashboard/src/sigv4';

describe('decimalDelta', () => {
  it.each([
    ['1.00', '0.00', '+1.00'],
    ['0.00', '1.00', '-1.00'],
    ['1.5', '1.50', '0.00'],
    ['-0.25', '0.5', '-0.75'],
    ['12345678901234567890.01', '0.02', '+12345678901234567889.99'],
    ['30', '100', '-70'],
  ])('%s − %s = %s, exactly', (a, b, delta) => {
    expect(decimalDelta(a, b)).toBe(delta);
  });
});

/** The same interface on Node's own crypto: an independent reference for the adapter. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const buffer = (d: SourceData) =>
  typeof d === 'string'
    ? Buffer.from(d)
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);
class NodeSha256 {
  private chunks: Buffer[] = [];
  constructor(private readonly secret?: SourceData) {}
  update(data: SourceData) {
    this.chunks.push(buffer(data));
  }
  async digest() {
    const h = this.secret === undefined ? createHash('sha256') : createHmac('sha256', buffer(this.secret));
    return new Uint8Array(h.update(Buffer.concat(this.chunks)).digest());
  }
  reset() {
    this.chunks = [];
  }
}

// AWS's Signature Version 4 test suite, `get-vanilla`.
const vanilla = {
  request: {
    method: 'GET',
    protocol: 'https:',
    hostname: 'example.amazonaws.com',
    path: '/',
    headers: { host: 'example.amazonaws.com' },
  },
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  date: new Date('2015-08-30T12:36:00Z'),
};

describe('WebCryptoSha256 (SigV4 signing in the browser)', () => {
  it("signs AWS's get-vanilla test request to its published signature", async () => {
    const signer = new SignatureV4({
      service: 'service',
      region: 'us-east-1',
      credentials: vanilla.credentials,
      sha256: WebCryptoSha256,
      applyChecksum: false,
    });
    const signed = await signer.sign(vanilla.request, { signingDate: vanilla.date });
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  it('signs an API call with a body, a query and a session token as Node’s own crypto does', async () => {
    const request = {
      method: 'POST',
      protocol: 'https:',
      hostname: 'abc123.execute-api.eu-west-1.amazonaws.com',
      path: '/v1/batches/b%201/events',
      query: { limit: '10', cursor: 'a/b+c' },
      headers: {
        host: 'abc123.execute-api.eu-west-1.amazonaws.com',
        'content-type': 'application/json',
        'idempotency-key': 'k-1',
      },
      body: JSON.stringify({ eventIds: ['é-1', 'e-2'] }),
    };
    const credentials = { ...vanilla.credentials, sessionToken: 'token/with+chars=' };
    const sign = (sha256: typeof WebCryptoSha256 | typeof NodeSha256) =>
      new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials, sha256 }).sign(request, {
        signingDate: vanilla.date,
      });
    const [web, node] = await Promise.all([sign(WebCryptoSha256), sign(NodeSha256)]);
    expect(web.headers.authorization).toMatch(/Signature=[0-9a-f]{64}$/);
    expect(web.headers).toEqual(node.headers);
  });
});
