/**
 * A real Prometheus (the Debian binary) for one test file: free loopback port, temporary
 * storage, exemplar storage on, 1 s scrapes. Stopped by the PID of the child we spawned,
 * never by name; `restart()` brings it back on the same storage and port. Recipe and traps: /work/shared/PROMETHEUS-STACK.md.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, sleep, startDaemon, type DaemonRestartOptions } from './daemon.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export interface PrometheusTarget {
  readonly job: string;
  /** `host:port` */
  readonly address: string;
  readonly metricsPath?: string;
  /**
   * More scrape-config fields, as YAML flow-mapping entries appended to the job (for example
   * `scheme: https, authorization: {credentials: "t"}, tls_config: {ca_file: "/x/ca.pem"}`).
   */
  readonly scrapeConfig?: string;
}

export interface PrometheusServer {
  readonly url: string;
  /** PID of the process running now (a new one after {@link PrometheusServer.restart}). */
  readonly pid: number;
  /** GET `/api/v1/<path>` with query parameters; throws unless `status` is `success`. */
  api<T = unknown>(apiPath: string, params?: Record<string, string>): Promise<T>;
  /** Resolves once `up{job}` is 1 (the first scrape comes ~5 s after start). */
  waitUp(job: string, timeoutMs?: number): Promise<void>;
  /** What the process wrote to stdout/stderr (for failure messages). */
  output(): string;
  /** Stops Prometheus by its PID and removes its directory. */
  stop(): Promise<void>;
  /**
   * Stops Prometheus (SIGTERM unless told otherwise) and starts it again on the same TSDB
   * directory, config and port; resolves once it is ready. Ready is not scraped: the first
   * scrape comes ~5 s later, and until then queries answer from the data before the restart.
   */
  restart(options?: DaemonRestartOptions): Promise<void>;
}

export { freePort };

/** Optional extras: rule files to load and an Alertmanager to send alerts to. */
export interface PrometheusOptions {
  /** Rule files by file name → content; written next to the config and listed in `rule_files`. */
  readonly ruleFiles?: Readonly<Record<string, string>>;
  /** `host:port` of an Alertmanager (alerts are sent there). */
  readonly alertmanager?: string;
}

export async function startPrometheus(targets: readonly PrometheusTarget[], options: PrometheusOptions = {}): Promise<PrometheusServer> {
  const daemon = await startDaemon({
    name: 'prometheus',
    bin: PROMETHEUS_BIN,
    aptPackage: 'prometheus',
    tmpPrefix: 'agentobs-prom-',
    prepare: async (dir, port, url) => {
      const config = [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'scrape_configs:',
        ...targets.map((t) => `  - {job_name: ${JSON.stringify(t.job)}, metrics_path: ${JSON.stringify(t.metricsPath ?? '/metrics')}, static_configs: [{targets: [${JSON.stringify(t.address)}]}]${t.scrapeConfig === undefined ? '' : `, ${t.scrapeConfig}`}}`),
        ...(options.ruleFiles === undefined ? [] : ['rule_files:', ...Object.keys(options.ruleFiles).map((f) => `  - ${JSON.stringify(f)}`)]),
        ...(options.alertmanager === undefined ? [] : [`alerting: {alertmanagers: [{static_configs: [{targets: [${JSON.stringify(options.alertmanager)}]}]}]}`]),
        '',
      ].join('\n');
      await writeFile(path.join(dir, 'prometheus.yml'), config);
      for (const [name, content] of Object.entries(options.ruleFiles ?? {})) await writeFile(path.join(dir, name), content);
      return [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--web.external-url=${url}/`,
        '--enable-feature=exemplar-storage',
        '--log.level=warn',
      ];
    },
  });
  const { url, output: out } = daemon;

  const api = async <T>(apiPath: string, params: Record<string, string> = {}): Promise<T> => {
    const u = new URL(`/api/v1/${apiPath}`, url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    const body = (await (await fetch(u)).json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${apiPath}: ${body.error ?? body.status}`);
    return body.data;
  };

  return {
    url,
    get pid() {
      return daemon.pid;
    },
    api,
    output: out,
    stop: daemon.stop,
    restart: daemon.restart,
    waitUp: async (job, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await api<{ result: { value: [number, string] }[] }>('query', { query: `up{job=${JSON.stringify(job)}}` });
        if (r.result.some((s) => s.value[1] === '1')) return;
        if (Date.now() > deadline) throw new Error(`up{job="${job}"} not 1 after ${timeoutMs} ms:\n${out()}`);
        await sleep(200);
      }
    },
  };
}
