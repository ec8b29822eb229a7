import { Readable } from 'node:stream';
import { CsvError } from 'csv-parse';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  batchEventRow,
  MAX_RECORD_CHARS,
  readHeader,
  replacementRow,
  shapeRefusal,
  usageEventRow,
  type Header,
} from '../../shared/domain/csv-import';
import {
  errorReportHeader,
  errorReportLine,
  importStatus,
  neutralise,
  parseFailure,
} from '../../shared/domain/csv-import-report';
import { planGroup, ReplacementGrouper, type GroupRow } from '../../shared/domain/csv-replacement-groups';
import { csvRecords } from '../../shared/services/csv-imports/csv-records';

const EVENT_HEADER = ['event_id', 'subscription_id', 'product_id', 'quantity', 'occurred_at', 'parent_event_id'];
const REPLACEMENT_HEADER = ['original_event_id', ...EVENT_HEADER];

function header(kind: Parameters<typeof readHeader>[0], names: string[]): Header {
  const h = readHeader(kind, names);
  if (!h.ok) throw new Error(h.refusal.message);
  return h.value;
}

async function recordsOf(text: string | Buffer, chunkSize = 7): Promise<string[][]> {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  // Small chunks: multi-byte characters, CRLF pairs and quotes fall across chunk borders.
  const chunks = Array.from({ length: Math.ceil(bytes.length / chunkSize) }, (_, i) =>
    bytes.subarray(i * chunkSize, (i + 1) * chunkSize),
  );
  const out: string[][] = [];
  for await (const r of csvRecords(Readable.from(chunks))) out.push(r.cells);
  return out;
}

describe('readHeader', () => {
  it('accepts the usage-events columns in any order, with attr_<name> columns as attributes', () => {
    const h = header('usage-events', [
      'quantity',
      ' event_id ',
      'occurred_at',
      'attr_region',
      'subscription_id',
      'product_id',
    ]);
    expect(h.position.get('event_id')).toBe(1);
    expect(h.attributes).toEqual([['region', 3]]);
  });

  it('leaves parent_event_id optional', () => {
    expect(readHeader('usage-events', EVENT_HEADER.slice(0, 5)).ok).toBe(true);
  });

  it.each([
    [
      'a missing required column',
      'usage-events',
      ['event_id', 'subscription_id', 'product_id', 'occurred_at'],
      'missing column(s): quantity',
    ],
    ['an unknown column', 'usage-events', [...EVENT_HEADER, 'price'], 'unknown column(s): price'],
    ['a column twice', 'batch-events', ['event_id', 'event_id'], 'column event_id appears twice'],
    ['a column without a name', 'batch-events', ['event_id', ''], 'unknown column(s): #2 (no name)'],
    [
      'attributes on a batch events file',
      'batch-events',
      ['event_id', 'attr_region'],
      'unknown column(s): attr_region',
    ],
    [
      'an attribute name the API refuses',
      'usage-events',
      [...EVENT_HEADER, 'attr_9lives'],
      'unknown column(s): attr_9lives',
    ],
    [
      'replacement columns in part',
      'batch-replacements',
      ['original_event_id', 'event_id', 'quantity'],
      'replacement rows need all of',
    ],
    [
      'a header in another case',
      'batch-events',
      ['EVENT_ID'],
      'unknown column(s): EVENT_ID; missing column(s): event_id',
    ],
  ] as const)('refuses %s with VALIDATION_FAILED', (_name, kind, names, message) => {
    const h = readHeader(kind, [...names]);
    expect(h).toEqual({ ok: false, refusal: { code: 'VALIDATION_FAILED', message: expect.stringContaining(message) } });
  });

  it('says what it expected, and when the file seems separated by semicolons', () => {
    const h = readHeader('usage-events', ['event_id;subscription_id;product_id;quantity;occurred_at']);
    expect(!h.ok && h.refusal.message).toMatch(
      /separated by something other than commas.*expected event_id,subscription_id,product_id,quantity,occurred_at,\[parent_event_id\],\[attr_<name>\.\.\.\]$/,
    );
  });

  it('accepts a replacements file of original_event_id alone (reverse only)', () => {
    expect(readHeader('batch-replacements', ['original_event_id']).ok).toBe(true);
  });
});

