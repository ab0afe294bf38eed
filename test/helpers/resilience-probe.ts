/**
 * A second scrape target for the real-stack tests: the library's resilience and
 * self-metric paths that the example agent service does not exercise (it has no breaker,
 * pool, retry wrapper, token budget or provider rate-limit headers). Everything goes
 * through the public API of `createObservability`, served on its own loopback port, and
 * each incident can be switched on and off: an open breaker, a saturated pool, a rate limit
 * near exhaustion, provider throttling (429s).
 */
import { createObservability, type CircuitBreakerHandle, type Observability, type PoolHandle } from 'agent-observability';
import { Registry } from 'prom-client';

export interface ResilienceProbe {
  readonly obs: Observability;
  /** `host:port` of its /metrics. */
  readonly address: string;
  /** Forces the breaker open / closed (counted as transitions). */
  openBreaker(): void;
  closeBreaker(): void;
  /** Fills the pool (2 of 2 slots busy, calls queued) until `releasePool()`. */
  saturatePool(): void;
  releasePool(): Promise<void>;
  /** Reports 98 % of the requests limit in use (as provider headers would), or 10 %. */
  exhaustRateLimit(): void;
  recoverRateLimit(): void;
  /** Starts / stops answering with 429s, 5 per second. */
  startThrottling(): void;
  stopThrottling(): void;
  /**
   * Starts / stops the library's own faults: an error mapper that throws (an internal error per
   * call), a new error code every tick past the label cap (overflow), a control character (sanitized).
   */
  startSelfFaults(): void;
  stopSelfFaults(): void;
  stop(): Promise<void>;
}

/** Codes thrown by the probe's failing tool: a control character is sanitized, many codes overflow the cap. */
class ProbeError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** Starts the probe; `port` 0 picks a free one (pass the old port to restart it in place). */
export async function startResilienceProbe(options: { readonly port?: number; readonly selfFaults?: boolean } = {}): Promise<ResilienceProbe> {
  const obs = createObservability({
    registry: new Registry(),
    logger: false,
    // The example service reports runtime metrics for this same process already.
    runtimeMetrics: false,
    cardinality: { maxValuesPerLabel: 8 },
    errorType: (e) => {
      if (e instanceof ProbeError && e.code === 'mapper-bug') throw new TypeError('error mapper bug');
      return e instanceof ProbeError ? e.code : 'unknown';
    },
  });
  const server = await obs.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const address = new URL(server.url).host;

  // Opened and closed by hand (open() / close()), so the incident starts and ends on cue.
  const breaker: CircuitBreakerHandle<() => Promise<string>> = obs.circuitBreaker(
    async () => 'ok',
    { name: 'search-api', resetTimeout: 120_000, errorThresholdPercentage: 50, volumeThreshold: 4 },
  );
  const pool: PoolHandle = obs.pool('llm-slots', { concurrency: 2, queue: 4 });
  const retried = obs.retry(
    async (attempt: { n: number }) => {
      attempt.n++;
      if (attempt.n < 2) throw new ProbeError('overloaded');
      return attempt.n;
    },
    { name: 'draft', kind: 'llm', maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
  );
  const exhausted = obs.retry(async () => Promise.reject(new ProbeError('overloaded')), { name: 'review', kind: 'llm', maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 });
  const budget = obs.tokenBudget('support', { limit: { input: 100_000, output: 50_000 }, windowMs: 3_600_000 });
  // A workflow step (no alert watches step errors) whose failures exercise the self-metrics.
  const step = obs.instrumentStep(async (code: string | undefined) => {
    if (code !== undefined) throw new ProbeError(code);
  }, { step: 'probe_step', workflow: 'probe' });

  let remaining = 90;
  const headers = (): Record<string, string> => ({ 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining-requests': String(remaining) });
  let throttling: NodeJS.Timeout | undefined;

  // Steady background traffic so every resilience series exists and moves.
  let tick = 0;
  let selfFaults = options.selfFaults ?? true;
  const traffic = setInterval(() => {
    tick++;
    void breaker.fire().catch(() => undefined);
    void pool.run(() => new Promise((r) => setTimeout(r, 5))).catch(() => undefined);
    void retried({ n: 0 }).catch(() => undefined);
    if (tick % 5 === 0) void exhausted().catch(() => undefined);
    budget.record({ input: 120, output: 40 });
    obs.recordRateLimit('openai', 'gpt-probe', headers(), 200);
    // Self-metrics: a sanitized label value, a new code past the cap (overflow), a mapper failure, each every 300 ms.
    if (selfFaults) void step(tick % 3 === 0 ? `bad\u0007code` : tick % 3 === 1 ? `code_${tick}` : 'mapper-bug').catch(() => undefined);
    else void step(undefined);
  }, 100);
  traffic.unref();

  let held: (() => void)[] = [];
  const queued: Promise<unknown>[] = [];
  return {
    obs,
    address,
    startSelfFaults: () => void (selfFaults = true),
    stopSelfFaults: () => void (selfFaults = false),
    openBreaker: () => breaker.open(),
    closeBreaker: () => breaker.close(),
    saturatePool: () => {
      for (let i = 0; i < 5; i++) {
        queued.push(pool.run(() => new Promise<void>((r) => held.push(r))).catch(() => undefined));
      }
    },
    releasePool: async () => {
      // Queued calls start as slots free up: release until nothing is held or waiting.
      while (held.length > 0 || pool.active > 0 || pool.queued > 0) {
        const h = held;
        held = [];
        for (const r of h) r();
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(queued.splice(0));
    },
    exhaustRateLimit: () => {
      remaining = 2;
      obs.recordRateLimit('openai', 'gpt-probe', headers(), 200);
    },
    recoverRateLimit: () => {
      remaining = 90;
      obs.recordRateLimit('openai', 'gpt-probe', headers(), 200);
    },
    startThrottling: () => {
      throttling ??= setInterval(() => obs.recordRateLimit('openai', 'gpt-probe', headers(), 429), 200);
    },
    stopThrottling: () => {
      clearInterval(throttling);
      throttling = undefined;
    },
    stop: async () => {
      clearInterval(traffic);
      clearInterval(throttling);
      for (const r of held) r();
      breaker.dispose();
      await obs.shutdown();
    },
  };
}
