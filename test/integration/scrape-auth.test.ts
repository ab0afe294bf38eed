/**
 * Authenticated scrapes on a real Prometheus (Debian 2.42): our `listen()` servers with a
 * bearer token, basic auth, TLS (a CA and certificates made by openssl in the test) and
 * mutual TLS; one Prometheus scrapes each with the right credential and with a wrong or
 * missing one. The right ones are `up` with our series; every wrong one is a failed target
 * with its reason, and none of our series reaches Prometheus through it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObservability, type MetricsServer, type Observability } from '../../src/index.js';
import { sleep } from '../helpers/daemon.js';
import { startPrometheus, type PrometheusServer, type PrometheusTarget } from '../helpers/prometheus-server.js';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls.js';

let obs: Observability;
let prom: PrometheusServer;
let certs: TestCertificates;
const servers: Record<string, MetricsServer> = {};

const hostPort = (s: MetricsServer): string => `127.0.0.1:${s.port}`;

beforeAll(async () => {
  certs = makeTestCertificates();
  obs = createObservability({ runtimeMetrics: false, logger: false });
  obs.tool('web_search', { agent: 'support' }).record(0.2);
  servers.bearer = await obs.listen({ port: 0, auth: { bearerToken: 'prom-3f9a' } });
  servers.basic = await obs.listen({ port: 0, auth: { basic: { username: 'prometheus', password: 'pa:ss wörd' } } });
  servers.tls = await obs.listen({ port: 0, tls: { key: certs.serverKey, cert: certs.serverCert }, auth: { bearerToken: 'tls-7c1e' } });
  servers.mtls = await obs.listen({ port: 0, tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca } });
  const f = certs.files;
  const targets: PrometheusTarget[] = [
    { job: 'bearer-ok', address: hostPort(servers.bearer), scrapeConfig: 'authorization: {credentials: "prom-3f9a"}' },
    { job: 'bearer-wrong', address: hostPort(servers.bearer), scrapeConfig: 'authorization: {credentials: "prom-3f9b"}' },
    { job: 'bearer-none', address: hostPort(servers.bearer) },
    { job: 'basic-ok', address: hostPort(servers.basic), scrapeConfig: 'basic_auth: {username: "prometheus", password: "pa:ss wörd"}' },
    { job: 'basic-wrong', address: hostPort(servers.basic), scrapeConfig: 'basic_auth: {username: "prometheus", password: "pa:ss"}' },
    { job: 'tls-ok', address: hostPort(servers.tls), scrapeConfig: `scheme: https, tls_config: {ca_file: ${JSON.stringify(f.ca)}}, authorization: {credentials: "tls-7c1e"}` },
    { job: 'tls-untrusted', address: hostPort(servers.tls), scrapeConfig: `scheme: https, authorization: {credentials: "tls-7c1e"}` },
    { job: 'tls-no-token', address: hostPort(servers.tls), scrapeConfig: `scheme: https, tls_config: {ca_file: ${JSON.stringify(f.ca)}}` },
    {
      job: 'mtls-ok',
      address: hostPort(servers.mtls),
      scrapeConfig: `scheme: https, tls_config: {ca_file: ${JSON.stringify(f.ca)}, cert_file: ${JSON.stringify(f.clientCert)}, key_file: ${JSON.stringify(f.clientKey)}}`,
    },
    { job: 'mtls-no-cert', address: hostPort(servers.mtls), scrapeConfig: `scheme: https, tls_config: {ca_file: ${JSON.stringify(f.ca)}}` },
  ];
  prom = await startPrometheus(targets);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await obs?.shutdown();
  certs?.remove();
});

interface ActiveTarget {
  labels: { job: string };
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

/** Every target's health once each has been scraped at least once. */
async function targetHealth(): Promise<Map<string, ActiveTarget>> {
  for (let i = 0; ; i++) {
    const { activeTargets } = await prom.api<{ activeTargets: ActiveTarget[] }>('targets', { state: 'active' });
    if (activeTargets.length === 10 && activeTargets.every((t) => t.health !== 'unknown')) return new Map(activeTargets.map((t) => [t.labels.job, t]));
    if (i > 200) throw new Error(`targets not all scraped: ${JSON.stringify(activeTargets)}\n${prom.output()}`);
    await sleep(100);
  }
}

const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> =>
  (await prom.api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>('query', { query: q })).result;

describe('Prometheus scraping authenticated endpoints', () => {
  it('scrapes with the right bearer token, basic user, TLS CA and client certificate; every wrong credential is a failed target', async () => {
    const health = await targetHealth();
    const seen = Object.fromEntries([...health].map(([job, t]) => [job, t.health]));
    expect(seen).toEqual({
      'bearer-ok': 'up', 'bearer-wrong': 'down', 'bearer-none': 'down', 'basic-ok': 'up', 'basic-wrong': 'down',
      'tls-ok': 'up', 'tls-untrusted': 'down', 'tls-no-token': 'down', 'mtls-ok': 'up', 'mtls-no-cert': 'down',
    });
    // The reasons Prometheus gives: our 401, or the handshake that failed.
    for (const job of ['bearer-wrong', 'bearer-none', 'basic-wrong', 'tls-no-token']) expect(health.get(job)?.lastError).toContain('401');
    expect(health.get('tls-untrusted')?.lastError).toMatch(/certificate/);
    expect(health.get('mtls-no-cert')?.lastError).toMatch(/certificate|tls|EOF|reset/i);
  });

  it('holds our series only from the authenticated jobs, and counts the refused scrapes', async () => {
    await targetHealth();
    const jobs = new Set((await query('gen_ai_execute_tool_duration_seconds_count')).map((s) => s.metric.job));
    expect([...jobs].sort()).toEqual(['basic-ok', 'bearer-ok', 'mtls-ok', 'tls-ok']);
    const scraped = await query('scrape_samples_scraped{job=~".*-(wrong|none|untrusted|no-token|no-cert)"}');
    expect(scraped.length).toBe(6);
    for (const s of scraped) expect({ job: s.metric.job, v: s.value[1] }).toEqual({ job: s.metric.job, v: '0' });
    // The refused scrapes are counted (one counter for every handler of the process), and the
    // good job brings that count to Prometheus.
    for (let i = 0; ; i++) {
      const r = await query('agentobs_scrapes_total{outcome="unauthorized", job="bearer-ok"}');
      if (r.length === 1 && Number(r[0]?.value[1]) > 0) break;
      if (i > 100) throw new Error(`no unauthorized count seen: ${JSON.stringify(r)}`);
      await sleep(200);
    }
  });
});
