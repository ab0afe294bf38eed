/**
 * `obs.sla`: the in-process SLO engine. One {@link SloWindow} per SLO, fed by the
 * recorders whose series match the SLO's target (resolved once per recorder), one
 * unref'd timer that advances the rings at slice boundaries and latches breaches, and
 * the `agentobs_slo_*` gauges refreshed at scrape time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MetricDef } from '../catalog/metrics.js';
import { sloBurnRate, sloErrorBudgetRemaining, sloLatency, sloObjective } from '../catalog/metrics.js';
import type { ResolvedSlo } from '../catalog/slo.js';
import { func, oneOf } from '../catalog/validate.js';
import { ConfigError } from '../errors.js';
import type { Kernel } from '../internal/kernel.js';
import type { ObservationTap } from '../internal/tap.js';
import type { GaugeSeries } from '../metrics/store.js';
import { healthResponse } from './health.js';
import { nextBreached, sloReport, worst, type SlaReport, type SloReport } from './report.js';
import { SloWindow } from './window.js';

/** A node:http / Express request handler. */
export type HealthHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of {@link Sla.healthHandler}. */
export interface HealthHandlerOptions {
  /** Lowest status answered with 503. @default 'breach' */
  readonly failOn?: 'breach' | 'warning';
}

/** A listener of SLO transitions; it receives the report that caused the transition. */
export type SloListener = (report: SloReport) => void;

/** In-process SLO evaluation: `obs.sla`. */
export interface Sla {
  /**
   * Evaluates every SLO now: burn rates over the short and long windows, p50/p95/p99,
   * error budget, status. Transitions found here fire `onBreach`/`onRecover` listeners.
   * @example if (obs.sla.check().status === 'breach') await rollback()
   */
  check(): SlaReport;
  /**
   * Called once when an SLO enters breach (both windows burn at least `breachBurnRate`
   * with at least `minRequests` calls); not again until it has recovered. Returns an
   * unsubscribe function. Listener errors are counted, never thrown.
   * @example const off = obs.sla.onBreach((r) => canary.abort(`${r.name}: burn ${r.short.burnRate}x`))
   */
  onBreach(listener: SloListener): () => void;
  /** Called once when a breached SLO recovers (either window below `recoverBurnRate`). Returns an unsubscribe function. */
  onRecover(listener: SloListener): () => void;
  /**
   * A node:http / Express handler answering 200, or 503 when an SLO is in breach (or
   * warning, with `failOn: 'warning'`), with the JSON report (NaN written as null).
   * @example http.createServer(obs.sla.healthHandler()).listen(8081)
   */
  healthHandler(options?: HealthHandlerOptions): HealthHandler;
}

/** The engine as the root handle sees it. */
export interface SlaEngine extends Sla {
  /**
   * Taps of the SLOs whose target matches a recorder's series (undefined when none), for
   * the handles; `undefined` itself without SLOs, so recorders then get no taps at all.
   */
  readonly tapsFor: ((def: MetricDef, labelValues: readonly string[]) => readonly ObservationTap[] | undefined) | undefined;
  /** Bytes of window state held in typed arrays, over all SLOs. */
  readonly stateBytes: number;
}

interface Tracked {
  readonly window: SloWindow;
  /** Label positions of the target matchers in the histogram's label order. */
  readonly positions: readonly number[];
  breached: boolean;
  readonly gauges: readonly GaugeSeries[] | undefined;
}

