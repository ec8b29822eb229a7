import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCaught } from '../../functions/workflow/task-context';
import { projectRoot } from '../../infra/constructs/functions';
import { SUBMIT_APPROVAL_CONDITION } from '../../shared/domain/approval';
import { allowedActions, BATCH_STATUSES, BATCH_TYPES } from '../../shared/domain/batch';
import { errorCodes, storedErrorCode } from '../../shared/domain/errors';
import { lookups } from '../../shared/domain/lookups';
import { call } from '../support/api';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

// Every way a module writes a code: a DomainError, a FieldRefusal or Refusal (`code:`), a member's or
// partition's errorCode, a problem built by the local server, a fallback (`?? 'INTERNAL'`).
const EMITTERS = [
  /new DomainError\(\s*'([A-Z_]+)'/g,
  /\b(?:code|errorCode)\s*:\s*'([A-Z_]+)'/g,
  /\bproblem\(\s*'([A-Z_]+)'/g,
  /\b(?:code|errorCode|Error)\s*\?\?\s*'([A-Z_]+)'/g,
];

function emittedCodes(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of ['shared', 'functions', 'infra'].flatMap((d) => sources(join(projectRoot, d)))) {
    const text = readFileSync(file, 'utf8');
    for (const re of EMITTERS) {
      for (const m of text.matchAll(re)) found.set(m[1]!, [...(found.get(m[1]!) ?? []), relative(projectRoot, file)]);
    }
  }
  return found;
}

describe('GET /v1/lookups', () => {
  it('lists every error code with its HTTP status and meaning, from shared/domain/errors.ts', async () => {
    const res = await call('GET', '/v1/lookups');
    expect(res.status).toBe(200);
    expect(res.body.errorCodes).toEqual(
      Object.entries(errorCodes).map(([code, e]) => ({ code, status: e.status, meaning: e.meaning })),
    );
    for (const e of res.body.errorCodes) expect(e.meaning, e.code).toMatch(/\w{3,}.*\.$/);
    expect(res.body.batchTypes).toEqual([...BATCH_TYPES]);
    expect(res.body.limits.eventIdsPerCall).toBe(1000);
  });

  it('lists every code that any module of shared/, functions/ or infra/ emits', () => {
    const emitted = emittedCodes();
    // The scan finds codes (it is not vacuous): those of the API, the CSV reports and the batch log.
    expect(emitted.size).toBeGreaterThanOrEqual(20);
    for (const code of [
      'EVENT_HELD_BY_OTHER_BATCH',
      'REPLACEMENT_ROWS_NOT_ADJACENT',
      'AR_INTERFACED',
      'METHOD_NOT_ALLOWED',
    ])
      expect(emitted.has(code), code).toBe(true);
    const listed = new Set(lookups().errorCodes.map((e) => e.code));
    const unlisted = [...emitted]
      .filter(([code]) => !listed.has(code as never))
      .map(([code, files]) => `${code} (${[...new Set(files)].join(', ')})`);
    expect(unlisted).toEqual([]);
  });

  it('stores a workflow error that is not one of our codes as INTERNAL, keeping its name in the message', () => {
    expect(describeCaught({ Error: 'States.Timeout', Cause: 'Task timed out after 60 seconds' })).toEqual({
      code: 'INTERNAL',
      message: 'States.Timeout: Task timed out after 60 seconds',
    });
    const cause = JSON.stringify({
      errorType: 'DomainError',
      errorMessage: 'held elsewhere',
      code: 'EVENT_HELD_BY_OTHER_BATCH',
    });
    expect(describeCaught({ Error: 'DomainError', Cause: cause })).toEqual({
      code: 'EVENT_HELD_BY_OTHER_BATCH',
      message: 'held elsewhere',
    });
    expect(storedErrorCode('States.TaskFailed')).toBe('INTERNAL');
    expect(storedErrorCode('AR_INTERFACED')).toBe('AR_INTERFACED');
  });

  it('derives actions by type and status from the rule table the API enforces, SUBMIT naming the four-eyes condition on the caller', () => {
    const table = lookups().actionsByTypeAndStatus;
    for (const type of BATCH_TYPES) {
      for (const status of BATCH_STATUSES) {
        const batch = {
          type,
          status,
          counts: { events: 1, related: 0, errored: 0, inProcess: 0, processed: 0 },
          options: { arPolicy: 'REJECT' as const, creditOnly: false },
        };
        const unconditional = table[type][status]
          .filter(
            (r) =>
              !r.when ||
              r.when.startsWith('no member') ||
              r.when.startsWith('the batch is not') ||
              r.when.startsWith('the batch has events') ||
              r.when.startsWith('the batch names no undo'),
          )
          .map((r) => r.action);
        expect(unconditional.sort(), `${type} ${status}`).toEqual(allowedActions(batch).sort());
      }
    }
    expect(table.RATING.DRAFT.map((r) => r.action)).not.toContain('ADD_REPLACEMENTS');
    expect(table.RERATE.LOCKED).toContainEqual({
      action: 'SUBMIT',
      when: `no member is in ERROR and the batch has events and ${SUBMIT_APPROVAL_CONDITION}`,
    });
    expect(table.RATING.COMPLETED).toEqual([{ action: 'UNDO', when: 'the batch names no undo yet (undoneBy)' }]);
    expect(table.REVERSE_REPLACE.LOCKING).toEqual([
      { action: 'REVERT', when: 'the last lock or revert stopped with lastError' },
    ]);
  });
});
