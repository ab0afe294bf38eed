/**
 * Token budgets over fixed windows, without timers: the window rolls lazily, on use and
 * at scrape time, from the handle's monotonic clock. Usage, limit and utilization gauges
 * per token type (`input`, `output`, `total`) that has a limit.
 */
import { ConfigError, TokenBudgetExceededError } from '../../errors.js';
import type { TokenUsage } from '../../instrument/recorder.js';
import type { Diag } from '../../internal/diag.js';
import type { GaugeFamily, GaugeSeries } from '../../metrics/store.js';
import { tokenBudgetLimit, tokenBudgetUsage, tokenBudgetUtilization } from '../../catalog/metrics.js';
import { nonEmptyString, object, optionsObject, positive, timerMs } from '../../catalog/validate.js';
import { lazy, type ResilienceScope } from '../scope.js';

/** Token types a budget can limit; `total` is input + output. */
export type BudgetTokenType = 'input' | 'output' | 'total';
const TYPES: readonly BudgetTokenType[] = ['input', 'output', 'total'];

/** Options of `obs.tokenBudget(name, options)`. */
export interface TokenBudgetOptions {
  /** Tokens per window: a number limits the total; an object limits any of input, output, total. */
  readonly limit: number | { readonly input?: number; readonly output?: number; readonly total?: number };
  /** Window length in milliseconds; windows are fixed (aligned to multiples of it) and roll on use. */
  readonly windowMs: number;
}

/** A token budget. */
export interface TokenBudgetHandle {
  readonly name: string;
  /** Adds one call's usage to the current window (non-finite or negative counts are ignored). */
  record(usage: TokenUsage): void;
  /** Tokens left in the current window for `type` (Infinity when that type has no limit). @default 'total' */
  remaining(type?: BudgetTokenType): number;
  /** True when any limited type is used up in the current window. */
  readonly exceeded: boolean;
  /**
   * Throws {@link TokenBudgetExceededError} when the budget is spent; call it before an LLM call.
   * @example budget.assertAvailable(); const r = await llm(prompt); budget.record({ input: r.usage.in, output: r.usage.out });
   */
  assertAvailable(): void;
  /** Removes the budget's series and frees its name. Idempotent. */
  dispose(): void;
}

export interface BudgetDeps {
  readonly usage: GaugeFamily;
  readonly limit: GaugeFamily;
  readonly utilization: GaugeFamily;
  readonly clock: () => number;
  readonly diag: Diag;
  readonly released: (b: TokenBudget) => void;
}

interface Slot {
  readonly type: BudgetTokenType;
  readonly limit: number;
  used: number;
  readonly usage: GaugeSeries;
  readonly limitSeries: GaugeSeries;
  readonly utilization: GaugeSeries;
}

function readBudgetOptions(raw: unknown, path: string): { limits: Map<BudgetTokenType, number>; windowMs: number } {
  const o = optionsObject(raw, path);
  const limits = new Map<BudgetTokenType, number>();
  if (typeof o.limit === 'number') limits.set('total', positive(o.limit, `${path}.limit`));
  else {
    const l = object(o.limit, `${path}.limit`);
    for (const t of TYPES) if (l[t] !== undefined) limits.set(t, positive(l[t], `${path}.limit.${t}`));
    const extra = Object.keys(l).filter((k) => !(TYPES as readonly string[]).includes(k));
    if (extra.length > 0) throw new ConfigError(`${path}.limit.${extra[0]}`, 'one of input, output, total', extra[0]);
    if (limits.size === 0) throw new ConfigError(`${path}.limit`, 'a number or at least one of input, output, total', l);
  }
  return { limits, windowMs: timerMs(o.windowMs, `${path}.windowMs`) };
}

/** The budgets of one root handle: their families (registered with the first budget) and their names. */
export class Budgets {
  private readonly live = new Map<string, TokenBudget>();
  private readonly deps: () => BudgetDeps;

