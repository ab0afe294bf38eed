/**
 * The kernel of a root handle: what every capability (handles, resilience, SLA, tracing,
 * runtime, exposition) is created from. It binds catalog entries to families in one
 * registry under one label policy, owns the self-metrics and the diag channel, hands out
 * the handle's one (guarded) clock, runs each family's scrape-time hooks, and runs the
 * capabilities' shutdown hooks before unregistering every family.
 *
 * Nothing here knows about a particular capability, and nothing is filled in after the
 * fact: a capability that needs another (handles need SLA taps and call tracers) is
 * created after it and given it explicitly. Internal: not exported from the package.
 */
import type { Registry } from 'prom-client';
import {
  buildInfo, internalErrors, labelOverflow, labelSanitized, type CounterDef, type GaugeDef, type HistogramDef, type MetricDef,
} from '../catalog/metrics.js';
import { ConfigError } from '../errors.js';
import type { LabelPolicyHooks, LabelPolicySettings } from '../metrics/labels.js';
import { CounterFamily, GaugeFamily, HistogramFamily, type CounterSeries, type Family } from '../metrics/store.js';
import { VERSION } from '../version.js';
import { defaultClock, guardClock } from './clock.js';
import { Diag, type DiagLogger } from './diag.js';

/** What the kernel is built from: the root options, already validated. */
export interface KernelOptions {
  readonly registry: Registry;
  /** The label policy of every family but the self-metrics. */
  readonly labelPolicy: LabelPolicySettings;
  /** Bucket overrides by histogram name. */
  readonly buckets: ReadonlyMap<string, readonly number[]>;
  /** `undefined`: internal failures are counted, not logged. */
  readonly logger: DiagLogger | undefined;
  /** A user clock (guarded here), or `undefined` for the default. */
  readonly clock: (() => number) | undefined;
  /** The `errorTypes` allow-list as a function (identity without one); also applied to the types our logs name. */
  readonly errorTypeFilter?: (errorType: string) => string;
}

/** What a capability receives. */
export interface Kernel {
  readonly registry: Registry;
  readonly labelPolicy: LabelPolicySettings;
  /** Our own failures: counted in `agentobs_internal_errors_total{component}`, logged once per kind. */
  readonly diag: Diag;
  readonly logger: DiagLogger | undefined;
  /** Monotonic milliseconds; never throws (a user clock is guarded: NaN for a bad reading, already counted). */
  readonly clock: () => number;
  /** True when `clock` is the default (`performance.now()`): readings are valid span times, and no guard runs. */
  readonly trustedClock: boolean;
  /** Keeps an `error_type` value the `errorTypes` allow-list admits, else `_OTHER` (identity without a list). */
  readonly errorTypeFilter: (errorType: string) => string;
  /**
   * The family of a catalog counter, created and registered on first use (one per name). After
   * `shutdown()` a family asked for again is created but never registered: what is built then
   * works and records into it, and nothing of it is exported.
   */
  counter(def: CounterDef): CounterFamily;
  gauge(def: GaugeDef): GaugeFamily;
  histogram(def: HistogramDef): HistogramFamily;
  /**
   * Runs `hook` before each scrape of `family` (to refresh derived values), after the hooks
   * added before it. A hook that throws is counted (component `collect`); the scrape goes on.
   */
  onCollect(family: Family, hook: () => void): void;
  /** Runs `fn` during `shutdown()`, before our metrics are unregistered. Hooks run in reverse order of registration. */
  onShutdown(fn: () => void | Promise<void>): void;
}

/** The kernel as the root handle holds it: the one place `shutdown()` is called from. */
export interface RootKernel extends Kernel {
  /** Runs the shutdown hooks (latest first; failures counted as component `shutdown`), then unregisters every family. Idempotent. */
  shutdown(): Promise<void>;
}

/** The self-metrics' families get no policy hooks: their label values are catalog names, so nothing is ever rewritten. */
const NO_HOOKS: LabelPolicyHooks = { overflow: () => {}, sanitized: () => {} };

