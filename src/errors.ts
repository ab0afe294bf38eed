/**
 * Typed errors. Configuration mistakes throw at start-up; nothing on the run-time path
 * throws into user code (those failures are counted in `agentobs_internal_errors_total`).
 *
 * Each error carries a stable `code` and a brand keyed by `Symbol.for`, so the `isX`
 * guards work even when two copies of this package are installed side by side.
 */

const BRAND = Symbol.for('agent-observability.error');

/** Stable error codes. */
export type AgentObservabilityErrorCode =
  | 'ERR_AGENTOBS_CONFIG'
  | 'ERR_AGENTOBS_TIMEOUT'
  | 'ERR_AGENTOBS_CIRCUIT_OPEN'
  | 'ERR_AGENTOBS_CIRCUIT_CAPACITY'
  | 'ERR_AGENTOBS_POOL_REJECTED'
  | 'ERR_AGENTOBS_TOKEN_BUDGET_EXCEEDED';

/** Base class of every error this package throws. */
export class AgentObservabilityError extends Error {
  /** Stable, documented error code. */
  readonly code: AgentObservabilityErrorCode;
  readonly [BRAND] = true;

  constructor(code: AgentObservabilityErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'AgentObservabilityError';
  }
}

/**
 * Bad configuration: invalid metric or label names, bad buckets, unknown kinds, bad options.
 * The message always has the form "`<path>`: expected X, got Y".
 *
 * @example
 * try { createObservability({ cardinality: { maxValuesPerLabel: 0 } }) }
 * catch (e) { if (isConfigError(e)) console.error(e.path, e.message) }
 */
export class ConfigError extends AgentObservabilityError {
  /** Where in the configuration the problem is, e.g. `buckets.gen_ai_execute_tool_duration_seconds[2]`. */
  readonly path: string;

  constructor(path: string, expected: string, got: unknown) {
    super('ERR_AGENTOBS_CONFIG', `${path}: expected ${expected}, got ${describe(got)}`);
    this.name = 'ConfigError';
    this.path = path;
  }
}

/**
 * True for any error thrown by this package (works across duplicate installs). Never throws:
 * a value whose property reads throw (a hostile getter or Proxy) is simply not ours.
 */
export function isAgentObservabilityError(e: unknown): e is AgentObservabilityError {
  if (typeof e !== 'object' || e === null) return false;
  try {
    return (e as Record<symbol, unknown>)[BRAND] === true;
  } catch {
    return false;
  }
}

/** True for a {@link ConfigError} (works across duplicate installs). */
export function isConfigError(e: unknown): e is ConfigError {
  return isAgentObservabilityError(e) && e.code === 'ERR_AGENTOBS_CONFIG';
}

/**
 * Base of the run-time rejections our resilience wrappers produce (timeouts, open circuits,
 * full pools, spent budgets). `errorType` is the bounded `error_type` label value that the
 * default error mapping records for it (`timeout`, `circuit_open`, …).
 */
abstract class RejectionError extends AgentObservabilityError {
  /** The `error_type` label value recorded for this error. */
  abstract readonly errorType: string;
}

/**
 * A call ran longer than its timeout. Recorded as `error_type="timeout"`.
 *
 * @example
 * try { await guarded(prompt) } catch (e) { if (isTimeoutError(e)) console.warn(`gave up after ${e.timeoutMs} ms`) }
 */
