/** Public surface of the resilience capability (listed by name; the root `index.ts` re-exports it). */
export type { ResilienceApi } from './resilience.js';
export type {
  BreakerInfo, BreakerOutcome, BreakerState, CircuitBreakerHandle, CircuitBreakerOptions, OpossumOptions,
} from './breaker/breaker.js';
export { BREAKER_STATES } from './breaker/breaker.js';
export type { PoolHandle, PoolOptions, PoolRunOptions } from './pool/pool.js';
export type { RetryEvent, RetryOptions } from './retry/retry.js';
export { defaultRetryable } from './retry/retry.js';
export type { TimeoutOptions } from './timeout/timeout.js';
export type { PolicyBreaker, PolicyExecuteOptions, PolicyHandle, PolicyOptions, PolicyWrapOptions } from './policy/policy.js';
export type { HeadersLike } from './http.js';
export { retryAfterMs } from './http.js';
export type { RateLimitKind } from './rate-limit/headers.js';
export { RATE_LIMIT_HEADERS } from './rate-limit/headers.js';
export type { BudgetTokenType, TokenBudgetHandle, TokenBudgetOptions } from './token-budget/token-budget.js';
export type { CallContext, Guarded, Timers } from './shared.js';
