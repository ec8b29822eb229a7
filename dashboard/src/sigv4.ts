// SHA-256 and HMAC-SHA-256 from the browser's Web Crypto, in the shape @smithy/signature-v4 wants,
// so signing adds no hashing library to the bundle. (Node has the same Web Crypto: the unit test runs it there.)
type SourceData = string | ArrayBuffer | ArrayBufferView;

/** A copy in a fresh ArrayBuffer (Web Crypto takes no shared memory). */
const bytes = (data: SourceData): Uint8Array<ArrayBuffer> =>
  typeof data === 'string'
    ? new TextEncoder().encode(data)
    : new Uint8Array(
        ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data),
      );

export class WebCryptoSha256 {
  private chunks: Uint8Array<ArrayBuffer>[] = [];
  constructor(private readonly secret?: SourceData) {}

  update(data: SourceData): void {
    this.chunks.push(bytes(data));
  }

  async digest(): Promise<Uint8Array> {
    const data = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      data.set(c, at);
      at += c.length;
    }
    if (this.secret === undefined) return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    const key = await crypto.subtle.importKey('raw', bytes(this.secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, data));
  }

  reset(): void {
    this.chunks = [];
  }
}