const QUANTILES = ['0.5', '0.95', '0.99'] as const;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export function createSla(ctx: Kernel, slos: readonly ResolvedSlo[]): SlaEngine {
  const breachListeners = new Set<SloListener>();
  const recoverListeners = new Set<SloListener>();
  // Guarded (never throws); NaN for a failed reading, which the windows ignore.
  const now = ctx.clock;

  let gauges: ((name: string, short: string, long: string, period: string) => GaugeSeries[]) | undefined;
  if (slos.length > 0) {
    const objective = ctx.gauge(sloObjective);
    const budget = ctx.gauge(sloErrorBudgetRemaining);
    const burn = ctx.gauge(sloBurnRate);
    const latency = ctx.gauge(sloLatency);
    gauges = (name, short, long, period) => [
      objective.child([name]),
      budget.child([name]),
      burn.child([name, short]),
      burn.child([name, long]),
      burn.child([name, period]),
      ...QUANTILES.map((q) => latency.child([name, q])),
    ];
    // Gauges are derived state: refreshed when scraped, never on the hot path; once per
    // synchronous run, since a scrape collects the four families back to back.
    let fresh = false;
    const refreshOnce = (): void => {
      if (fresh) return;
      fresh = true;
      queueMicrotask(() => (fresh = false));
      refreshGauges();
    };
    for (const f of [objective, budget, burn, latency]) ctx.onCollect(f, refreshOnce);
  }

  const tracked: Tracked[] = slos.map((slo) => {
    const window = new SloWindow(slo);
    const positions = slo.matchers.map((m) => {
      const i = (slo.metric.labels as readonly string[]).indexOf(m.label);
      if (i === -1) throw new ConfigError(`slo(${slo.name}).target`, `labels of ${slo.metric.name}`, m.label);
      return i;
    });
    const e = slo.evaluation;
    const g = gauges?.(slo.name, e.shortWindow.text, e.longWindow.text, slo.window.text);
    g?.[0]?.set(slo.objective);
    return { window, positions, breached: false, gauges: g };
  });
  if (tracked.length > 0) {
    const t0 = now();
    for (const t of tracked) t.window.sync(t0);
  }

  function refreshGauges(): void {
    try {
      const at = now();
      for (const t of tracked) {
        t.window.sync(at);
        const r = sloReport(t.window, t.breached);
        const g = t.gauges;
        if (g === undefined) continue;
        g[1]!.set(r.budget.remaining);
        g[2]!.set(r.short.burnRate);
        g[3]!.set(r.long.burnRate);
        g[4]!.set(r.budget.burnRate);
        g[5]!.set(r.long.latency.p50);
        g[6]!.set(r.long.latency.p95);
        g[7]!.set(r.long.latency.p99);
      }
    } catch (e) {
      ctx.diag.error('sla', e);
    }
  }

  function emit(listeners: Set<SloListener>, report: SloReport): void {
    for (const l of [...listeners]) {
      try {
        l(report);
      } catch (e) {
        ctx.diag.error('sla_listener', e);
      }
    }
  }

  function check(): SlaReport {
    const at = now();
    const reports: SloReport[] = [];
    const fired: [Set<SloListener>, SloReport][] = [];
    for (const t of tracked) {
      t.window.sync(at);
      let r = sloReport(t.window, t.breached);
      const next = nextBreached(t.window.slo, t.breached, r);
      if (next !== t.breached) {
        // Latch first, so a listener that calls check() again sees the new state.
        t.breached = next;
        r = sloReport(t.window, next);
        fired.push([next ? breachListeners : recoverListeners, r]);
      }
      reports.push(r);
    }
    for (const [listeners, r] of fired) emit(listeners, r);
    return { status: worst(reports), slos: reports };
  }

  // One timer for all SLOs, firing at slice boundaries: it advances the rings (so idle
  // periods expire) and latches transitions even when nobody calls check().
  const tickMs = tracked.reduce((g, t) => gcd(g, t.window.slo.evaluation.slice.ms), 0);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  function schedule(): void {
    if (stopped || tickMs === 0) return;
    const at = now();
    let delay = tickMs - (((at % tickMs) + tickMs) % tickMs);
    if (!(delay > 0 && delay <= tickMs)) delay = tickMs;
    // +1 ms: land just after the boundary, not just before it.
    timer = setTimeout(onTick, delay + 1);
    timer.unref();
  }
  function onTick(): void {
    try {
      check();
    } catch (e) {
      ctx.diag.error('sla', e);
    }
    schedule();
  }
  schedule();
  ctx.onShutdown(() => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    breachListeners.clear();
    recoverListeners.clear();
  });

  const subscribe = (set: Set<SloListener>, l: SloListener, name: string): (() => void) => {
    set.add(func<SloListener>(l, `sla.${name}`));
    return () => void set.delete(l);
  };

  return {
    check,
    onBreach: (l) => subscribe(breachListeners, l, 'onBreach'),
    onRecover: (l) => subscribe(recoverListeners, l, 'onRecover'),
    healthHandler: (options) => {
      const failOn = oneOf(options?.failOn ?? 'breach', ['breach', 'warning'] as const, 'healthHandler.failOn');
      return (req, res) => healthResponse(req, res, check, failOn, (e) => ctx.diag.error('sla_health', e));
    },
    tapsFor: tracked.length === 0 ? undefined : (def, labelValues) => {
      let out: ObservationTap[] | undefined;
      for (const t of tracked) {
        const slo = t.window.slo;
        if (slo.metric.name !== def.name) continue;
        let match = true;
        for (let i = 0; i < slo.matchers.length; i++) {
          if (labelValues[t.positions[i] as number] !== (slo.matchers[i] as { value: string }).value) match = false;
        }
        if (match) (out ??= []).push(t.window);
      }
      return out;
    },
    get stateBytes() {
      return tracked.reduce((n, t) => n + t.window.byteLength, 0);
    },
  };
}
