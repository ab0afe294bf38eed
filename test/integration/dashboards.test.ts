/**
 * Every query of every shipped dashboard returns data from a real Prometheus (Debian
 * 2.42): the example agent service (evaluating the shipped SLOs in-process, under
 * load with injected failures) and the resilience probe (breaker, pool, retries, token
 * budget, provider rate limits, self-metrics) are scraped, the shipped recording rules
 * are loaded, a burst of tasks runs, then each panel target, with the dashboard variables
 * substituted as "All", goes through `/api/v1/query` and must return at least one series.
 * Each variable's `label_values()` query must list at least one value.
 *
 * The dashboard JSON itself is checked against Grafana's schema in
 * test/unit/shipped-artifacts.test.ts (hand-written check of the required fields) and
 * test/types/grafana.test-d.ts (the generator's types against @grafana/schema).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUESTIONS } from '../../examples/agent-service/load.js';
import { startAgentService, type AgentService } from '../../examples/agent-service/service.js';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';
import { parseLabelValues, readDashboards, ROOT, substituteGrafanaVars } from '../helpers/promql.js';
import { startResilienceProbe, type ResilienceProbe } from '../helpers/resilience-probe.js';

/**
 * Panels allowed to come back empty, each with the reason. Keep it short: an exempt panel
 * that starts returning data fails the test, so the list cannot go stale.
 */
const EXEMPT: Readonly<Record<string, string>> = {};

interface Case {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

const dashboards = readDashboards();
const cases: Case[] = dashboards.flatMap(({ file, json }) => {
  // "All" for every variable, as a fresh dashboard opens.
  const vars = Object.fromEntries(json.templating.list.filter((v) => v.allValue !== undefined).map((v) => [v.name, v.allValue as string]));
  return json.panels.flatMap((p) =>
    (p.targets ?? []).map((t, i) => ({
      dashboard: file,
      panel: p.title,
      refId: String.fromCharCode(65 + i),
      expr: substituteGrafanaVars(t.expr, { rateInterval: '30s', vars }),
    })),
  );
});
const variableQueries = dashboards.flatMap(({ file, json }) =>
  json.templating.list.flatMap((v) => {
    const lv = typeof v.query === 'string' ? parseLabelValues(v.query) : undefined;
    return lv === undefined ? [] : [{ dashboard: file, name: v.name, label: lv.label, selector: substituteGrafanaVars(lv.selector, { vars: { job: '.+', instance: '.+' } }) }];
  }),
);

describe('every shipped dashboard query returns data from a real Prometheus', () => {
  let svc: AgentService;
  let probe: ResilienceProbe;
  let prom: PrometheusServer;

  beforeAll(async () => {
    svc = await startAgentService({
      port: 0,
      seed: 'dashboards',
      llmRetryBackoffMs: 1,
      // The service evaluates its SLOs (examples/agent-service/slos.ts, the ones obs.config.ts ships rules for) in-process.
      observability: { logger: false },
      faults: { llmLatencyMs: 8, llmLatencyJitterMs: 4, toolLatencyMs: 4, toolLatencyJitterMs: 3, llmErrorRate: 0.2, toolErrorRate: 0.3, toolTimeoutMs: 50 },
      load: { rps: 15 },
    });
    probe = await startResilienceProbe();
    const rules = (f: string): string => readFileSync(path.join(ROOT, 'alerts', f), 'utf8');
    prom = await startPrometheus(
      [
        { job: 'agent', address: new URL(svc.url).host },
        { job: 'probe', address: probe.address },
      ],
      { ruleFiles: { 'recording.rules.yaml': rules('recording.rules.yaml'), 'alerts.rules.yaml': rules('alerts.rules.yaml') } },
    );
    await Promise.all([prom.waitUp('agent'), prom.waitUp('probe')]);

    // Incidents that leave a trace in counters: breaker transitions, pool rejections, 429s.
    probe.openBreaker();
    probe.saturatePool();
    probe.saturatePool();
    probe.startThrottling();
    // The burst: tasks over HTTP, some with a correlation ID too long to keep.
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        fetch(`${svc.url}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(i % 4 === 0 ? { 'x-correlation-id': 'x'.repeat(200) } : {}) },
          body: JSON.stringify({ id: `burst-${i}`, question: QUESTIONS[i % QUESTIONS.length] }),
        }).then((r) => r.arrayBuffer()),
      ),
    );
    await new Promise((r) => setTimeout(r, 2500));
    probe.closeBreaker();
    probe.stopThrottling();
    await probe.releasePool();
    // A few more scrapes and rule evaluations after the burst.
    await new Promise((r) => setTimeout(r, 3000));
  }, 90_000);

  afterAll(async () => {
    await prom?.stop();
    await probe?.stop();
    await svc?.stop();
  });

  it('has queries to run (sanity)', () => {
    expect(cases.length).toBeGreaterThan(80);
    // job, instance and agent on every dashboard, plus slo on the SLO dashboard (the datasource variable has no query).
    expect(variableQueries.length).toBe(dashboards.length * 3 + 1);
  });

  it.each(cases)('$dashboard [$panel] $refId', async (c) => {
    const data = await prom.api<{ resultType: string; result: unknown[] }>('query', { query: c.expr });
    const why = EXEMPT[c.panel];
    if (why === undefined) {
      expect(data.result.length, `no data for ${c.dashboard} [${c.panel}]: ${c.expr}`).toBeGreaterThan(0);
    } else {
      expect(data.result.length, `exempt panel "${c.panel}" returns data now: drop its exemption`).toBe(0);
    }
  });

  it.each(variableQueries)('$dashboard variable $$$name lists values', async (v) => {
    const values = await prom.api<string[]>(`label/${v.label}/values`, { 'match[]': v.selector });
    expect(values.length, `label_values(${v.selector}, ${v.label})`).toBeGreaterThan(0);
  });
});
