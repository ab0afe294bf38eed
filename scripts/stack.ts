/**
 * `npm run stack`: the one-command way to see it all working. Starts the example agent
 * service (with steady load), a real Prometheus loading the shipped rules (alerts/) and
 * scraping the service, an Alertmanager, and a webhook receiver that prints every alert
 * notification; prints the URLs; stops everything on Ctrl-C (each process by its own PID).
 *
 *   npm run stack                 # shipped rules: alerts need minutes (5m windows, 5-10m `for:`)
 *   npm run stack -- --fast       # the same rules generated at test speed (10 s windows, 2 s `for:`)
 *   npm run stack -- --rps 5      # load in tasks per second (default 10)
 *
 * Needs the Debian binaries: apt-get install -y --no-install-recommends prometheus prometheus-alertmanager
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAgentService, type AgentService } from '../examples/agent-service/service.js';
import { generateArtifacts, RULE_FILES } from '../src/generate/index.js';
import { FAST_CONFIG } from '../test/helpers/fast-config.js';
import { startAlertmanager, startWebhookReceiver, type Alertmanager, type WebhookReceiver } from '../test/helpers/prometheus-stack.js';
import { startPrometheus, type PrometheusServer } from '../test/helpers/prometheus-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const QUIET = { llmErrorRate: 0, llmLatencyMs: 5, llmLatencyJitterMs: 2, toolErrorRate: 0, toolLatencyMs: 3, toolLatencyJitterMs: 2 };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { fast: { type: 'boolean', default: false }, rps: { type: 'string', default: '10' } } });
  const rps = Number(values.rps);
  if (!(rps >= 0)) throw new Error(`--rps: expected a number >= 0, got ${values.rps}`);

  const ruleFiles: Record<string, string> = values.fast
    ? Object.fromEntries(generateArtifacts(FAST_CONFIG).files.filter((f) => f.path.startsWith('alerts/')).map((f) => [f.path.slice('alerts/'.length), f.content]))
    : Object.fromEntries(Object.values(RULE_FILES).map((p) => [p.slice('alerts/'.length), readFileSync(`${ROOT}/${p}`, 'utf8')]));

  let svc: AgentService | undefined;
  let webhook: WebhookReceiver | undefined;
  let am: Alertmanager | undefined;
  let prom: PrometheusServer | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    await prom?.stop();
    await am?.stop();
    await webhook?.stop();
    await svc?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    // Fast rules alert on small latencies: start the service fast and healthy so the demo starts quiet.
    svc = await startAgentService({ port: 0, load: { rps }, observability: { logger: false }, ...(values.fast ? { faults: QUIET, llmRetryBackoffMs: 1 } : {}) });
    webhook = await startWebhookReceiver();
    am = await startAlertmanager(webhook.url);
    prom = await startPrometheus([{ job: 'agent', address: new URL(svc.url).host }], { ruleFiles, alertmanager: am.address });
  } catch (e) {
    console.error(`npm run stack: ${(e as Error).message}`);
    await stop(1);
    return;
  }

  const p = prom.url;
  console.log(`agent-observability stack (${values.fast ? 'fast rules, generated at test speed' : 'shipped rules from alerts/'}; Ctrl-C stops everything)

  example service   ${svc.url}   (load ${rps} tasks/s; POST /tasks, GET /admin/stats)
  its metrics       ${svc.metricsUrl}
  Prometheus        ${p}/alerts   ${p}/rules   ${p}/graph
  Alertmanager      ${am.url}/#/alerts
  webhook receiver  ${webhook.url} (notifications are printed below)

Dashboards: import dashboards/*.json into Grafana with a Prometheus data source pointing at ${p}.
Break something and watch the alerts arrive, e.g.:
${(values.fast
    ? ['{"llmErrorRate": 0.9}', '{"toolLatencyMs": 300}', '{"llmErrorRate": 0, "toolLatencyMs": 3}']
    : ['{"llmErrorRate": 0.9}', '{"toolLatencyMs": 3000, "toolTimeoutMs": 15000}', '{"llmErrorRate": 0.02, "toolLatencyMs": 120, "toolTimeoutMs": 2000}']
  )
    .map((patch) => `  curl -s -XPOST ${svc?.url}/admin/faults -H 'content-type: application/json' -d '${patch}'`)
    .join('\n')}
`);
  let seen = 0;
  setInterval(() => {
    const all = webhook?.alerts() ?? [];
    for (const a of all.slice(seen)) {
      const labels = Object.entries(a.labels).filter(([k]) => k !== 'alertname').map(([k, v]) => `${k}=${v}`).join(' ');
      console.log(`${new Date(a.receivedAt).toISOString().slice(11, 19)} ${a.status.toUpperCase().padEnd(8)} ${a.labels.alertname} ${labels}\n         ${a.annotations.summary ?? ''}`);
    }
    seen = all.length;
  }, 500).unref();
  await new Promise<never>(() => undefined);
}

void main();
