/**
 * The peers every suite compares against, built the way a careful user of each would:
 * a hand-rolled floor, prom-client with children resolved once, the OpenTelemetry metrics
 * SDK behind a pull reader (what its Prometheus exporter is), @autometrics/autometrics
 * behind a pull reader of its own SDK copy, and the tool the calls go to.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { type Histogram as OtelHistogram } from '@opentelemetry/api';
import { AggregationTemporality, AggregationType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { Counter, Histogram, type Registry } from 'prom-client';
import { catalog } from 'agent-observability';

export const asyncTool = async (x: number): Promise<number> => x + 1;
export const syncTool = (x: number): number => x + 1;
export const now = (): number => performance.now();

export const TOOL_LABELS = ['gen_ai_tool_name', 'gen_ai_agent_name', 'error_type'] as const;
export const BUCKETS: readonly number[] = catalog.CALL_DURATION_BUCKETS;

/** A Float64Array histogram with the same buckets as ours: the least any recorder can do. */
export class FloorHistogram {
  readonly bounds = Float64Array.from(BUCKETS);
  readonly counts = new Float64Array(this.bounds.length + 1);
  sum = 0;
  observe(v: number): void {
    const b = this.bounds;
    let k = 0;
    while (k < b.length && v > (b[k] as number)) k++;
    this.counts[k]! += 1;
    this.sum += v;
  }
  total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }
}

/** The hand-rolled floor around an async call: 2x now(), a side branch, a Float64Array bucket. */
export function floorAsync(h: FloorHistogram): (i: number) => Promise<number> {
  return (i) => {
    const t0 = now();
    const p = asyncTool(i);
    p.then(
      () => h.observe((now() - t0) / 1000),
      () => h.observe((now() - t0) / 1000),
    );
    return p;
  };
}
export function floorSync(h: FloorHistogram): (i: number) => number {
  return (i) => {
    const t0 = now();
    const r = syncTool(i);
    h.observe((now() - t0) / 1000);
    return r;
  };
}

/** prom-client 15: a tool histogram + calls counter with children resolved once. */
export function promTool(registry: Registry, name: string) {
  const hist = new Histogram({
    name: `bench_${name}_duration_seconds`,
    help: 'raw prom-client baseline',
    labelNames: TOOL_LABELS,
    buckets: [...BUCKETS],
    registers: [registry],
  });
  const calls = new Counter({
    name: `bench_${name}_calls_total`,
    help: 'raw prom-client baseline',
    labelNames: ['gen_ai_tool_name', 'gen_ai_agent_name'] as const,
    registers: [registry],
  });
  return { hist, ok: hist.labels(name, 'a', ''), err: hist.labels(name, 'a', 'Error'), calls: calls.labels(name, 'a') };
}
export type PromTool = ReturnType<typeof promTool>;

/** Bound children: `observe` + `inc` timed with `performance.now()` on a side branch. */
export function promObserveAsync(t: PromTool): (i: number) => Promise<number> {
  return (i) => {
    const t0 = now();
    const p = asyncTool(i);
    p.then(
      () => {
        t.ok.observe((now() - t0) / 1000);
        t.calls.inc();
      },
      () => t.err.observe((now() - t0) / 1000),
    );
    return p;
  };
}
export function promObserveSync(t: PromTool): (i: number) => number {
  return (i) => {
    const t0 = now();
    const r = syncTool(i);
    t.ok.observe((now() - t0) / 1000);
    t.calls.inc();
    return r;
  };
}
/** The prom-client idiom: the bound child's `startTimer()` and `end()`, plus the counter. */
export function promTimerAsync(t: PromTool): (i: number) => Promise<number> {
  return (i) => {
    const end = t.ok.startTimer();
    const p = asyncTool(i);
    p.then(
      () => {
        end();
        t.calls.inc();
      },
      () => end({ error_type: 'Error' }),
    );
    return p;
  };
}
export function promTimerSync(t: PromTool): (i: number) => number {
  return (i) => {
    const end = t.ok.startTimer();
    const r = syncTool(i);
    end();
    t.calls.inc();
    return r;
  };
}