  constructor(private readonly scope: ResilienceScope) {
    const k = scope.kernel;
    this.deps = lazy((): BudgetDeps => {
      const usage = k.gauge(tokenBudgetUsage);
      // Roll idle windows at scrape time too, so a budget nobody used since shows 0, not stale usage.
      k.onCollect(usage, () => {
        for (const b of this.live.values()) b.roll();
      });
      return {
        usage,
        limit: k.gauge(tokenBudgetLimit),
        utilization: k.gauge(tokenBudgetUtilization),
        clock: k.clock,
        diag: k.diag,
        released: (b) => {
          if (this.live.get(b.name) === b) this.live.delete(b.name);
          scope.untrack(b);
        },
      };
    });
  }

  /** `obs.tokenBudget(name, options)`. */
  create(name: string, options: TokenBudgetOptions): TokenBudgetHandle {
    const n = nonEmptyString(name, 'tokenBudget(name)');
    const { limits, windowMs } = readBudgetOptions(options, 'tokenBudget options');
    if (this.live.has(n)) throw new ConfigError('tokenBudget(name)', 'a budget name not used by another live budget', n);
    const b = new TokenBudget(n, limits, windowMs, this.deps());
    this.live.set(n, b);
    this.scope.track(b);
    return b.handle();
  }
}

export class TokenBudget {
  private readonly slots: Slot[];
  private windowStart = NaN;
  disposed = false;

  constructor(
    readonly name: string,
    limits: ReadonlyMap<BudgetTokenType, number>,
    private readonly windowMs: number,
    private readonly deps: BudgetDeps,
  ) {
    this.slots = [...limits].map(([type, limit]) => {
      const labels = [name, type];
      const s: Slot = { type, limit, used: 0, usage: deps.usage.child(labels), limitSeries: deps.limit.child(labels), utilization: deps.utilization.child(labels) };
      s.limitSeries.set(limit);
      return s;
    });
    this.roll();
  }

  /** Starts a new window when the clock has left the current one. */
  roll(): void {
    // NaN: a failed reading of a user clock (the guard counted it).
    const now = this.deps.clock();
    if (!Number.isFinite(now)) return;
    const start = Math.floor(now / this.windowMs) * this.windowMs;
    if (start === this.windowStart) return;
    this.windowStart = start;
    for (const s of this.slots) {
      s.used = 0;
      this.publish(s);
    }
  }

  private publish(s: Slot): void {
    s.usage.set(s.used);
    s.utilization.set(s.used / s.limit);
  }

  record(u: TokenUsage): void {
    try {
      this.roll();
      const input = valid(u?.input);
      const output = valid(u?.output);
      for (const s of this.slots) {
        s.used += s.type === 'input' ? input : s.type === 'output' ? output : input + output;
        this.publish(s);
      }
    } catch (e) {
      this.deps.diag.error('token_budget', e);
    }
  }

  remaining(type: BudgetTokenType = 'total'): number {
    this.roll();
    const s = this.slots.find((x) => x.type === type);
    return s === undefined ? Infinity : Math.max(0, s.limit - s.used);
  }

  get exceeded(): boolean {
    this.roll();
    return this.slots.some((s) => s.used >= s.limit);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.slots) {
      this.deps.usage.remove(s.usage);
      this.deps.limit.remove(s.limitSeries);
      this.deps.utilization.remove(s.utilization);
    }
    this.deps.released(this);
  }

  handle(): TokenBudgetHandle {
    return budgetHandle(this);
  }
}

function budgetHandle(b: TokenBudget): TokenBudgetHandle {
  return {
    name: b.name,
    record: (u) => b.record(u),
    remaining: (t) => b.remaining(t),
    get exceeded() {
      return b.exceeded;
    },
    assertAvailable: () => {
      if (b.exceeded) throw new TokenBudgetExceededError(b.name);
    },
    dispose: () => b.dispose(),
  };
}

function valid(n: unknown): number {
  return typeof n === 'number' && n >= 0 && n !== Infinity ? n : 0;
}
