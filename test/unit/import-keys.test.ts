import { describe, expect, it } from 'vitest';
import type { S3EventRecord } from 'aws-lambda';
import {
  decodeS3Key,
  errorsKeyOf,
  importFileOf,
  importIdOf,
  importTargetOf,
  isIgnoredKey,
  keyOfImportId,
  resultKeyOf,
  uploadFileName,
  uploadKeyOf,
} from '../../shared/domain/import-keys';

describe('importTargetOf', () => {
  it.each([
    ['usage-events/2026-11.csv', { kind: 'usage-events' }],
    ['usage-events/partner-a/2026/11.csv', { kind: 'usage-events' }],
    ['batches/b-42/events/selection.csv', { kind: 'batch-events', batchId: 'b-42' }],
    ['batches/b-42/replacements/fix 1.csv', { kind: 'batch-replacements', batchId: 'b-42' }],
  ])('reads %s', (key, target) => {
    expect(importTargetOf(key)).toEqual(target);
  });

  it.each([
    ['a file at the root', 'events.csv'],
    ['an unknown batch folder', 'batches/b-42/notes/readme.txt'],
    ['a batch file without a batch id', 'batches/events/x.csv'],
    ['a prefix without a file name', 'usage-events/'],
    ['a prefix that only starts alike', 'usage-events-old/x.csv'],
  ])('finds no import for %s', (_name, key) => {
    expect(importTargetOf(key)).toBeUndefined();
  });
});

describe('isIgnoredKey', () => {
  it('ignores the handler’s own results, so writing them never re-imports', () => {
    expect(isIgnoredKey(resultKeyOf('usage-events/a.csv'))).toBe(true);
  });

  it('ignores folder markers created by the S3 console', () => {
    expect(isIgnoredKey('batches/b-42/events/')).toBe(true);
  });

  it('keeps ordinary files, including ones nobody can import (they are reported)', () => {
    expect(isIgnoredKey('usage-events/a.csv')).toBe(false);
    expect(isIgnoredKey('stray.txt')).toBe(false);
  });
});

describe('decodeS3Key', () => {
  it('decodes form-encoded notification keys: + is a space, %2B is a plus', () => {
    expect(decodeS3Key('usage-events/my+file%2B1%3A2.csv')).toBe('usage-events/my file+1:2.csv');
  });
});

describe('resultKeyOf', () => {
  it('puts the result next to the same key under results/', () => {
    expect(resultKeyOf('batches/b-1/events/x.csv')).toBe('results/batches/b-1/events/x.csv.json');
  });
});

describe('errorsKeyOf', () => {
  it('puts the errors CSV next to the result', () => {
    expect(errorsKeyOf('usage-events/a.csv')).toBe('results/usage-events/a.csv.errors.csv');
    expect(isIgnoredKey(errorsKeyOf('usage-events/a.csv'))).toBe(true);
  });
});

describe('importFileOf', () => {
  const record = (object: Partial<S3EventRecord['s3']['object']>, principalId?: string) =>
    ({
      userIdentity: principalId === undefined ? undefined : { principalId },
      s3: { bucket: { name: 'drops' }, object: { key: 'x', size: 1, eTag: 'etag-1', sequencer: '0A', ...object } },
    }) as unknown as S3EventRecord;
  const target = { kind: 'usage-events' } as const;

  it('keys a file by its version id when the bucket is versioned, else by its ETag', () => {
    expect(importFileOf(record({ versionId: 'v-7' }), 'usage-events/a.csv', target)).toMatchObject({
      version: 'v-7',
      versionId: 'v-7',
    });
    expect(importFileOf(record({}), 'usage-events/a.csv', target)).toEqual({
      bucket: 'drops',
      key: 'usage-events/a.csv',
      version: 'etag-1',
      target,
      actor: 's3:drops/usage-events/a.csv',
    });
  });

  it('acts as the uploader when S3 names one, else as the file', () => {
    expect(importFileOf(record({}, 'AWS:AIDAEXAMPLE'), 'usage-events/a.csv', target).actor).toBe('AWS:AIDAEXAMPLE');
    expect(importFileOf(record({}, ''), 'usage-events/a.csv', target).actor).toBe('s3:drops/usage-events/a.csv');
  });
});

describe('uploads through the API', () => {
  it.each([
    ['March calls (final).CSV', 'March-calls-final.csv'],
    ['../../etc/passwd', 'etc-passwd.csv'],
    ['données été.csv', 'donn-es-t.csv'],
    ['.csv', 'upload.csv'],
    ['a'.repeat(300), `${'a'.repeat(100)}.csv`],
  ])('names the file %j as the key segment %j', (name, segment) => {
    expect(uploadFileName(name)).toBe(segment);
  });

  it('puts each upload under its target, a fresh id first, where the import finds the same target', () => {
    const id = '0b5c1f1e-6f0e-4d8a-9d53-2f6f1b6a4c11';
    const targets = [
      { kind: 'usage-events' },
      { kind: 'batch-events', batchId: 'b-1' },
      { kind: 'batch-replacements', batchId: 'b-1' },
    ] as const;
    for (const target of targets) {
      const key = uploadKeyOf(target, id, 'x.csv');
      expect(key.endsWith(`/${id}-x.csv`)).toBe(true);
      expect(importTargetOf(key)).toEqual(target);
    }
  });

  it('reads back from an import id only a key an importer serves', () => {
    const key = 'batches/b-1/events/0b5c-x y.csv';
    expect(keyOfImportId(importIdOf(key))).toBe(key);
    expect(keyOfImportId(importIdOf(resultKeyOf('usage-events/a.csv')))).toBeUndefined();
    expect(keyOfImportId(importIdOf('usage-events/a.json'))).toBeUndefined();
    expect(keyOfImportId(importIdOf('elsewhere/a.csv'))).toBeUndefined();
    // Not the canonical encoding of any key (padding), and not base64url at all.
    expect(keyOfImportId(`${importIdOf(key)}=`)).toBeUndefined();
    expect(keyOfImportId('a+b/c')).toBeUndefined();
  });
});
