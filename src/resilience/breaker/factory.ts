/** `obs.circuitBreaker(fn, options)` and a policy's breaker: validation, the families, the name registry and the public handle. */
import type CircuitBreaker from 'opossum';
import { breakerCallDuration, breakerCalls, breakerFailureRatio, breakerState, breakerTransitions } from '../../catalog/metrics.js';
import { boolean, func, intIn, nonEmptyString, numberIn, optionalFunc, optionsObject, timerMs, type Obj } from '../../catalog/validate.js';
import { ConfigError } from '../../errors.js';
import type { AnyFunction } from '../../instrument/handles.js';
import { lazy, type ResilienceScope } from '../scope.js';
import { invoke, nameLike, type Guarded } from '../shared.js';
import {
  MeteredBreaker, actionFor, carrierAction, type BreakerDeps, type BreakerInfo, type CircuitBreakerHandle, type CircuitBreakerOptions,
} from './breaker.js';

/** Validates opossum's numeric options up front (opossum itself accepts anything). Returns a copy without our own keys. */
function opossumOptions(o: Obj, path: string): CircuitBreaker.Options {
  const { name: _n, fallback: _f, logTransitions: _l, group: _g, ...rest } = o;
  for (const k of ['timeout', 'resetTimeout', 'rollingCountTimeout'] as const) {
    // opossum's `timeout: false` turns its timeout off.
    if (rest[k] !== undefined && !(k === 'timeout' && rest[k] === false)) timerMs(rest[k], `${path}.${k}`);
  }
  intIn(rest.rollingCountBuckets, `${path}.rollingCountBuckets`, 1, 10_000, 10);
  intIn(rest.volumeThreshold, `${path}.volumeThreshold`, 0, Number.MAX_SAFE_INTEGER, 0);
  intIn(rest.capacity, `${path}.capacity`, 1, Number.MAX_SAFE_INTEGER, 1);
  if (rest.errorThresholdPercentage !== undefined) numberIn(rest.errorThresholdPercentage, `${path}.errorThresholdPercentage`, 0, 100);
  optionalFunc(rest.errorFilter, `${path}.errorFilter`);
  return rest as CircuitBreaker.Options;
}

/** Rejects policy-breaker options that cannot work without the call's arguments. */
function checkPolicyBreakerOptions(o: Obj, path: string): void {
  for (const k of ['cache', 'coalesce', 'fallback', 'name'] as const) {
    if (o[k] !== undefined && o[k] !== false) {
      throw new ConfigError(`${path}.${k}`, k === 'cache' || k === 'coalesce' ? 'no cache/coalesce in a policy (use obs.circuitBreaker)' : `no ${k} here (set it on the policy)`, o[k]);
    }
  }
}

function readBreakerCommon(o: Obj, path: string): { logTransitions: boolean } {
  const logTransitions = boolean(o.logTransitions, `${path}.logTransitions`, true);
  if (o.group !== undefined) throw new ConfigError(`${path}.group`, 'no group (the breaker label is its name)', o.group);
  return { logTransitions };
}

/**
 * The breakers of one root handle: their families (registered with the first breaker),
 * their names (unique among live breakers), and the two ways to make one.
 */
export class Breakers {
  private readonly live = new Map<string, MeteredBreaker>();
  private readonly deps: () => BreakerDeps;

  constructor(private readonly scope: ResilienceScope) {
    const k = scope.kernel;
    this.deps = lazy((): BreakerDeps => {
      const ratio = k.gauge(breakerFailureRatio);
      // The rolling failure ratio is derived state: refreshed when scraped, never per call.
      k.onCollect(ratio, () => {
        for (const b of this.live.values()) {
          try {
            b.refreshRatio();
          } catch (e) {
            k.diag.error('breaker', e);
          }
        }
      });
      return {
        state: k.gauge(breakerState),
        transitions: k.counter(breakerTransitions),
        calls: k.counter(breakerCalls),
        duration: k.histogram(breakerCallDuration),
        ratio,
        diag: k.diag,
        logger: k.logger,
        correlationId: scope.trace.correlationId,
        exemplar: scope.trace.activeExemplar,
        released: (b) => {
          if (this.live.get(b.name) === b) this.live.delete(b.name);
          scope.untrack(b);
        },
      };
    });
  }

  /** State and rolling counts of every live breaker. */
  info(): BreakerInfo[] {
    return [...this.live.values()].map((b) => b.info());
  }

  private claim(name: string, path: string): void {
    if (this.live.has(name)) throw new ConfigError(path, 'a breaker name not used by another live breaker', name);
  }

  private add(b: MeteredBreaker): MeteredBreaker {
    this.live.set(b.name, b);
    this.scope.track(b);
    return b;
  }

  /** `obs.circuitBreaker(fn, options)`. */
  create<F extends AnyFunction>(fn: F, options: CircuitBreakerOptions<F> | undefined): CircuitBreakerHandle<F> {
    func(fn, 'circuitBreaker(fn)');
    const o = optionsObject(options ?? {}, 'circuitBreaker options');
    const name = nonEmptyString(o.name ?? fn.name, o.name === undefined ? 'circuitBreaker options.name (fn is anonymous)' : 'circuitBreaker options.name');
    const fallback = optionalFunc(o.fallback, 'circuitBreaker options.fallback') as ((error: unknown, ...args: unknown[]) => unknown) | undefined;
    const { logTransitions } = readBreakerCommon(o, 'circuitBreaker options');
    const opts = opossumOptions(o, 'circuitBreaker options');
    this.claim(name, 'circuitBreaker options.name');
    return breakerHandle(fn, this.add(new MeteredBreaker(name, actionFor(fn), opts, this.deps(), fallback, logTransitions)));
  }

  /**
   * Validates a policy's breaker options and claims its name (the policy's); the returned
   * function builds the breaker, once every part of the policy has been validated.
   */
  forPolicy(raw: unknown, path: string, name: string, namePath: string): () => MeteredBreaker {
    const bo = optionsObject(raw, path);
    checkPolicyBreakerOptions(bo, path);
    const { logTransitions } = readBreakerCommon(bo, path);
    // The policy's timeout layer bounds each attempt (and aborts it); opossum's would only race it.
    const opts = opossumOptions({ timeout: false, ...bo }, path);
    this.claim(name, namePath);
    return () => this.add(new MeteredBreaker(name, carrierAction, opts, this.deps(), undefined, logTransitions));
  }
}

function breakerHandle<F extends AnyFunction>(fn: F, b: MeteredBreaker): CircuitBreakerHandle<F> {
  const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
  const guarded = nameLike(function (this: unknown, ...args: unknown[]): Promise<unknown> {
    // After dispose the breaker holds no state: calls go straight through, unrecorded.
    if (b.disposed) return invoke(() => call.apply(this, args));
    return b.run(this, args);
  }, fn) as unknown as Guarded<F>;

  return {
    name: b.name,
    get state() {
      return b.state;
    },
    fn: guarded,
    // Not `guarded(...args)`: one rest array per call instead of two and a spread.
    fire: (...args) =>
      (b.disposed ? invoke(() => call(...args)) : b.run(undefined, args)) as Promise<Awaited<ReturnType<F>>>,
    open: () => b.opossum.open(),
    close: () => b.opossum.close(),
    info: () => b.info(),
    opossum: b.opossum,
    dispose: () => b.dispose(),
  };
}
