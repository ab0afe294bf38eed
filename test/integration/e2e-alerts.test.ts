/**
 * Alerts end to end on the real stack: Prometheus 2.42 and Alertmanager 0.25 (Debian
 * binaries, free loopback ports, killed by PID) load the rule files that the generator
 * writes for the shipped config (obs.config.ts) with test-speed overrides
 * (test/helpers/fast-config.ts: 10 s rate windows, 2 s `for:`, 10 s/20 s burn-rate windows,
 * lower SLAs) — the same generator, a config override, no hand edits. Prometheus scrapes the example agent service (in
 * process, under steady load) and the resilience probe; the test drives incidents through
 * `POST /admin/faults` (and the probe's switches), then asserts that each expected alert
 * reaches the webhook receiver with its labels, and that every alert that fired resolves
 * after recovery. Time-to-fire per alert is printed.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultsPatch } from '../../examples/agent-service/faults.js';
import { startAgentService, type AgentService, type AgentServiceOptions } from '../../examples/agent-service/service.js';
import { generateArtifacts } from '../../src/generate/index.js';
import { FAST_CONFIG } from '../helpers/fast-config.js';
import { startPrometheusStack, type PrometheusStack, type ReceivedAlert } from '../helpers/prometheus-stack.js';
import { startResilienceProbe, type ResilienceProbe } from '../helpers/resilience-probe.js';

const HEALTHY: FaultsPatch = {
  llmErrorRate: 0, llmLatencyMs: 5, llmLatencyJitterMs: 2, toolErrorRate: 0, toolErrorRates: { web_search: null },
  toolLatencyMs: 3, toolLatencyJitterMs: 2, toolTimeoutMs: 2000,
};

interface Expectation {
  readonly alert: string;
  /** Labels the alert must carry (a subset of its labels). */
  readonly labels: Readonly<Record<string, string>>;
}
const SLOW_MODEL = 'sim-large-2025-06';
const EXPECTED = {
  slow: [
    { alert: 'AgentLatencyOverSla', labels: { job: 'agent', gen_ai_agent_name: 'support-agent', severity: 'warning' } },
    { alert: 'AgentToolLatencyOverSla', labels: { job: 'agent', gen_ai_tool_name: 'web_search', gen_ai_agent_name: 'support-agent', severity: 'warning' } },
    { alert: 'AgentLlmLatencyOverSla', labels: { job: 'agent', gen_ai_request_model: SLOW_MODEL, gen_ai_provider_name: 'simulated', severity: 'warning' } },
    { alert: 'SloLatencyHigh', labels: { sloth_slo: 'support-agent-latency', sloth_service: 'support-agent', severity: 'warning' } },
    { alert: 'SloLatencyHigh', labels: { sloth_slo: 'web-search-latency', severity: 'warning' } },
    { alert: 'SloErrorBudgetBurn', labels: { sloth_slo: 'support-agent-latency', severity: 'critical', long_window: '20s', short_window: '10s' } },
    { alert: 'SloErrorBudgetBurn', labels: { sloth_slo: 'web-search-latency', severity: 'critical' } },
  ],
  probe: [
    { alert: 'AgentCircuitBreakerOpen', labels: { job: 'probe', breaker: 'search-api', severity: 'warning' } },
    { alert: 'AgentPoolSaturated', labels: { job: 'probe', pool: 'llm-slots', severity: 'warning' } },
    { alert: 'AgentLlmRateLimitNearExhaustion', labels: { job: 'probe', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-probe', kind: 'requests', severity: 'info' } },
    { alert: 'AgentLlmThrottled', labels: { job: 'probe', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-probe', severity: 'warning' } },
  ],
  failing: [
    { alert: 'AgentToolErrorRatioHigh', labels: { job: 'agent', gen_ai_tool_name: 'web_search', severity: 'warning' } },
    { alert: 'AgentLlmErrorRatioHigh', labels: { job: 'agent', gen_ai_request_model: SLOW_MODEL, severity: 'warning' } },
    { alert: 'SloErrorBudgetBurn', labels: { sloth_slo: 'support-agent-availability', severity: 'critical' } },
  ],
  blocked: [{ alert: 'AgentEventLoopBlocked', labels: { job: 'agent', severity: 'warning' } }],
  self: [
    { alert: 'AgentObservabilityInternalErrors', labels: { job: 'probe', component: 'error_type', severity: 'info' } },
    { alert: 'AgentObservabilityLabelOverflow', labels: { job: 'probe', label: 'error_type', severity: 'info' } },
  ],
  down: [
    { alert: 'AgentObservabilityTargetDown', labels: { job: 'agent', severity: 'warning' } },
    { alert: 'AgentObservabilityTargetDown', labels: { job: 'probe', severity: 'warning' } },
    { alert: 'AgentObservabilityMetricsAbsent', labels: { severity: 'warning' } },
  ],
} satisfies Record<string, readonly Expectation[]>;

const matches = (a: ReceivedAlert, e: Expectation, status: 'firing' | 'resolved'): boolean =>
  a.status === status && a.labels.alertname === e.alert && Object.entries(e.labels).every(([k, v]) => a.labels[k] === v);
const key = (labels: Readonly<Record<string, string>>): string => JSON.stringify(Object.entries(labels).sort());
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const FIRE_TIMEOUT_MS = 25_000;

describe('alerts fire and resolve end to end (example service → Prometheus → Alertmanager → webhook)', () => {
  let stack: PrometheusStack;
  let svc: AgentService;
  let probe: ResilienceProbe;
  const timeToFire: { alert: string; labels: string; ms: number }[] = [];
  const t0 = Date.now();

  async function setFaults(patch: FaultsPatch): Promise<void> {
    const r = await fetch(`${svc.url}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
    expect(r.status, await r.text()).toBe(200);
  }

  /** Waits for each expectation's firing notification and records the time since `since`. */
  async function expectFiring(list: readonly Expectation[], since: number): Promise<void> {
    const got = await Promise.all(list.map((e) => stack.webhook.waitFor((a) => matches(a, e, 'firing') && a.receivedAt >= since, FIRE_TIMEOUT_MS, `${e.alert} ${key(e.labels)} firing`)));
    got.forEach((a, i) => {
      const e = list[i] as Expectation;
      timeToFire.push({ alert: e.alert, labels: Object.entries(e.labels).filter(([k]) => k !== 'severity').map(([k, v]) => `${k}=${v}`).join(' '), ms: a.receivedAt - since });
      expect(a.annotations.summary).toBeTruthy();
      expect(a.annotations.runbook_url).toBe(`docs/runbooks.md#${e.alert.toLowerCase()}`);
    });
  }

  const serviceOptions = (port: number): AgentServiceOptions => ({
    port, seed: 'e2e-alerts', llmRetryBackoffMs: 1, observability: { logger: false }, faults: HEALTHY, load: { rps: 20, mode: 'in-process' },
  });

  beforeAll(async () => {
    const { files } = generateArtifacts(FAST_CONFIG);
    const ruleFiles = Object.fromEntries(files.filter((f) => f.path.startsWith('alerts/')).map((f) => [path.basename(f.path), f.content]));
    svc = await startAgentService(serviceOptions(0));
    // The probe's own faults (a throwing error mapper, codes past the label cap) are an incident of their own below.
    probe = await startResilienceProbe({ selfFaults: false });
    stack = await startPrometheusStack({
      targets: [
        { job: 'agent', address: new URL(svc.url).host },
        { job: 'probe', address: probe.address },
      ],
      ruleFiles,
    });
    await Promise.all([stack.prometheus.waitUp('agent'), stack.prometheus.waitUp('probe')]);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await probe?.stop();
    await svc?.stop();
    if (timeToFire.length > 0) {
      const all = Object.values(EXPECTED).flat();
      const extra = new Set(
        (stack?.webhook.alerts() ?? [])
          .filter((a) => a.status === 'firing' && !all.some((e) => matches(a, e, 'firing')))
          .map((a) => `${a.labels.alertname} ${Object.entries(a.labels).filter(([k]) => k !== 'alertname').map(([k, v]) => `${k}=${v}`).join(' ')}`),
      );
      console.log(
        `\nTime to fire (fault injected → webhook received), file total ${((Date.now() - t0) / 1000).toFixed(1)} s:\n` +
          timeToFire.map((t) => `  ${t.alert.padEnd(34)} ${(t.ms / 1000).toFixed(1).padStart(5)} s  ${t.labels}`).join('\n') +
          (extra.size === 0 ? '' : `\nAlso fired (consequences of the same incidents, not asserted):\n${[...extra].map((e) => `  ${e}`).join('\n')}`),
      );
    }
  });

  it('stays quiet on a healthy service (baseline)', async () => {
    await sleep(3000);
    const alerts = await stack.prometheus.api<{ alerts: { labels: Record<string, string>; state: string }[] }>('alerts');
    expect(alerts.alerts.map((a) => ({ state: a.state, ...a.labels }))).toEqual([]);
  });

  it('slow dependencies fire the latency and SLO alerts; the probe fires breaker, pool, rate-limit and throttling alerts', async () => {
    const at = Date.now();
    await setFaults({ toolLatencyMs: 300, toolLatencyJitterMs: 50, llmLatencyMs: 1200, llmLatencyJitterMs: 100 });
    probe.openBreaker();
    probe.saturatePool();
    probe.exhaustRateLimit();
    probe.startThrottling();
    try {
      await expectFiring([...EXPECTED.slow, ...EXPECTED.probe], at);
    } finally {
      await setFaults(HEALTHY);
      probe.closeBreaker();
      probe.stopThrottling();
      probe.recoverRateLimit();
      await probe.releasePool();
    }
  }, 60_000);

  it('failing dependencies fire the error-ratio and availability burn-rate alerts', async () => {
    const at = Date.now();
    // Half the tool calls fail (fast: hung calls time out at 50 ms), so about a third of the tasks fail at gather;
    // the rest reach a model that fails 90% of its calls.
    await setFaults({ llmErrorRate: 0.9, toolErrorRate: 0.5, toolTimeoutMs: 50 });
    try {
      await expectFiring(EXPECTED.failing, at);
    } finally {
      await setFaults(HEALTHY);
    }
  }, 60_000);

  it('a blocked event loop fires AgentEventLoopBlocked', async () => {
    const at = Date.now();
    // Busy-wait 200 ms of every 250 ms: this process serves the example's /metrics, so its own delay is measured.
    const blocker = setInterval(() => {
      const until = performance.now() + 200;
      while (performance.now() < until) {
        // blocking on purpose
      }
    }, 50);
    try {
      await expectFiring(EXPECTED.blocked, at);
    } finally {
      clearInterval(blocker);
    }
  }, 60_000);

  it('the library\'s own failures fire AgentObservabilityInternalErrors and AgentObservabilityLabelOverflow', async () => {
    const at = Date.now();
    probe.startSelfFaults();
    try {
      await expectFiring(EXPECTED.self, at);
    } finally {
      probe.stopSelfFaults();
    }
  }, 60_000);

  it('targets that stop fire AgentObservabilityTargetDown, then AgentObservabilityMetricsAbsent; both resolve when the targets are back', async () => {
    const at = Date.now();
    const svcPort = svc.port;
    const probePort = Number(probe.address.split(':')[1]);
    await Promise.all([svc.stop(), probe.stop()]);
    await expectFiring(EXPECTED.down, at);
    svc = await startAgentService(serviceOptions(svcPort));
    probe = await startResilienceProbe({ port: probePort, selfFaults: false });
    for (const e of EXPECTED.down) await stack.webhook.waitFor((a) => matches(a, e, 'resolved') && a.receivedAt >= at, 20_000, `${e.alert} resolved`);
  }, 60_000);

  it('every alert that fired resolves after recovery', async () => {
    const deadline = Date.now() + 40_000;
    let open: string[];
    for (;;) {
      const last = new Map<string, ReceivedAlert>();
      for (const a of stack.webhook.alerts()) last.set(key(a.labels), a);
      open = [...last.values()].filter((a) => a.status === 'firing').map((a) => `${a.labels.alertname} ${key(a.labels)}`);
      if (open.length === 0 || Date.now() > deadline) break;
      await sleep(500);
    }
    expect(open).toEqual([]);
    expect(timeToFire.length).toBe(Object.values(EXPECTED).flat().length);
  }, 60_000);
});