export function createKernel(o: KernelOptions): RootKernel {
  const { registry, labelPolicy, buckets } = o;
  const families = new Map<string, Family>();
  const collectHooks = new Map<Family, (() => void)[]>();
  const shutdownHooks: (() => void | Promise<void>)[] = [];
  /** Set by shutdown: families asked for after it are never registered (see {@link Kernel.counter}). */
  let detached = false;

  function family(def: MetricDef, policy: LabelPolicySettings, hooks: LabelPolicyHooks): Family {
    let f = families.get(def.name);
    if (f !== undefined) return f;
    switch (def.type) {
      case 'counter':
        f = new CounterFamily(def, policy, hooks);
        break;
      case 'gauge':
        f = new GaugeFamily(def, policy, hooks);
        break;
      case 'histogram':
        f = new HistogramFamily(def, buckets.get(def.name) ?? (def.buckets as readonly number[]), policy, hooks);
        break;
    }
    try {
      if (!detached) registry.registerMetric(f as never);
    } catch (e) {
      throw new ConfigError(`registry.${def.name}`, 'a registry without a metric of this name', (e as Error).message);
    }
    families.set(def.name, f);
    return f;
  }

  // Self-metrics are keyed by catalog names only, so they never need a cap. No length cap
  // either: cutting a metric name would re-enter the `sanitized` hook from inside it.
  const unlimited: LabelPolicySettings = {
    ...labelPolicy, maxValuesPerLabel: Infinity, maxSeriesPerMetric: Infinity, maxValueLength: Infinity, allow: new Map(),
  };
  const overflow = family(labelOverflow, unlimited, NO_HOOKS) as CounterFamily;
  const sanitized = family(labelSanitized, unlimited, NO_HOOKS) as CounterFamily;
  const errorTypeFilter = o.errorTypeFilter ?? ((t: string): string => t);
  const diag = new Diag(family(internalErrors, unlimited, NO_HOOKS) as CounterFamily, o.logger, errorTypeFilter);
  (family(buildInfo, unlimited, NO_HOOKS) as GaugeFamily).child([VERSION]).set(1);

  // The label policy's counters, bound lazily per (metric, label) and cached.
  const selfSeries = new Map<string, CounterSeries>();
  const bump = (fam: CounterFamily, metric: string, label: string): void => {
    const key = `${fam.def.name}\u0000${metric}\u0000${label}`;
    let s = selfSeries.get(key);
    if (s === undefined) {
      s = fam.child([metric, label]);
      selfSeries.set(key, s);
    }
    s.inc();
  };
  const policyHooks: LabelPolicyHooks = {
    overflow: (metric, label) => bump(overflow, metric, label),
    sanitized: (metric, label) => bump(sanitized, metric, label),
  };

  const clock = guardClock(o.clock, diag);
  let shutDown: Promise<void> | undefined;

  return {
    registry,
    labelPolicy,
    diag,
    logger: o.logger,
    clock,
    trustedClock: clock === defaultClock,
    errorTypeFilter,
    counter: (def) => family(def, labelPolicy, policyHooks) as CounterFamily,
    gauge: (def) => family(def, labelPolicy, policyHooks) as GaugeFamily,
    histogram: (def) => family(def, labelPolicy, policyHooks) as HistogramFamily,
    onCollect(f, hook) {
      let list = collectHooks.get(f);
      if (list === undefined) {
        const hooks: (() => void)[] = [];
        list = hooks;
        collectHooks.set(f, hooks);
        // The family's one slot, set once here: capabilities add hooks, never replace them.
        f.collect = () => {
          for (const h of hooks) {
            try {
              h();
            } catch (e) {
              diag.error('collect', e);
            }
          }
        };
      }
      list.push(hook);
    },
    onShutdown: (fn) => void shutdownHooks.push(fn),
    shutdown: () =>
      (shutDown ??= (async () => {
        for (const hook of shutdownHooks.reverse()) {
          try {
            await hook();
          } catch (e) {
            diag.error('shutdown', e);
          }
        }
        for (const name of families.keys()) registry.removeSingleMetric(name);
        families.clear();
        collectHooks.clear();
        detached = true;
      })()),
  };
}