describe('rows', () => {
  const usage = header('usage-events', [...EVENT_HEADER, 'attr_region', 'attr_cell']);

  it('turns a usage-events row into the API input: trimmed cells, empty optional cells left out', () => {
    const r = usageEventRow(usage, [' e-1 ', 'sub-1', 'voice', '12.5', '2026-03-01T10:00:00Z', '', 'eu', '']);
    expect(r).toEqual({
      ok: true,
      value: {
        eventId: 'e-1',
        subscriptionId: 'sub-1',
        productId: 'voice',
        quantity: '12.5',
        occurredAt: '2026-03-01T10:00:00Z',
        attributes: { region: 'eu' },
      },
    });
  });

  it.each([
    [
      'empty required cells',
      ['', 'sub-1', 'voice', '', '2026-03-01T10:00:00Z', '', '', ''],
      'event_id, quantity: required',
    ],
    ['a bad quantity', ['e-1', 'sub-1', 'voice', '-3', '2026-03-01T10:00:00Z', '', '', ''], 'quantity: '],
    [
      'an instant without a zone',
      ['e-1', 'sub-1', 'voice', '3', '2026-03-01 10:00', '', '', ''],
      'occurred_at: must be an ISO-8601 instant',
    ],
    [
      'a bad parent id',
      ['e-1', 'sub-1', 'voice', '3', '2026-03-01T10:00:00Z', 'a b', '', ''],
      'parent_event_id: must be',
    ],
    [
      'a too long attribute',
      ['e-1', 'sub-1', 'voice', '3', '2026-03-01T10:00:00Z', '', 'x'.repeat(257), ''],
      'attr_region: ',
    ],
  ])('names the column of %s', (_name, record, message) => {
    const r = usageEventRow(usage, record);
    expect(r).toEqual({ ok: false, refusal: { code: 'VALIDATION_FAILED', message: expect.stringContaining(message) } });
  });

  it('checks a row against the header: its column count and that it is UTF-8', () => {
    expect(shapeRefusal(usage, ['e-1'])).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'expected 8 column(s) as in the header, found 1',
    });
    expect(shapeRefusal(usage, ['e-1', 's', 'p', '1', 't', '', 'caf\uFFFD', ''])?.message).toMatch(/not valid UTF-8/);
    expect(shapeRefusal(usage, ['e-1', 's', 'p', '1', 't', '', 'café', ''])).toBeUndefined();
  });

  it('reads a batch events row as one event id', () => {
    const h = header('batch-events', ['event_id']);
    expect(batchEventRow(h, [' e-1 '])).toEqual({ ok: true, value: 'e-1' });
    expect(batchEventRow(h, [''])).toEqual({
      ok: false,
      refusal: { code: 'VALIDATION_FAILED', message: 'event_id: required' },
    });
    expect(batchEventRow(h, ['=cmd|x'])).toMatchObject({
      ok: false,
      refusal: { message: expect.stringContaining('event_id: must be') },
    });
  });

  it('reads a replacements row with no event_id and nothing else as reverse only', () => {
    const h = header('batch-replacements', REPLACEMENT_HEADER);
    expect(replacementRow(h, ['o-1', '', '', '', '', '', ''])).toEqual({ originalEventId: 'o-1' });
    expect(replacementRow(header('batch-replacements', ['original_event_id']), ['o-1'])).toEqual({
      originalEventId: 'o-1',
    });
  });

  it('reads a replacements row with an event as the original and its replacement', () => {
    const h = header('batch-replacements', REPLACEMENT_HEADER);
    expect(replacementRow(h, ['o-1', 'r-1', 'sub-1', 'voice', '10', '2026-03-01T10:00:00Z', ''])).toEqual({
      originalEventId: 'o-1',
      event: {
        eventId: 'r-1',
        subscriptionId: 'sub-1',
        productId: 'voice',
        quantity: '10',
        occurredAt: '2026-03-01T10:00:00Z',
      },
    });
  });

  it('refuses a replacements row with event cells but no event_id, and one without a usable original', () => {
    const h = header('batch-replacements', REPLACEMENT_HEADER);
    expect(replacementRow(h, ['o-1', '', 'sub-1', 'voice', '10', '2026-03-01T10:00:00Z', ''])).toEqual({
      originalEventId: 'o-1',
      refusal: { code: 'VALIDATION_FAILED', message: expect.stringContaining('event_id: required for a replacement') },
    });
    expect(replacementRow(h, ['', '', '', '', '', '', ''])).toEqual({
      refusal: { code: 'VALIDATION_FAILED', message: 'original_event_id: required' },
    });
  });
});

