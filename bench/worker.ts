/**
 * Runs one suite in this process and writes its result as JSON to `BENCH_RESULT`.
 * Started by bench/index.ts as `node --expose-gc --import tsx bench/worker.ts <suite>`,
 * with the run configuration in `BENCH_CONFIG` (JSON).
 */
import { writeFileSync } from 'node:fs';
import { runExposition, type ExpositionResult } from './cases/exposition.js';
import { runHttpScrape, type HttpScrapeResult } from './cases/http-scrape.js';
import { environment, type Environment } from './env.js';
import { checksum, runSuite, type RunConfig, type SuiteResult } from './harness.js';
import { runSoak, type SoakResult } from './soak.js';
import { CALL_SUITES } from './suites.js';

export interface WorkerResult {
  readonly env: Environment;
  readonly suites: readonly SuiteResult[];
  readonly exposition?: ExpositionResult;
  readonly httpScrape?: HttpScrapeResult;
  readonly soak?: SoakResult;
}

/** The run configuration as it crosses the process boundary (a RegExp does not survive JSON). */
export type WireConfig = Omit<RunConfig, 'filter'> & { readonly filter: string | undefined };

let alsInUse = false;

/**
 * Runs the suites named in argv[2] (comma-separated) one after the other in this process.
 * Full runs give each suite a process of its own; quick runs (a smoke test) use one for all,
 * in the order of bench/suites.ts, which puts the suites that use AsyncLocalStorage last.
 */
async function main(): Promise<void> {
  const ids = (process.argv[2] ?? '').split(',').filter((s) => s !== '');
  const out = process.env.BENCH_RESULT;
  const wire = JSON.parse(process.env.BENCH_CONFIG ?? 'null') as WireConfig | null;
  if (ids.length === 0 || out === undefined || wire === null) throw new Error('usage: BENCH_CONFIG=… BENCH_RESULT=… bench/worker.ts <suite>[,<suite>…]');
  const cfg: RunConfig = { ...wire, filter: wire.filter === undefined ? undefined : new RegExp(wire.filter) };
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const suites: SuiteResult[] = [];
  let exposition: ExpositionResult | undefined;
  let httpScrape: HttpScrapeResult | undefined;
  let soak: SoakResult | undefined;
  for (const id of ids) {
    if (id === 'exposition') {
      exposition = await runExposition(cfg, log);
    } else if (id === 'scrape-http') {
      httpScrape = await runHttpScrape(cfg, log);
    } else if (id === 'soak') {
      soak = await runSoak(cfg, log);
    } else {
      const make = CALL_SUITES[id];
      if (make === undefined) throw new Error(`unknown suite ${id}`);
      const suite = await make(cfg);
      try {
        if (suite.als === true) alsInUse = true;
        else if (alsInUse) throw new Error(`suite ${id} must run before every suite that uses AsyncLocalStorage`);
        suites.push(await runSuite(suite, cfg, log));
        // The sink, so nothing the cases returned could have been eliminated.
        log(`  ${id}: sink checksum ${checksum()}`);
      } finally {
        await suite.dispose?.();
      }
    }
  }
  const result: WorkerResult = {
    env: environment(),
    suites,
    ...(exposition === undefined ? {} : { exposition }),
    ...(httpScrape === undefined ? {} : { httpScrape }),
    ...(soak === undefined ? {} : { soak }),
  };
  writeFileSync(out, JSON.stringify(result));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench worker failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
