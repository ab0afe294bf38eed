/**
 * A real alerting stack for one test file (or `npm run stack`): Prometheus (see
 * prometheus-server.ts) loading rule files, an Alertmanager (the Debian binary
 * `prometheus-alertmanager`) and a webhook receiver, all on free loopback ports with
 * temporary storage. Processes are stopped by the PID of the child we spawned, never by
 * name. Recipe and traps: /work/shared/PROMETHEUS-STACK.md.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { startDaemon } from './daemon.js';
import { startPrometheus, type PrometheusServer, type PrometheusTarget } from './prometheus-server.js';

export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';

/** One alert in one webhook notification. */
export interface ReceivedAlert {
  /** `Date.now()` when the webhook got the notification. */
  readonly receivedAt: number;
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly fingerprint: string;
}

/** An Alertmanager webhook receiver on loopback. */
export interface WebhookReceiver {
  /** The URL Alertmanager posts to. */
  readonly url: string;
  /** Every alert received so far, in arrival order. */
  alerts(): readonly ReceivedAlert[];
  /** Resolves with the first received alert matching `pred` (already received ones count). */
  waitFor(pred: (a: ReceivedAlert) => boolean, timeoutMs: number, what: string): Promise<ReceivedAlert>;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedAlert[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const receivedAt = Date.now();
      if (req.method === 'POST' && body !== '') {
        try {
          const msg = JSON.parse(body) as { alerts?: Omit<ReceivedAlert, 'receivedAt'>[] };
          for (const a of msg.alerts ?? []) received.push({ ...a, receivedAt });
        } catch {
          // not a notification
        }
        for (const w of waiters) w();
      }
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    alerts: () => received,
    waitFor: (pred, timeoutMs, what) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hit = received.find(pred);
          if (hit === undefined) return false;
          clearTimeout(timer);
          waiters.delete(onNotify);
          resolve(hit);
          return true;
        };
        const onNotify = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(onNotify);
          reject(new Error(`webhook: no ${what} within ${timeoutMs} ms; received: ${JSON.stringify(received.map((a) => [a.status, a.labels]))}`));
        }, timeoutMs);
        waiters.add(onNotify);
        check();
      }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A running Alertmanager. */
export interface Alertmanager {
  readonly url: string;
  /** `host:port`, for Prometheus' alerting config. */
  readonly address: string;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts Alertmanager routing every alert, one notification per alert (`group_by: ['...']`),
 * to `webhookUrl` within about a second (group_wait/group_interval 1s), resolved ones included.
 */
export async function startAlertmanager(webhookUrl: string): Promise<Alertmanager> {
  const d = await startDaemon({
    name: 'alertmanager',
    bin: ALERTMANAGER_BIN,
    aptPackage: 'prometheus-alertmanager',
    tmpPrefix: 'agentobs-am-',
    prepare: async (dir, port, url) => {
      await writeFile(
        path.join(dir, 'alertmanager.yml'),
        [
          'route:',
          '  receiver: webhook',
          "  group_by: ['...']",
          '  group_wait: 1s',
          '  group_interval: 1s',
          '  repeat_interval: 1h',
          'receivers:',
          '  - name: webhook',
          '    webhook_configs:',
          `      - url: ${JSON.stringify(webhookUrl)}`,
          '        send_resolved: true',
          '',
        ].join('\n'),
      );
      return [
        `--config.file=${path.join(dir, 'alertmanager.yml')}`,
        `--storage.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--web.external-url=${url}/`,
        // Gossip would bind *:9094 and fail when anything else holds it; a single node needs none.
        '--cluster.listen-address=',
        '--log.level=warn',
      ];
    },
  });
  return { url: d.url, address: `127.0.0.1:${d.port}`, pid: d.pid, output: d.output, stop: d.stop };
}

/** Prometheus + Alertmanager + webhook receiver. */
export interface PrometheusStack {
  readonly prometheus: PrometheusServer;
  readonly alertmanager: Alertmanager;
  readonly webhook: WebhookReceiver;
  /** When Prometheus was ready (ms since the epoch). */
  readonly startedAt: number;
  /** Stops all three (each by its own handle); safe to call twice. */
  stop(): Promise<void>;
}

export interface PrometheusStackOptions {
  readonly targets: readonly PrometheusTarget[];
  /** Rule files by file name → content. */
  readonly ruleFiles: Readonly<Record<string, string>>;
}

export async function startPrometheusStack(options: PrometheusStackOptions): Promise<PrometheusStack> {
  const webhook = await startWebhookReceiver();
  let alertmanager: Alertmanager | undefined;
  let prometheus: PrometheusServer | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      // Prometheus first, so no alert is sent to a stopped Alertmanager.
      await prometheus?.stop();
      await alertmanager?.stop();
      await webhook.stop();
    })());
  try {
    alertmanager = await startAlertmanager(webhook.url);
    prometheus = await startPrometheus(options.targets, { ruleFiles: options.ruleFiles, alertmanager: alertmanager.address });
  } catch (e) {
    await stop();
    throw e;
  }
  return { prometheus, alertmanager, webhook, startedAt: Date.now(), stop };
}
