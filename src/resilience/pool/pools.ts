/** The pools of one root handle: their families (registered with the first pool), their names, and option checking. */
import { poolLimit, poolRejections, poolUsage, poolUtilization, poolWaitTime } from '../../catalog/metrics.js';
import { intIn, nonEmptyString, optionsObject, timerMs } from '../../catalog/validate.js';
import { ConfigError } from '../../errors.js';
import { lazy, type ResilienceScope } from '../scope.js';
import { defaultTimers } from '../shared.js';
import { Pool, type PoolDeps, type PoolHandle, type PoolOptions } from './pool.js';

export class Pools {
  private readonly live = new Map<string, Pool>();
  /** The pool behind each handle given out, so a policy can share one by its handle. */
  private readonly byHandle = new WeakMap<PoolHandle, Pool>();
  private readonly deps: () => PoolDeps;

  constructor(private readonly scope: ResilienceScope) {
    const k = scope.kernel;
    this.deps = lazy(
      (): PoolDeps => ({
        usage: k.gauge(poolUsage),
        limit: k.gauge(poolLimit),
        utilization: k.gauge(poolUtilization),
        wait: k.histogram(poolWaitTime),
        rejections: k.counter(poolRejections),
        clock: k.clock,
        exemplar: scope.trace.activeExemplar,
        timers: defaultTimers,
        released: (p) => {
          if (this.live.get(p.name) === p) this.live.delete(p.name);
          scope.untrack(p);
        },
      }),
    );
  }

  /** `obs.pool(name, options)`. */
  create(name: string, options: PoolOptions): PoolHandle {
    return this.handleOf(this.read(nonEmptyString(name, 'pool(name)'), options, 'pool options')());
  }

  /** The pool of a handle this root handle gave out, or `undefined`. */
  shared(v: unknown): Pool | undefined {
    return typeof v === 'object' && v !== null ? this.byHandle.get(v as PoolHandle) : undefined;
  }

  /** A new handle on `p`, known to {@link Pools.shared}. */
  handleOf(p: Pool): PoolHandle {
    const h = p.handle();
    this.byHandle.set(h, p);
    return h;
  }

  /** Validates pool options (nothing is registered yet); the returned function builds the pool. */
  read(name: string, raw: unknown, path: string): () => Pool {
    const o = optionsObject(raw, path);
    if (this.live.has(name)) throw new ConfigError(`${path} name`, 'a pool name not used by another live pool', name);
    const concurrency = intIn(o.concurrency, `${path}.concurrency`, 1, 1_000_000);
    const queue = intIn(o.queue, `${path}.queue`, 0, Infinity, 0);
    const queueTimeoutMs = o.queueTimeoutMs === undefined ? undefined : timerMs(o.queueTimeoutMs, `${path}.queueTimeoutMs`);
    return () => {
      const p = new Pool(name, concurrency, queue, queueTimeoutMs, this.deps());
      this.live.set(name, p);
      this.scope.track(p);
      return p;
    };
  }
}
