// The words of every validation message (API errors[], CSV reports, rejected items): each names
// the limit it enforces and what was sent ("1,001 items; at most 1,000"), never "Invalid input".
// Installed once as zod's global error map by importing this module (values.ts does).
import { z } from 'zod';

const fmt = (n: number | bigint) =>
  typeof n === 'number' && !Number.isInteger(n) ? String(n) : n.toLocaleString('en-US');
const plural = (n: number | bigint, one: string, many = `${one}s`) => `${fmt(n)} ${n === 1 || n === 1n ? one : many}`;

type RawIssue = z.core.$ZodRawIssue;

function unitOf(origin: string, n: number | bigint): string {
  if (origin === 'array' || origin === 'set') return plural(n, 'item');
  if (origin === 'string') return plural(n, 'character');
  if (origin === 'file') return plural(n, 'byte');
  return fmt(n);
}

function sizeOf(origin: string, input: unknown): string | undefined {
  if ((origin === 'array' && Array.isArray(input)) || (origin === 'string' && typeof input === 'string'))
    return unitOf(origin, (input as { length: number }).length);
  if (origin === 'set' && input instanceof Set) return unitOf(origin, input.size);
  return undefined;
}

const typeName = (v: unknown) =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'number' && Number.isNaN(v)
        ? 'not a number'
        : typeof v;

/**
 * The branch of a union that the input was meant for: not the one that finds unknown fields or
 * misses required ones at the top, nor one expecting another type altogether.
 */
function likelyBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  const mismatch = (issues: readonly z.core.$ZodIssue[]) =>
    issues.filter(
      (i) =>
        (i.code === 'unrecognized_keys' && i.path.length === 0) || (i.code === 'invalid_type' && i.path.length <= 1),
    ).length;
  const ranked = [...branches]
    .filter((b) => b.length > 0)
    .sort((a, b) => mismatch(a) - mismatch(b) || a.length - b.length);
  const best = ranked[0];
  if (!best || mismatch(best) > 0 || (ranked[1] && mismatch(ranked[1]) === 0)) return undefined;
  return best;
}

export function validationMessage(issue: RawIssue): string | undefined {
  const input = issue.input;
  switch (issue.code) {
    case 'too_big': {
      if (issue.origin === 'number' || issue.origin === 'bigint' || issue.origin === 'int') {
        return issue.inclusive === false
          ? `too large: must be less than ${fmt(issue.maximum)}`
          : `too large: at most ${fmt(issue.maximum)}`;
      }
      const got = sizeOf(issue.origin, input);
      const limit =
        issue.origin === 'string' || issue.origin === 'array' || issue.origin === 'set'
          ? unitOf(issue.origin, issue.maximum)
          : fmt(issue.maximum);
      return `${issue.origin === 'string' ? 'too long' : 'too many'}: ${got ? `${got}; ` : ''}at most ${limit}`;
    }
    case 'too_small': {
      if (issue.origin === 'number' || issue.origin === 'bigint' || issue.origin === 'int') {
        return issue.inclusive === false
          ? `too small: must be more than ${fmt(issue.minimum)}`
          : `too small: at least ${fmt(issue.minimum)}`;
      }
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return 'must not be empty';
      const got = sizeOf(issue.origin, input);
      return `too few: ${got ? `${got}; ` : ''}at least ${unitOf(issue.origin, issue.minimum)}`;
    }
    case 'invalid_type':
      if (input === undefined) return 'required';
      if (typeof input === 'number' && Number.isNaN(input)) return `must be a ${issue.expected}`;
      // JSON numbers beyond a double (1e400) arrive as Infinity.
      if (typeof input === 'number' && !Number.isFinite(input) && !Number.isNaN(input))
        return 'too large: not a finite number';
      return `must be ${issue.expected === 'array' ? 'an array' : issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}, not ${typeName(input)}`;
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `"${k}"`).join(', ')} (fields are case-sensitive)`;
    case 'invalid_union': {
      if (typeof input === 'number' && !Number.isFinite(input) && !Number.isNaN(input))
        return 'too large: not a finite number';
      const branch = likelyBranch(issue.errors);
      const say = (i: z.core.$ZodIssue) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`;
      if (branch) return branch.map(say).join('; ');
      // No branch stands out: say what every branch found wrong, else that none fits.
      const [first = [], ...rest] = issue.errors.map((b) => b.map(say));
      const shared = first.filter((m) => rest.every((b) => b.includes(m)));
      return shared.length > 0 ? shared.join('; ') : 'matches none of the accepted forms (see the API reference)';
    }
    default:
      return undefined;
  }
}

z.config({ customError: validationMessage });
