// `npm run bench [-- name ...] [--smoke]`: runs the named benchmarks (all by default), prints one
// figure per line and writes every result to .local/bench/results.json (results-smoke.json
// with --smoke, so a smoke run never overwrites real figures). A benchmark that fails a check it
// makes (BenchmarkFailed) is written with its figures and the reason, and the run exits 1.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchmarkFailed, formatResult, toResult, type BenchmarkResult } from './benchmark';
import { benchmarks } from './benchmarks';

// Benchmarks load lazily, after this: their handlers log warnings and errors only.
process.env.LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function main(argv: string[]): Promise<number> {
  const smoke = argv.includes('--smoke');
  const unknownFlags = argv.filter((a) => a.startsWith('-') && a !== '--smoke');
  const names = argv.filter((a) => !a.startsWith('-'));
  const unknownNames = names.filter((n) => !(n in benchmarks));
  if (unknownFlags.length > 0 || unknownNames.length > 0) {
    console.error(`usage: npm run bench -- [--smoke] [${Object.keys(benchmarks).join(' | ')}]...`);
    if (unknownNames.length > 0) console.error(`unknown benchmark: ${unknownNames.join(', ')}`);
    if (unknownFlags.length > 0) console.error(`unknown option: ${unknownFlags.join(', ')}`);
    return 2;
  }

  // Taken before running: figures from a machine already busy with other work read lower.
  const loadAverage = loadavg();
  const results: BenchmarkResult[] = [];
  for (const name of names.length > 0 ? names : Object.keys(benchmarks)) {
    const { default: benchmark } = await benchmarks[name]!();
    try {
      const result = toResult(name, await benchmark.run({ smoke }));
      console.log(formatResult(result));
      for (const line of result.lines ?? []) console.log(`  ${line}`);
      results.push(result);
    } catch (error) {
      if (!(error instanceof BenchmarkFailed)) throw error;
      const result = { ...toResult(name, error.measurement), failed: error.message };
      console.log(formatResult(result));
      console.error(`${name} FAILED: ${error.message}`);
      results.push(result);
    }
  }

  const file = join(root, '.local', 'bench', smoke ? 'results-smoke.json' : 'results.json');
  await mkdir(dirname(file), { recursive: true });
  const report = {
    at: new Date().toISOString(),
    smoke,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadAverage,
    results,
  };
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`results: ${file.slice(root.length + 1)}`);
  return results.some((r) => r.failed) ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