export class TimeoutError extends RejectionError {
  readonly errorType = 'timeout';
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super('ERR_AGENTOBS_TIMEOUT', `operation timed out after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A circuit breaker is open (or half-open with its probe in flight) and failed the call
 * fast, without running it. Recorded as `error_type="circuit_open"`. Never retried by
 * the default retry predicate.
 *
 * @example
 * const answer = await llm.fire(prompt).catch((e) => (isCircuitOpenError(e) ? cachedAnswer : Promise.reject(e)));
 */
export class CircuitOpenError extends RejectionError {
  readonly errorType = 'circuit_open';
  /** The breaker's name. */
  readonly breaker: string;

  constructor(breaker: string) {
    super('ERR_AGENTOBS_CIRCUIT_OPEN', `circuit breaker "${breaker}" is open`);
    this.name = 'CircuitOpenError';
    this.breaker = breaker;
  }
}

/**
 * A circuit breaker's `capacity` (concurrent calls) was reached and the call was rejected
 * without running. Recorded as `error_type="circuit_capacity"`.
 */
export class CircuitCapacityError extends RejectionError {
  readonly errorType = 'circuit_capacity';
  /** The breaker's name. */
  readonly breaker: string;

  constructor(breaker: string) {
    super('ERR_AGENTOBS_CIRCUIT_CAPACITY', `circuit breaker "${breaker}" is at capacity`);
    this.name = 'CircuitCapacityError';
    this.breaker = breaker;
  }
}

/** Why a pool turned a call away (aborts reject with the signal's own reason instead). */
export type PoolRejectionReason = 'queue_full' | 'timeout';

/**
 * A concurrency pool turned a call away: its queue was full, or the call waited longer
 * than `queueTimeoutMs`. Recorded as `error_type="pool_rejected"`.
 *
 * @example
 * try { await pool.run(() => callModel(prompt)) } catch (e) { if (isPoolRejectedError(e)) reply503(e.reason) }
 */
export class PoolRejectedError extends RejectionError {
  readonly errorType = 'pool_rejected';
  /** The pool's name. */
  readonly pool: string;
  readonly reason: PoolRejectionReason;

  constructor(pool: string, reason: PoolRejectionReason) {
    super('ERR_AGENTOBS_POOL_REJECTED', `pool "${pool}" rejected the call: ${reason === 'queue_full' ? 'queue full' : 'queue wait timed out'}`);
    this.name = 'PoolRejectedError';
    this.pool = pool;
    this.reason = reason;
  }
}

/**
 * A token budget is spent for the current window (thrown by `TokenBudget.assertAvailable()`).
 * Recorded as `error_type="token_budget_exceeded"`.
 */
export class TokenBudgetExceededError extends RejectionError {
  readonly errorType = 'token_budget_exceeded';
  /** The budget's name. */
  readonly budget: string;

  constructor(budget: string) {
    super('ERR_AGENTOBS_TOKEN_BUDGET_EXCEEDED', `token budget "${budget}" is exhausted for the current window`);
    this.name = 'TokenBudgetExceededError';
    this.budget = budget;
  }
}

const hasCode = (e: unknown, code: AgentObservabilityErrorCode): boolean => {
  if (!isAgentObservabilityError(e)) return false;
  try {
    return e.code === code;
  } catch {
    return false;
  }
};

/** True for a {@link TimeoutError} (works across duplicate installs). */
export function isTimeoutError(e: unknown): e is TimeoutError {
  return hasCode(e, 'ERR_AGENTOBS_TIMEOUT');
}
/** True for a {@link CircuitOpenError} (works across duplicate installs). */
export function isCircuitOpenError(e: unknown): e is CircuitOpenError {
  return hasCode(e, 'ERR_AGENTOBS_CIRCUIT_OPEN');
}
/** True for a {@link CircuitCapacityError} (works across duplicate installs). */
export function isCircuitCapacityError(e: unknown): e is CircuitCapacityError {
  return hasCode(e, 'ERR_AGENTOBS_CIRCUIT_CAPACITY');
}
/** True for a {@link PoolRejectedError} (works across duplicate installs). */
export function isPoolRejectedError(e: unknown): e is PoolRejectedError {
  return hasCode(e, 'ERR_AGENTOBS_POOL_REJECTED');
}
/** True for a {@link TokenBudgetExceededError} (works across duplicate installs). */
export function isTokenBudgetExceededError(e: unknown): e is TokenBudgetExceededError {
  return hasCode(e, 'ERR_AGENTOBS_TOKEN_BUDGET_EXCEEDED');
}

/** Short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'function') return 'a function';
  return typeof value;
}