describe('replacement groups', () => {
  const row = (n: number, extra: Partial<GroupRow> = {}): GroupRow => ({ row: n, record: [`cell-${n}`], ...extra });
  const event = (id: string) => ({ eventId: id });

  it('sends an original when its rows end, and the last one at the end of the file', () => {
    const g = new ReplacementGrouper();
    expect(g.add('a', row(1, { event: event('a1') }))).toEqual({});
    expect(g.add('a', row(2, { event: event('a2') }))).toEqual({});
    const ended = g.add('b', row(3));
    expect(ended.ended).toMatchObject({ originalEventId: 'a', rows: [{ row: 1 }, { row: 2 }] });
    expect(g.finish()).toMatchObject({ originalEventId: 'b', rows: [{ row: 3 }] });
    expect(g.finish()).toBeUndefined();
  });

  it('rejects a row for an original whose rows already ended with REPLACEMENT_ROWS_NOT_ADJACENT, keeping the open group', () => {
    const g = new ReplacementGrouper();
    g.add('a', row(1));
    g.add('b', row(2));
    expect(g.add('a', row(3)).rejected).toEqual([
      {
        row: 3,
        record: ['cell-3'],
        code: 'REPLACEMENT_ROWS_NOT_ADJACENT',
        message: expect.stringContaining('must be adjacent'),
      },
    ]);
    expect(g.add('b', row(4))).toEqual({});
    expect(g.finish()?.rows.map((r) => r.row)).toEqual([2, 4]);
  });

  it('goes on from its state in another invocation exactly as it would have: the open group, the ended originals, an overflow', () => {
    // Rows: a a | b a (late) c | c ... (55 rows of c: too many) | d
    const script: Array<[string, number]> = [
      ['a', 1],
      ['a', 2],
      ['b', 3],
      ['a', 4],
      ['c', 5],
      ...Array.from({ length: 55 }, (_, i): [string, number] => ['c', 6 + i]),
      ['d', 61],
    ];
    const outcomes = (g: ReplacementGrouper, steps: Array<[string, number]>) =>
      steps.map(([id, n]) => g.add(id, row(n)));
    const whole = new ReplacementGrouper();
    const expected = [...outcomes(whole, script), whole.finish()];
    for (const cut of [2, 4, 30, 60]) {
      const first = new ReplacementGrouper();
      const before = outcomes(first, script.slice(0, cut));
      // Through JSON, as the state travels between invocations.
      const second = new ReplacementGrouper(JSON.parse(JSON.stringify(first.state())));
      expect([...before, ...outcomes(second, script.slice(cut)), second.finish()], `cut after ${cut} rows`).toEqual(
        expected,
      );
    }
  });

  it('rejects an original whole, in row order, once it has more than 50 rows, and keeps none of them', () => {
    const g = new ReplacementGrouper();
    const rejected: number[] = [];
    for (let i = 1; i <= 53; i++) {
      const out = g.add('a', row(i, { event: event(`a${i}`) }));
      rejected.push(...(out.rejected ?? []).map((r) => r.row));
    }
    expect(rejected).toEqual(Array.from({ length: 53 }, (_, i) => i + 1));
    const last = g.finish()!;
    expect(last.rows).toEqual([]);
    expect(planGroup(last)).toEqual({ ok: false, rejections: [] });
  });

  it('rejects every row of an original when one is bad, the culprit with its own message', () => {
    const plan = planGroup({
      originalEventId: 'a',
      rows: [
        row(1, { event: event('a1') }),
        row(2, { refusal: { code: 'VALIDATION_FAILED', message: 'quantity: bad' } }),
      ],
      overflow: 0,
    });
    expect(plan).toEqual({
      ok: false,
      rejections: [
        {
          row: 1,
          record: ['cell-1'],
          code: 'VALIDATION_FAILED',
          message: 'row 2 of the same original was rejected: quantity: bad',
        },
        { row: 2, record: ['cell-2'], code: 'VALIDATION_FAILED', message: 'quantity: bad' },
      ],
    });
  });

  it('refuses to mix a reverse-only row with replacement rows of the same original', () => {
    const plan = planGroup({ originalEventId: 'a', rows: [row(1), row(2, { event: event('a1') })], overflow: 0 });
    expect(!plan.ok && plan.rejections.map((r) => r.message)).toEqual([
      expect.stringContaining('both a reverse-only row and replacement rows'),
      expect.anything(),
    ]);
  });

  it('makes one request per original: replacements in row order, or none for reverse only (repeats are duplicates)', () => {
    expect(
      planGroup({
        originalEventId: 'a',
        rows: [row(1, { event: event('a1') }), row(2, { event: event('a2') })],
        overflow: 0,
      }),
    ).toMatchObject({
      ok: true,
      request: { originalEventId: 'a', events: [event('a1'), event('a2')] },
      duplicates: [],
    });
    expect(planGroup({ originalEventId: 'b', rows: [row(3), row(4)], overflow: 0 })).toMatchObject({
      ok: true,
      request: { originalEventId: 'b', events: [] },
      rows: [{ row: 3 }],
      duplicates: [{ row: 4 }],
    });
  });
});

