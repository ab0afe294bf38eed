/**
 * A metrics server in its own `node --expose-gc` process, so a test can read its heap on a
 * clean baseline: `SERIES` tool series behind `obs.listen()`. The parent asks over IPC:
 * `'heap'` → heap used + array buffers after two GCs (bytes); `'stop'` → shuts down.
 * The first message sent is `{ url, idle }` once the instance was built and scraped once.
 */
import { createObservability } from 'agent-observability';

const n = Number(process.env.SERIES ?? '100000');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

async function heap(): Promise<number> {
  // Two macrotask turns and two collections: what a finished scrape held is gone by then.
  await new Promise((r) => setTimeout(r, 50));
  /x/.exec('x');
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const obs = createObservability({
  runtimeMetrics: false, logger: false, tracing: false,
  cardinality: { maxSeriesPerMetric: n + 10, maxValuesPerLabel: n + 10 },
});
for (let i = 0; i < n; i++) obs.tool(`tool_${i % 1000}`, { agent: `agent_${Math.floor(i / 1000)}` }).record(0.05 + (i % 7) * 0.1);
const server = await obs.listen({ port: 0 });
// One whole scrape first, so code and steady-state structures are in the baseline.
await (await fetch(server.url)).arrayBuffer();
const send = (m: unknown): void => void process.send?.(m);
send({ url: server.url, idle: await heap() });
process.on('message', (m) => {
  if (m === 'heap') void heap().then((h) => send({ heap: h }));
  if (m === 'stop') void obs.shutdown().then(() => process.exit(0));
});