export async function promCount(hist: Histogram): Promise<number> {
  const m = await hist.get();
  return m.values.filter((v) => v.metricName?.endsWith('_count') === true).reduce((a, v) => a + v.value, 0);
}

/** A pull reader that keeps cumulative state, as the Prometheus exporter does; collects on demand only. */
class PullReader extends MetricReader {
  constructor(cardinality: number) {
    super({
      aggregationSelector: () => ({ type: AggregationType.DEFAULT }),
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
      cardinalitySelector: () => cardinality,
    });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** OpenTelemetry metrics SDK 2: a MeterProvider with a pull reader; our buckets as advice. */
export function otelMeter(cardinality = 2000) {
  const reader = new PullReader(cardinality);
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('bench');
  const hist: OtelHistogram = meter.createHistogram('gen_ai.execute_tool.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: [...BUCKETS] },
  });
  return { reader, provider, meter, hist };
}
export type OtelMeter = ReturnType<typeof otelMeter>;

/** The tool's three attributes, one frozen object (the cheapest way to pass them). */
export const OTEL_ATTRS = Object.freeze({ 'gen_ai.tool.name': 'search', 'gen_ai.agent.name': 'a', 'error.type': '' });

export function otelRecordAsync(m: OtelMeter): (i: number) => Promise<number> {
  return (i) => {
    const t0 = now();
    const p = asyncTool(i);
    p.then(
      () => m.hist.record((now() - t0) / 1000, OTEL_ATTRS),
      () => m.hist.record((now() - t0) / 1000, OTEL_ATTRS),
    );
    return p;
  };
}
export function otelRecordSync(m: OtelMeter): (i: number) => number {
  return (i) => {
    const t0 = now();
    const r = syncTool(i);
    m.hist.record((now() - t0) / 1000, OTEL_ATTRS);
    return r;
  };
}

/** Data points of the OTel histogram (for verification). */
export async function otelCount(m: OtelMeter): Promise<number> {
  const { resourceMetrics } = await m.reader.collect();
  let n = 0;
  for (const sm of resourceMetrics.scopeMetrics) {
    for (const md of sm.metrics) {
      for (const dp of md.dataPoints) n += (dp.value as { count?: number }).count ?? 0;
    }
  }
  return n;
}

/**
 * @autometrics/autometrics 1.0: its own pinned copies of the OpenTelemetry API (1.7) and
 * metrics SDK (1.18). Without a registered exporter it buffers every value for a second,
 * then drops them, so a pull reader of *its* SDK copy is registered, as its Prometheus
 * exporter would (without the HTTP server). Wrapping calls AsyncLocalStorage#run per call,
 * so it is measured only in the AsyncLocalStorage suites.
 */
export async function autometricsPeer() {
  const am = await import('@autometrics/autometrics');
  const req = createRequire(createRequire(import.meta.url).resolve('@autometrics/autometrics'));
  const sdk = req('@opentelemetry/sdk-metrics') as { MetricReader: typeof MetricReader };
  class AmReader extends sdk.MetricReader {
    protected override async onForceFlush(): Promise<void> {}
    protected override async onShutdown(): Promise<void> {}
  }
  const reader = new AmReader();
  am.registerExporter({ metricReader: reader as never });
  // Named functions: autometrics labels series with the function name and skips anonymous ones.
  const amAsync = am.autometrics(async function searchTool(x: number): Promise<number> {
    return x + 1;
  });
  const amSync = am.autometrics(function lookupTool(x: number): number {
    return x + 1;
  });
  const count = async (): Promise<number> => {
    const { resourceMetrics } = await reader.collect();
    let n = 0;
    for (const sm of resourceMetrics.scopeMetrics) {
      for (const md of sm.metrics) {
        if (md.descriptor.name !== 'function.calls.duration') continue;
        for (const dp of md.dataPoints) n += (dp.value as { count?: number }).count ?? 0;
      }
    }
    return n;
  };
  return { amAsync, amSync, count };
}