describe('the error report', () => {
  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', '=HYPERLINK("http://x","y")'])(
    'neutralises the formula-like cell %j with a single quote',
    (cell) => {
      expect(neutralise(cell)).toBe(`'${cell}`);
    },
  );

  it.each(['e-1', '12.5', '', "'=already", ' =1', 'a=b'])('leaves %j as it is', (cell) => {
    expect(neutralise(cell)).toBe(cell);
  });

  it('never yields a cell a spreadsheet would run, and loses nothing', () => {
    fc.assert(
      fc.property(fc.string(), (cell) => {
        const safe = neutralise(cell);
        expect(/^[=+\-@\t\r]/.test(safe)).toBe(false);
        expect(safe === cell || safe === `'${cell}`).toBe(true);
      }),
    );
  });

  it('writes row, code and message, then the row as it was, every user-supplied cell neutralised', () => {
    expect(errorReportHeader(['event_id', 'quantity'])).toEqual(['row', 'code', 'message', 'event_id', 'quantity']);
    expect(errorReportLine({ row: 7, code: 'VALIDATION_FAILED', message: '=bad', record: ['=cmd', '-5'] })).toEqual([
      '7',
      'VALIDATION_FAILED',
      "'=bad",
      "'=cmd",
      "'-5",
    ]);
  });

  it('derives the status from rejections and a file-level error', () => {
    expect(importStatus({ rejected: 0 })).toBe('COMPLETED');
    expect(importStatus({ rejected: 3 })).toBe('COMPLETED_WITH_ERRORS');
    expect(importStatus({ rejected: 0, error: { code: 'NOT_FOUND', message: 'x' } })).toBe('FAILED');
  });
});

