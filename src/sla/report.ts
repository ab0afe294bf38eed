/**
 * The typed report of `obs.sla.check()` and how one SLO's numbers are computed from its
 * window. Ratios follow PromQL: NaN when the window holds no calls (0/0).
 */
import type { ResolvedSlo, SloTarget } from '../catalog/slo.js';
import type { SloWindow } from './window.js';

/** `breach` is latched with hysteresis (see `onBreach`); `warning` is recomputed on every check. */
export type SloStatus = 'ok' | 'warning' | 'breach';

/** Latency quantiles in seconds, estimated from bucket counts as `histogram_quantile` does. NaN without calls. */
export interface SloLatencyQuantiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** One burn-rate window (short or long). */
export interface SloWindowReport {
  /** Window length, e.g. `5m`. */
  readonly window: string;
  /** Calls in the window (successful and failed). */
  readonly requests: number;
  /** Calls that failed (`error_type != ""`). */
  readonly errors: number;
  /** SLI bad events: the errors (availability) or the calls slower than the threshold (latency). */
  readonly bad: number;
  /** `errors / requests`. */
  readonly errorRatio: number;
  /** `bad / requests`: the SLI error ratio (`slo:sli_error:ratio_rate<window>` in the rules). */
  readonly badRatio: number;
  /** `badRatio / (1 - objective)`: 1 spends exactly the budget over the SLO window. */
  readonly burnRate: number;
  readonly latency: SloLatencyQuantiles;
}

/** The error budget over the SLO window (`30d`), as far back as this process has run. */
export interface SloBudgetReport {
  readonly window: string;
  readonly requests: number;
  readonly bad: number;
  readonly badRatio: number;
  readonly burnRate: number;
  /** `1 - burnRate`: 1 untouched, 0 spent, below 0 overspent. */
  readonly remaining: number;
}

/** The state of one SLO. */
export interface SloReport {
  readonly name: string;
  readonly description: string;
  readonly sli: 'availability' | 'latency';
  readonly target: SloTarget;
  readonly objective: number;
  /** Latency SLOs: the threshold (seconds), the percentile held to it, and that percentile over the long window. */
  readonly latencyObjective:
    | { readonly threshold: number; readonly percentile: number; readonly observed: number }
    | undefined;
  readonly status: SloStatus;
  /** Whether the long window holds at least `evaluation.minRequests` calls (below that, no breach is declared). */
  readonly enoughRequests: boolean;
  readonly short: SloWindowReport;
  readonly long: SloWindowReport;
  readonly budget: SloBudgetReport;
  /** Same as `budget.remaining`. */
  readonly errorBudgetRemaining: number;
}

/** What `obs.sla.check()` returns: the worst status and one report per SLO, in configuration order. */
export interface SlaReport {
  readonly status: SloStatus;
  readonly slos: readonly SloReport[];
}

function windowReport(w: SloWindow, slices: number, text: string, budget: number): SloWindowReport {
  const c = w.counts(slices);
  const badRatio = c.bad / c.requests;
  return {
    window: text,
    requests: c.requests,
    errors: c.errors,
    bad: c.bad,
    errorRatio: c.errors / c.requests,
    badRatio,
    burnRate: badRatio / budget,
    // `counts()` left this span's buckets in the window's scratch buffer.
    latency: { p50: w.quantile(0.5), p95: w.quantile(0.95), p99: w.quantile(0.99) },
  };
}

/** The numbers of one SLO; `breached` is the latched state the caller keeps. */
export function sloReport(w: SloWindow, breached: boolean): SloReport {
  const slo: ResolvedSlo = w.slo;
  const e = slo.evaluation;
  const allowed = 1 - slo.objective;
  const short = windowReport(w, w.shortSlices, e.shortWindow.text, allowed);
  const long = windowReport(w, w.longSlices, e.longWindow.text, allowed);
  let observed = NaN;
  if (slo.latency !== undefined) {
    w.counts(w.longSlices);
    observed = w.quantile(slo.latency.percentile);
  }
  const b = w.budgetCounts();
  const budgetRatio = b.bad / b.requests;
  const budget: SloBudgetReport = {
    window: slo.window.text,
    requests: b.requests,
    bad: b.bad,
    badRatio: budgetRatio,
    burnRate: budgetRatio / allowed,
    remaining: 1 - budgetRatio / allowed,
  };
  const enoughRequests = long.requests >= e.minRequests;
  const warning =
    (enoughRequests && short.burnRate >= e.warningBurnRate && long.burnRate >= e.warningBurnRate) ||
    (b.requests >= e.minRequests && budget.remaining <= 0);
  return {
    name: slo.name,
    description: slo.description,
    sli: slo.sli,
    target: slo.spec.target,
    objective: slo.objective,
    latencyObjective:
      slo.latency === undefined ? undefined : { threshold: slo.latency.threshold, percentile: slo.latency.percentile, observed },
    status: breached ? 'breach' : warning ? 'warning' : 'ok',
    enoughRequests,
    short,
    long,
    budget,
    errorBudgetRemaining: budget.remaining,
  };
}

/**
 * The latch: breach when both windows burn at least `breachBurnRate` with enough calls;
 * recover once either burns below `recoverBurnRate`. A window without calls (NaN) counts
 * as recovered, so a health check that drains traffic cannot lock itself out.
 */
export function nextBreached(slo: ResolvedSlo, breached: boolean, r: SloReport): boolean {
  const e = slo.evaluation;
  if (!breached) return r.enoughRequests && r.short.burnRate >= e.breachBurnRate && r.long.burnRate >= e.breachBurnRate;
  return r.short.burnRate >= e.recoverBurnRate && r.long.burnRate >= e.recoverBurnRate;
}

const RANK: Readonly<Record<SloStatus, number>> = { ok: 0, warning: 1, breach: 2 };

/** The worst of the statuses (`ok` for none). */
export function worst(reports: readonly SloReport[]): SloStatus {
  let s: SloStatus = 'ok';
  for (const r of reports) if (RANK[r.status] > RANK[s]) s = r.status;
  return s;
}
