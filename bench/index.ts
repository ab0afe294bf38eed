/**
 * `npm run bench`: runs every suite, each in a fresh `node --expose-gc` process
 * (bench/worker.ts), prints the tables and the goals, and a full run rewrites
 * docs/benchmarks.md.
 *
 *   BENCH_QUICK=1 (or --quick)     tiny iteration counts and sizes: a smoke test for CI, numbers meaningless
 *   BENCH_FILTER=re (--filter)     only cases whose `suite/group/case` matches (e.g. `red/sync`, `^breaker`,
 *                                  `exposition/10000`); the scrape suite is `exposition/<series>/<impl>`, the HTTP
 *                                  scrape suite `scrape-http/<series>/<text|openmetrics>/<scrapers>/<ours|ours-plain|prom>`
 *                                  and `scrape-http/stall/<series>/<ours|prom>`, the soak `soak`
 *   BENCH_SUITES=a,b (--suites)    only these suites: red, breaker, sla, correlation, autometrics, composite, exposition,
 *                                  scrape-http, soak (e.g. `BENCH_SUITES=scrape-http BENCH_OUT=- npm run bench`)
 *   BENCH_HTTP_CPUPROF=dir         `--cpu-prof` every scrape-http server child, each into a directory of its own under dir
 *   BENCH_NODES=path,… (--node)    also run everything with these Node binaries (one section per version)
 *   BENCH_PROFILE=0 (--no-profile) skip the CPU profiles of missed goals (full runs profile them)
 *   BENCH_OUT=path (--out)         where to write the markdown; `-` writes nothing. Default: docs/benchmarks.md for
 *                                  full runs of every suite, nothing otherwise
 *   BENCH_JSON=path (--json)       also write the raw results as JSON
 *   --render path                  no run: render the JSON a previous run wrote (to the console and, with --out, markdown)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './env.js';
import { GOALS, type NodeRun } from './goals.js';
import type { RunConfig } from './harness.js';
import { profileCase } from './profile.js';
import { renderConsole, renderMarkdown } from './report.js';
import { SUITE_IDS } from './suites.js';
import type { WireConfig, WorkerResult } from './worker.js';

interface Options {
  readonly cfg: RunConfig;
  readonly render: string | undefined;
  readonly suites: readonly string[];
  readonly nodes: readonly string[];
  readonly profile: boolean;
  readonly out: string | undefined;
  readonly json: string | undefined;
}

const flag = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0';
const list = (v: string | undefined): string[] => (v === undefined ? [] : v.split(',').map((s) => s.trim()).filter((s) => s !== ''));

function options(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      filter: { type: 'string' },
      suites: { type: 'string' },
      node: { type: 'string', multiple: true },
      'no-profile': { type: 'boolean' },
      out: { type: 'string' },
      json: { type: 'string' },
      render: { type: 'string' },
    },
    allowPositionals: false,
  });
  const env = process.env;
  const quick = values.quick === true || flag(env.BENCH_QUICK);
  const filterSrc = values.filter ?? env.BENCH_FILTER;
  const filter = filterSrc === undefined || filterSrc === '' ? undefined : new RegExp(filterSrc);
  const cfg: RunConfig = quick
    ? { quick, passes: 1, timeMs: 5, warmupMs: 2, minSamples: 4, batchSync: 32, batchAsync: 16, primeCalls: 64, filter }
    : { quick, passes: 8, timeMs: 120, warmupMs: 20, minSamples: 24, batchSync: 1000, batchAsync: 250, primeCalls: 20_000, filter };
  const suites = list(values.suites ?? env.BENCH_SUITES);
  for (const s of suites) if (!SUITE_IDS.includes(s)) throw new Error(`unknown suite ${s} (one of ${SUITE_IDS.join(', ')})`);
  const everything = suites.length === 0 && filter === undefined;
  const outArg = values.out ?? env.BENCH_OUT;
  const out =
    outArg === '-' ? undefined
    : outArg !== undefined && outArg !== '' ? path.resolve(outArg)
    : quick || !everything ? undefined
    : path.join(ROOT, 'docs', 'benchmarks.md');
  const jsonArg = values.json ?? env.BENCH_JSON;
  return {
    cfg,
    render: values.render,
    suites: suites.length === 0 ? SUITE_IDS : SUITE_IDS.filter((s) => suites.includes(s)),
    nodes: [process.execPath, ...(values.node ?? []), ...list(env.BENCH_NODES)],
    profile: !quick && values['no-profile'] !== true && (env.BENCH_PROFILE === undefined || flag(env.BENCH_PROFILE)),
    out,
    json: jsonArg === undefined || jsonArg === '' ? undefined : path.resolve(jsonArg),
  };
}

/** Runs suites (comma-separated ids) in a fresh process of `node` and returns what it wrote. */
function runWorker(node: string, suites: string, cfg: RunConfig, dir: string): Promise<WorkerResult> {
  const file = path.join(dir, 'result.json');
  const wire: WireConfig = { ...cfg, filter: cfg.filter?.source };
  return new Promise((resolve, reject) => {
    const p = spawn(node, ['--expose-gc', '--import', 'tsx', path.join(ROOT, 'bench', 'worker.ts'), suites], {
      cwd: ROOT,
      env: { ...process.env, BENCH_CONFIG: JSON.stringify(wire), BENCH_RESULT: file },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`suites ${suites} on ${node} exited with ${code}`));
      try {
        resolve(JSON.parse(readFileSync(file, 'utf8')) as WorkerResult);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

/** Would the filter keep anything of this suite? Only the soak is decided here; the others by their cases. */
function wanted(suite: string, filter: RegExp | undefined): boolean {
  return filter === undefined || suite !== 'soak' || filter.test('soak');
}

async function runNode(node: string, o: Options, log: (line: string) => void): Promise<NodeRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentobs-bench-'));
  const started = performance.now();
  try {
    const ids = o.suites.filter((id) => wanted(id, o.cfg.filter));
    // Full runs: a fresh process per suite. Quick runs (a smoke test): one process for all of them.
    const batches = o.cfg.quick ? [ids.join(',')] : ids;
    const results: WorkerResult[] = [];
    for (const b of batches) {
      log(`bench: ${b}${o.nodes.length > 1 ? ` (${node})` : ''}`);
      results.push(await runWorker(node, b, o.cfg, dir));
    }
    const env = results[0]?.env;
    if (env === undefined) throw new Error('no suite ran');
    return {
      env,
      suites: results.flatMap((r) => r.suites),
      exposition: results.find((r) => r.exposition !== undefined)?.exposition,
      httpScrape: results.find((r) => r.httpScrape !== undefined)?.httpScrape,
      soak: results.find((r) => r.soak !== undefined)?.soak,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = options();
  const t0 = performance.now();
  const log = (line: string): void => void process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  log(`bench: ${o.cfg.quick ? 'QUICK mode (smoke test, numbers are meaningless)' : 'full run'}; suites ${o.suites.join(', ')}; ` +
    `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'} x${os.cpus().length}; Node ${o.nodes.length > 1 ? `binaries: ${o.nodes.join(', ')}` : process.version}`);

  const started = performance.now();
  const runs: NodeRun[] = o.render === undefined ? [] : (JSON.parse(readFileSync(o.render, 'utf8')) as NodeRun[]);
  for (const node of o.render === undefined ? o.nodes : []) {
    const run = await runNode(node, o, log);
    if (o.profile) {
      for (const g of GOALS) {
        if (g.profile === undefined || g.evaluate(run).met !== false) continue;
        for (const key of g.profile) {
          log(`bench: ${run.env.node}: goal ${g.id} missed; profiling ${key}`);
          ((run.profiles ??= {})[g.id] ??= []).push(profileCase(node, key, 4, o.cfg.quick));
        }
      }
    }
    runs.push(run);
  }
  const seconds = (performance.now() - started) / 1000;

  process.stdout.write(`${renderConsole(runs)}\n\n(${seconds.toFixed(1)} s)\n`);
  if (o.json !== undefined) writeFileSync(o.json, JSON.stringify(runs, null, 1));
  if (o.out !== undefined) {
    mkdirSync(path.dirname(o.out), { recursive: true });
    writeFileSync(o.out, renderMarkdown(runs, o.cfg));
    log(`bench: wrote ${path.relative(process.cwd(), o.out)}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
