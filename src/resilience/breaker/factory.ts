/** `obs.circuitBreaker(fn, options)`: validation, name registry and the public handle. */
import type CircuitBreaker from 'opossum';
import { ConfigError } from '../../errors.js';
import type { AnyFunction } from '../../instrument/handles.js';
import { boolean, func, intIn, nonEmptyString, numberIn, optionalFunc, optionsObject, timerMs, type Obj } from '../../catalog/validate.js';
import { invoke, nameLike, type Guarded } from '../shared.js';
import { MeteredBreaker, actionFor, type BreakerDeps, type CircuitBreakerHandle, type CircuitBreakerOptions } from './breaker.js';

/** Live breakers by name; a name is taken until its breaker is disposed. */
export class BreakerRegistry {
  private readonly live = new Map<string, MeteredBreaker>();

  claim(name: string, path: string): void {
    if (this.live.has(name)) throw new ConfigError(path, 'a breaker name not used by another live breaker', name);
  }
  add(b: MeteredBreaker): void {
    this.live.set(b.name, b);
  }
  release(b: MeteredBreaker): void {
    if (this.live.get(b.name) === b) this.live.delete(b.name);
  }
  all(): MeteredBreaker[] {
    return [...this.live.values()];
  }
}

/** Validates opossum's numeric options up front (opossum itself accepts anything). Returns a copy without our own keys. */
export function opossumOptions(o: Obj, path: string): CircuitBreaker.Options {
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

export function readBreakerCommon(o: Obj, path: string): { logTransitions: boolean } {
  const logTransitions = boolean(o.logTransitions, `${path}.logTransitions`, true);
  if (o.group !== undefined) throw new ConfigError(`${path}.group`, 'no group (the breaker label is its name)', o.group);
  return { logTransitions };
}

export function createCircuitBreaker<F extends AnyFunction>(
  deps: () => BreakerDeps,
  registry: BreakerRegistry,
  fn: F,
  options: CircuitBreakerOptions<F> | undefined,
): [CircuitBreakerHandle<F>, MeteredBreaker] {
  func(fn, 'circuitBreaker(fn)');
  const o = optionsObject(options ?? {}, 'circuitBreaker options');
  const name = nonEmptyString(o.name ?? fn.name, o.name === undefined ? 'circuitBreaker options.name (fn is anonymous)' : 'circuitBreaker options.name');
  const fallback = optionalFunc(o.fallback, 'circuitBreaker options.fallback') as ((error: unknown, ...args: unknown[]) => unknown) | undefined;
  const { logTransitions } = readBreakerCommon(o, 'circuitBreaker options');
  const opts = opossumOptions(o, 'circuitBreaker options');
  registry.claim(name, 'circuitBreaker options.name');

  const b = new MeteredBreaker(name, actionFor(fn), opts, deps(), fallback, logTransitions);
  registry.add(b);
  const call = fn as unknown as (this: unknown, ...args: unknown[]) => unknown;
  const guarded = nameLike(function (this: unknown, ...args: unknown[]): Promise<unknown> {
    // After dispose the breaker holds no state: calls go straight through, unrecorded.
    if (b.disposed) return invoke(() => call.apply(this, args));
    return b.run(this, args);
  }, fn) as unknown as Guarded<F>;

  const handle: CircuitBreakerHandle<F> = {
    name,
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
  return [handle, b];
}
