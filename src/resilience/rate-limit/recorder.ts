/**
 * `obs.recordRateLimit(provider, model, headers, status?)`: provider saturation from
 * response headers into limit / remaining / utilization gauges, and 429s into
 * `agentobs_llm_throttled_total`. Series are bound once per (provider, model, kind) and
 * cached; label values pass the cardinality guard. Never throws.
 */
import {
  llmThrottled, rateLimitHeadersInvalid, rateLimitLimit, rateLimitRemaining, rateLimitUtilization,
} from '../../catalog/metrics.js';
import type { Diag } from '../../internal/diag.js';
import type { CounterFamily, CounterSeries, GaugeFamily, GaugeSeries } from '../../metrics/store.js';
import { lazy, type ResilienceScope } from '../scope.js';
import { readRateLimitHeaders, type RateLimitKind } from './headers.js';

export interface RateLimitDeps {
  readonly limit: GaugeFamily;
  readonly remaining: GaugeFamily;
  readonly utilization: GaugeFamily;
  readonly throttled: CounterFamily;
  readonly invalid: CounterFamily;
  readonly diag: Diag;
}

interface KindSeries {
  readonly limit: GaugeSeries;
  readonly remaining: GaugeSeries;
  readonly utilization: GaugeSeries;
}

/** Pre-bound series of one provider and model. */
class Target {
  private readonly kinds = new Map<RateLimitKind, KindSeries>();
  private readonly invalidSeries = new Map<string, CounterSeries>();
  private throttledSeries: CounterSeries | undefined;

  constructor(
    private readonly provider: string,
    private readonly model: string,
    private readonly deps: RateLimitDeps,
  ) {}

  record(headers: unknown, status: number | undefined): void {
    if (status === 429) (this.throttledSeries ??= this.deps.throttled.child([this.provider, this.model])).inc();
    if (headers === undefined || headers === null) return;
    const readings = readRateLimitHeaders(headers, (h) => this.invalid(h));
    for (const [kind, r] of readings) {
      const s = this.kind(kind);
      if (r.limit !== undefined) s.limit.set(r.limit);
      if (r.remaining !== undefined) s.remaining.set(r.remaining);
      // A remaining without a limit (some proxies) uses the last limit seen for this kind.
      const limit = r.limit ?? s.limit.value;
      const remaining = r.remaining ?? s.remaining.value;
      if (limit > 0 && (r.limit !== undefined || r.remaining !== undefined)) {
        s.utilization.set(Math.min(1, Math.max(0, 1 - remaining / limit)));
      }
    }
  }

  private kind(kind: RateLimitKind): KindSeries {
    let s = this.kinds.get(kind);
    if (s === undefined) {
      const labels = [this.provider, this.model, kind];
      s = { limit: this.deps.limit.child(labels), remaining: this.deps.remaining.child(labels), utilization: this.deps.utilization.child(labels) };
      this.kinds.set(kind, s);
    }
    return s;
  }

  private invalid(header: string): void {
    let s = this.invalidSeries.get(header);
    if (s === undefined) {
      s = this.deps.invalid.child([this.provider, header]);
      this.invalidSeries.set(header, s);
    }
    s.inc();
  }
}

/** Cached targets; past this many (provider, model) pairs new ones are bound per call instead of cached. */
const MAX_TARGETS = 1000;

export class RateLimitRecorder {
  private readonly targets = new Map<string, Target>();

  constructor(private readonly deps: RateLimitDeps) {}

  record(provider: unknown, model: unknown, headers: unknown, status: unknown): void {
    try {
      const p = typeof provider === 'string' ? provider : '';
      const m = typeof model === 'string' ? model : '';
      // Length-prefixed: no (provider, model) pair can collide with another.
      const key = `${p.length}:${p}${m}`;
      let t = this.targets.get(key);
      if (t === undefined) {
        t = new Target(p, m, this.deps);
        if (this.targets.size < MAX_TARGETS) this.targets.set(key, t);
      }
      t.record(headers, typeof status === 'number' ? status : undefined);
    } catch (e) {
      this.deps.diag.error('rate_limit', e);
    }
  }
}

/** `obs.recordRateLimit(...)`: the recorder and its families, bound by the first call; nothing after shutdown. */
export class RateLimits {
  private readonly recorder: () => RateLimitRecorder;

  constructor(private readonly scope: ResilienceScope) {
    const k = scope.kernel;
    this.recorder = lazy(
      () =>
        new RateLimitRecorder({
          limit: k.gauge(rateLimitLimit),
          remaining: k.gauge(rateLimitRemaining),
          utilization: k.gauge(rateLimitUtilization),
          throttled: k.counter(llmThrottled),
          invalid: k.counter(rateLimitHeadersInvalid),
          diag: k.diag,
        }),
    );
  }

  record(provider: unknown, model: unknown, headers: unknown, status: unknown): void {
    if (this.scope.isClosed) return;
    this.recorder().record(provider, model, headers, status);
  }
}