describe('csvRecords', () => {
  it('strips a UTF-8 BOM and reads CRLF line ends', async () => {
    expect(await recordsOf('\uFEFFevent_id,quantity\r\ne-1,3\r\ne-2,4\r\n')).toEqual([
      ['event_id', 'quantity'],
      ['e-1', '3'],
      ['e-2', '4'],
    ]);
  });

  it('reads quoted fields with commas, line breaks and doubled quotes', async () => {
    expect(await recordsOf('a,b\n"x, y","line 1\nline 2"\n"say ""hi""",z\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'line 1\nline 2'],
      ['say "hi"', 'z'],
    ]);
  });

  it('skips blank lines and rows of empty cells, and keeps a last line without a line end', async () => {
    expect(await recordsOf('a,b\n\n1,2\n , \n,\n\r\n3,4')).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('passes rows with another column count through, for the row check to report', async () => {
    expect(await recordsOf('a,b\n1\n1,2,3\n')).toEqual([['a', 'b'], ['1'], ['1', '2', '3']]);
  });

  it('turns a stray quote into a row (checked later), not a parse failure', async () => {
    expect(await recordsOf('a,b\nx"y,2\n"p"q,3\n')).toHaveLength(3);
  });

  it('decodes multi-byte characters split across chunks, and marks bytes that are not UTF-8', async () => {
    const rows = await recordsOf(Buffer.concat([Buffer.from('a\ncafé ☕\n'), Buffer.from([0x63, 0xe9, 0x0a])]), 1);
    expect(rows).toEqual([['a'], ['café ☕'], ['c\uFFFD']]);
  });

  it('reads a UTF-16 file that starts with its BOM', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('event_id\ne-1\n', 'utf16le')]);
    expect(await recordsOf(utf16)).toEqual([['event_id'], ['e-1']]);
  });

  it('stops at a record longer than the limit without holding the rest of the stream', async () => {
    let produced = 0;
    async function* endless() {
      yield Buffer.from('event_id\ne-1\n');
      const block = Buffer.alloc(64 * 1024, 'x');
      for (;;) {
        produced += block.length;
        yield block;
        // As a network stream does, between chunks.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const seen: string[][] = [];
    const error = await (async () => {
      try {
        for await (const r of csvRecords(endless())) seen.push(r.cells);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CsvError);
    expect((error as CsvError).code).toBe('CSV_MAX_RECORD_SIZE');
    expect(seen).toEqual([['event_id'], ['e-1']]);
    expect(produced).toBeLessThan(MAX_RECORD_CHARS * 8);
    expect(parseFailure(error as CsvError, 1, 2).message).toMatch(
      /a row after row 1 \(line 2\) is longer than 65536 characters/,
    );
  });

  it('reads on from the end of any record exactly the records after it, as a ranged read does (UTF-8 and UTF-16)', async () => {
    const cell = fc.oneof(
      fc.string(),
      fc.constantFrom('a, b', 'say "hi"', 'line 1\nline 2', 'line 1\r\nline 2', 'café ☕', ''),
    );
    const file = fc.tuple(
      fc.array(fc.array(cell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
      fc.constantFrom('\n', '\r\n'),
      fc.boolean(),
    );
    const quote = (c: string) => `"${c.replaceAll('"', '""')}"`;
    await fc.assert(
      fc.asyncProperty(
        file,
        fc.constantFrom<BufferEncoding>('utf8', 'utf16le'),
        async ([rows, eol, lastEol], encoding) => {
          const text = ['h1,h2', ...rows.map((r) => r.map(quote).join(','))].join(eol) + (lastEol ? eol : '');
          const bytes =
            encoding === 'utf8'
              ? Buffer.from(`\uFEFF${text}`)
              : Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
          const all: Array<{ cells: string[]; end: number }> = [];
          for await (const r of csvRecords(Readable.from([bytes]))) all.push(r);
          for (const [i, r] of all.entries()) {
            const rest: string[][] = [];
            for await (const next of csvRecords(Readable.from([bytes.subarray(r.end)]), { encoding }))
              rest.push(next.cells);
            expect(rest).toEqual(all.slice(i + 1).map((x) => x.cells));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reports a quote that is never closed', async () => {
    const error = await recordsOf('a\n"open\n').catch((e: unknown) => e);
    expect((error as CsvError).code).toBe('CSV_QUOTE_NOT_CLOSED');
    expect(parseFailure(error as CsvError, 0, 3).message).toMatch(/never closed/);
  });
});
