// Finds the `${...}` definition substitutions an ASL file expects. The workflows construct uses it
// to refuse, at synth time, a Task wired to an unknown function (CloudFormation would otherwise
// deploy the literal `${...}` and the execution would fail at that state).
import { readFileSync } from 'node:fs';

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface AslStates {
  States?: Record<string, { Type?: string } & Record<string, Json>>;
}

export interface TaskPlaceholder {
  /** State names from the top level down to the Task, e.g. `['ProcessShards', 'ProcessShardChunk']`. */
  path: string[];
  /** The substitution key without `${}`: `ProcessShardChunkFunctionArn`. */
  key: string;
}

export function readAsl(file: string): AslStates {
  return JSON.parse(readFileSync(file, 'utf8')) as AslStates;
}

/** Every placeholder in every Task state, including Tasks nested in Map and Parallel states. */
export function taskPlaceholders(asl: AslStates, parents: string[] = []): TaskPlaceholder[] {
  const found: TaskPlaceholder[] = [];
  for (const [name, state] of Object.entries(asl.States ?? {})) {
    const path = [...parents, name];
    if (state.Type === 'Task') {
      for (const key of placeholdersIn(state)) found.push({ path, key });
    } else if (state.Type === 'Map') {
      // `ItemProcessor` is current ASL; `Iterator` is its older name, still accepted by AWS.
      const processor = (state.ItemProcessor ?? state.Iterator) as AslStates | undefined;
      if (processor) found.push(...taskPlaceholders(processor, path));
    } else if (state.Type === 'Parallel') {
      for (const branch of (state.Branches ?? []) as AslStates[]) found.push(...taskPlaceholders(branch, path));
    }
  }
  return found;
}

/** Placeholders outside Task states: nothing substitutes a function ARN there on purpose, so each is a mistake. */
export function placeholdersOutsideTasks(asl: AslStates): string[] {
  const { States: states, ...rest } = asl as AslStates & Record<string, Json>;
  const found = new Set(placeholdersIn(rest as Json));
  for (const state of Object.values(states ?? {})) {
    if (state.Type === 'Task') continue;
    const { ItemProcessor, Iterator, Branches, ...own } = state;
    for (const k of placeholdersIn(own as Json)) found.add(k);
    const nested = [ItemProcessor, Iterator, ...((Branches ?? []) as Json[])].filter((n) => n && typeof n === 'object');
    for (const n of nested as AslStates[]) for (const k of placeholdersOutsideTasks(n)) found.add(k);
  }
  return [...found];
}

function placeholdersIn(value: Json): Set<string> {
  const keys = new Set<string>();
  const visit = (v: Json): void => {
    if (typeof v === 'string') for (const m of v.matchAll(PLACEHOLDER)) keys.add(m[1]!);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return keys;
}
