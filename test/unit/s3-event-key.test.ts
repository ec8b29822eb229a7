import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeS3EventKey } from '../../infra/local/s3';
import { decodeS3Key } from '../../shared/domain/import-keys';

describe('encodeS3EventKey (the local S3 notifications)', () => {
  it('encodes as S3 does: a space becomes +, a plus %2B, slashes stay', () => {
    expect(encodeS3EventKey('batches/b 1/events/a+b.csv')).toBe('batches/b+1/events/a%2Bb.csv');
  });

  it('round-trips every key through the handler’s decoding', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (key) => decodeS3Key(encodeS3EventKey(key)) === key),
    );
  });
});
