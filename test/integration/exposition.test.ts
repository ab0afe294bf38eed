/**
 * /metrics against real consumers: a real Prometheus (Debian binary) scrapes four endpoints
 * (OpenMetrics or text, gzip or plain) with `up == 1` and the same values; `promtool check
 * metrics` lints the text body and the Python client's OpenMetrics parser (strict: it
 * rejects what the spec rejects) reads the OpenMetrics body, exemplars included. Then a
 * server in its own process shows that a client which stalls or vanishes mid-body holds
 * bounded memory, and that it is released.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { Counter, Histogram, Registry, Summary } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObservability, type Observability } from 'agent-observability';
import { installTestTracing, type TestTracing } from '../helpers/otel.js';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';

const PYTHON = '/usr/bin/python3';
const PROMTOOL = '/usr/bin/promtool';
const OM_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const VARIANTS = [
  { job: 'om_gzip', openMetrics: true, compression: true },
  { job: 'om_plain', openMetrics: true, compression: false },
  { job: 'text_gzip', openMetrics: false, compression: true },
  { job: 'text_plain', openMetrics: false, compression: false },
] as const;

/** Content-Type and Content-Encoding of every response each endpoint sent. */
type Seen = { contentType: string; encoding: string }[];

describe('real consumers read every variant', () => {
  let tracing: TestTracing;
  let obs: Observability;
  let prom: PrometheusServer;
  const servers: Server[] = [];
  const seen = new Map<string, Seen>();

  beforeAll(async () => {
    tracing = installTestTracing();
    const registry = new Registry();
    // Foreign metrics of every type, with label values that need escaping.
    new Counter({ name: 'user_jobs_total', help: 'Jobs "done" \\ with\nnewline.', labelNames: ['kind'], registers: [registry] }).inc({ kind: 'a\nb"c\\' }, 3);
    new Histogram({ name: 'user_latency_seconds', help: 'Latency.', registers: [registry] }).observe(0.2);
    new Summary({ name: 'user_size_bytes', help: 'Sizes.', registers: [registry] }).observe(10);
    obs = createObservability({ registry, logger: false });
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('request', async (span) => {
      for (let i = 0; i < 20; i++) {
        await obs.instrumentTool(async () => i, { tool: i % 2 === 0 ? 'web"search\n' : 'calc', agent: 'support' })();
      }
      await obs.instrumentLlmCall(async () => ({ usage: { input: 12, output: 7 } }), {
        model: 'gpt-4o', provider: 'openai', usage: (r) => r.usage,
      })();
      span.end();
    });
    const targets = [];
    for (const v of VARIANTS) {
      const handler = obs.metricsHandler({ openMetrics: v.openMetrics, compression: v.compression });
      const log: Seen = [];
      seen.set(v.job, log);
      const server = createServer((req, res) => {
        // Headers given to writeHead are not readable back through getHeader(): record them there.
        const writeHead = res.writeHead.bind(res) as (status: number, headers: Record<string, string>) => typeof res;
        res.writeHead = ((status: number, headers: Record<string, string>) => {
          log.push({ contentType: headers['Content-Type'] ?? '', encoding: headers['Content-Encoding'] ?? '' });
          return writeHead(status, headers);
        }) as never;
        handler(req, res);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      targets.push({ job: v.job, address: `127.0.0.1:${(server.address() as AddressInfo).port}` });
    }
    prom = await startPrometheus(targets);
    for (const v of VARIANTS) await prom.waitUp(v.job);
  }, 90_000);

  afterAll(async () => {
    await prom?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await obs?.shutdown();
    await tracing?.uninstall();
  });

  it('Prometheus scrapes each variant (gzip and plain, OpenMetrics and text) with up == 1 and reads the same values', async () => {
    const expected = { om_gzip: ['openmetrics', 'gzip'], om_plain: ['openmetrics', ''], text_gzip: ['text/plain', 'gzip'], text_plain: ['text/plain', ''] };
    for (const v of VARIANTS) {
      const log = seen.get(v.job) as Seen;
      expect(log.length).toBeGreaterThan(0);
      const [type, encoding] = expected[v.job];
      for (const r of log) {
        expect(r.contentType).toContain(type);
        expect(r.encoding).toBe(encoding);
      }
    }
    const up = await prom.api<{ result: { metric: { job: string }; value: [number, string] }[] }>('query', { query: 'up' });
    expect(Object.fromEntries(up.result.map((r) => [r.metric.job, r.value[1]]))).toEqual(Object.fromEntries(VARIANTS.map((v) => [v.job, '1'])));
    const counts = await prom.api<{ result: { metric: { job: string }; value: [number, string] }[] }>('query', {
      query: 'gen_ai_execute_tool_duration_seconds_count{gen_ai_tool_name=~"web.*"}',
    });
    expect(counts.result.map((r) => [r.metric.job, r.value[1]]).sort()).toEqual(VARIANTS.map((v) => [v.job, '10']).sort());
    const jobs = await prom.api<{ result: { metric: { job: string }; value: [number, string] }[] }>('query', { query: 'user_jobs_total{kind="a\\nb\\"c\\\\"}' });
    expect(jobs.result.map((r) => r.value[1])).toEqual(['3', '3', '3', '3']);
  });

  it('promtool check metrics accepts the text exposition', async () => {
    const body = (await obs.metrics('text/plain')).body;
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('the Python client’s strict OpenMetrics parser accepts the OpenMetrics exposition, exemplars included', async () => {
    const body = (await obs.metrics(OM_ACCEPT)).body;
    expect(body).toMatch(/ # \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\} /);
    const script = [
      'import sys, json',
      'from prometheus_client.openmetrics.parser import text_string_to_metric_families',
      'fams = list(text_string_to_metric_families(sys.stdin.read()))',
      'ex = sum(1 for f in fams for s in f.samples if s.exemplar is not None)',
      'print(json.dumps({"families": len(fams), "samples": sum(len(f.samples) for f in fams), "exemplars": ex}))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script], { input: body, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const parsed = JSON.parse(r.stdout) as { families: number; samples: number; exemplars: number };
    expect(parsed.families).toBeGreaterThan(20);
    expect(parsed.exemplars).toBeGreaterThan(0);
  });
});

describe('a client that stalls or disconnects mid-body', () => {
  const MB = 1024 * 1024;
  let child: ChildProcess;
  let url: string;
  let idle: number;

  const ask = async (): Promise<number> => {
    const reply = once(child, 'message') as Promise<[{ heap: number }]>;
    child.send('heap');
    return (await reply)[0].heap;
  };

  beforeAll(async () => {
    child = fork(fileURLToPath(new URL('../helpers/exposition-child.ts', import.meta.url)), [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      env: { ...process.env, SERIES: '100000' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [first] = (await once(child, 'message')) as [{ url: string; idle: number }];
    url = first.url;
    idle = first.idle;
  }, 120_000);

  afterAll(async () => {
    if (child?.exitCode === null) {
      child.send('stop');
      await once(child, 'exit');
    }
  });

  it('holds at most 16 MB beyond the idle heap while it stalls (a 200 MB body), and releases it when it disconnects', async () => {
    let received = 0;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = request(url, { agent: false }, (res) => {
        res.on('data', (c: Buffer) => {
          received += c.length;
          // 1 MB in, then stop reading: the server's writes back up.
          if (received > MB) {
            res.pause();
            res.socket.pause();
          }
        });
        res.on('error', () => {});
        resolve(res.socket);
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 1500));
    const stalled = await ask();
    expect(received).toBeLessThan(16 * MB);
    expect(stalled - idle).toBeLessThan(16 * MB);
    socket.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const after = await ask();
    // Released: back to the idle heap, give or take the GC's slack.
    expect(after - idle).toBeLessThan(4 * MB);
    // And the server still serves a whole scrape.
    let bytes = 0;
    const reader = (await fetch(url)).body?.getReader();
    for (let r = await reader?.read(); r !== undefined && !r.done; r = await reader?.read()) bytes += r.value.length;
    expect(bytes).toBeGreaterThan(200_000_000);
  }, 120_000);
});
