/**
 * `npm run bench`: runs every suite in this process and prints the tables; a full run also
 * rewrites docs/benchmarks.md.
 *
 *   BENCH_QUICK=1 (or --quick)   tiny iteration counts: a smoke test for CI, numbers meaningless
 *   BENCH_FILTER=re (--filter)   only cases whose `suite/group/case` matches (e.g. `red/sync`)
 *   BENCH_OUT=path (--out)       where to write the markdown; `-` writes nothing.
 *                                Default: docs/benchmarks.md for full unfiltered runs, nothing otherwise.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { breakerSuite } from './cases/breaker.js';
import { redSuite } from './cases/red.js';
import { tracingSdkSuite, tracingSuite } from './cases/tracing.js';
import { ROOT, environment } from './env.js';
import { checksum, runSuite, type RunConfig, type Suite, type SuiteResult } from './harness.js';
import { renderConsole, renderMarkdown } from './report.js';

/** Every suite, in report order. Later suites (spans, breaker vs opossum, scrape) go here. */
const SUITES: readonly (() => Suite)[] = [redSuite, breakerSuite, tracingSuite, tracingSdkSuite];

function config(): { cfg: RunConfig; out: string | undefined } {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, filter: { type: 'string' }, out: { type: 'string' } },
    allowPositionals: false,
  });
  const env = process.env;
  const quick = values.quick === true || (env.BENCH_QUICK !== undefined && env.BENCH_QUICK !== '' && env.BENCH_QUICK !== '0');
  const filterSrc = values.filter ?? env.BENCH_FILTER;
  const filter = filterSrc === undefined || filterSrc === '' ? undefined : new RegExp(filterSrc);
  const cfg: RunConfig = quick
    ? { quick, passes: 1, timeMs: 5, warmupMs: 2, minSamples: 4, batchSync: 32, batchAsync: 16, primeCalls: 64, filter }
    : { quick, passes: 3, timeMs: 600, warmupMs: 100, minSamples: 64, batchSync: 1000, batchAsync: 250, primeCalls: 20_000, filter };
  const outArg = values.out ?? env.BENCH_OUT;
  const out =
    outArg === '-' ? undefined
    : outArg !== undefined && outArg !== '' ? path.resolve(outArg)
    : quick || filter !== undefined ? undefined
    : path.join(ROOT, 'docs', 'benchmarks.md');
  return { cfg, out };
}

async function main(): Promise<void> {
  const { cfg, out } = config();
  const env = environment();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  log(`bench: ${cfg.quick ? 'QUICK mode (smoke test, numbers are meaningless)' : 'full run'}; ${env.cpu} x${env.cores}, Node ${env.node}`);

  const started = performance.now();
  const results: SuiteResult[] = [];
  for (const make of SUITES) {
    const suite = make();
    try {
      results.push(await runSuite(suite, cfg, log));
    } finally {
      await suite.dispose?.();
    }
  }
  const seconds = (performance.now() - started) / 1000;

  process.stdout.write(`${renderConsole(results)}\n\n(${seconds.toFixed(1)} s; sink checksum ${checksum()})\n`);
  if (out !== undefined) {
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, renderMarkdown(results, env, cfg, seconds));
    log(`bench: wrote ${path.relative(process.cwd(), out)}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
