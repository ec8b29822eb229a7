import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const LIMIT = 350;

describe('file size in shared/', () => {
  it(`says at the top of every file over ${LIMIT} lines why it is not split ("// Over ${LIMIT} lines: …")`, () => {
    const unexplained = readdirSync('shared', { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => ({ path: `shared/${f}`, lines: readFileSync(`shared/${f}`, 'utf8').split('\n') }))
      .filter(({ lines }) => lines.length > LIMIT && !lines[0]?.startsWith(`// Over ${LIMIT} lines: `))
      .map(({ path, lines }) => `${path} (${lines.length} lines)`);
    expect(unexplained).toEqual([]);
  });
});
