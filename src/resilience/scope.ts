/**
 * What the resilience parts (breakers, pools, retries, timeouts, policies, budgets, rate
 * limits) share: the kernel, the trace context, and the live objects that `obs.shutdown()`
 * disposes. Each part is created from one scope, in any order, and registers nothing in the
 * kernel until first used.
 */
import type { Kernel } from '../internal/kernel.js';
import type { TraceContext } from '../internal/span-hook.js';

/** Anything shutdown disposes: breakers, pools, budgets, policies. */
export interface Disposable {
  dispose(): void;
}

export class ResilienceScope {
  private closed = false;
  private readonly live = new Set<Disposable>();

  constructor(
    readonly kernel: Kernel,
    readonly trace: TraceContext,
  ) {
    kernel.onShutdown(() => this.close());
  }

  /** True once `obs.shutdown()` ran: run-time entry points become no-ops. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Disposed by shutdown unless {@link ResilienceScope.untrack}ed first (when disposed by the
   * user). After shutdown it is disposed at once: a breaker, pool, budget or policy created
   * then is what one left over from before is, a pass-through that records nothing and holds
   * no timer. (Its families are the kernel's detached ones, never registered.)
   */
  track(d: Disposable): void {
    if (this.closed) d.dispose();
    else this.live.add(d);
  }

  untrack(d: Disposable): void {
    this.live.delete(d);
  }

  private close(): void {
    this.closed = true;
    for (const d of [...this.live]) {
      try {
        d.dispose();
      } catch (e) {
        this.kernel.diag.error('resilience', e);
      }
    }
    this.live.clear();
  }
}

/** `make()` on the first call, its result after: a part's families are registered when first needed. */
export function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}
