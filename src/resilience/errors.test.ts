import { describe, expect, it } from 'vitest';
import {
  CircuitCapacityError, CircuitOpenError, PoolRejectedError, TimeoutError, TokenBudgetExceededError, isAgentObservabilityError,
  isCircuitCapacityError, isCircuitOpenError, isConfigError, isPoolRejectedError, isTimeoutError, isTokenBudgetExceededError,
} from '../errors.js';
import { defaultErrorType } from '../instrument/error-type.js';

describe('run-time rejection errors', () => {
  it.each([
    [new TimeoutError(50), 'ERR_AGENTOBS_TIMEOUT', 'timeout', isTimeoutError],
    [new CircuitOpenError('llm'), 'ERR_AGENTOBS_CIRCUIT_OPEN', 'circuit_open', isCircuitOpenError],
    [new CircuitCapacityError('llm'), 'ERR_AGENTOBS_CIRCUIT_CAPACITY', 'circuit_capacity', isCircuitCapacityError],
    [new PoolRejectedError('p', 'queue_full'), 'ERR_AGENTOBS_POOL_REJECTED', 'pool_rejected', isPoolRejectedError],
    [new TokenBudgetExceededError('b'), 'ERR_AGENTOBS_TOKEN_BUDGET_EXCEEDED', 'token_budget_exceeded', isTokenBudgetExceededError],
  ] as const)('%s has a stable code, a short error_type, and only its own guard', (err, code, errorType, guard) => {
    expect(err.code).toBe(code);
    expect(err.errorType).toBe(errorType);
    expect(defaultErrorType(err)).toBe(errorType);
    expect(guard(err)).toBe(true);
    expect(isAgentObservabilityError(err)).toBe(true);
    expect(isConfigError(err)).toBe(false);
    const others = [isTimeoutError, isCircuitOpenError, isCircuitCapacityError, isPoolRejectedError, isTokenBudgetExceededError].filter((g) => g !== guard);
    for (const g of others) expect(g(err)).toBe(false);
  });

  it('guards work across duplicate installs (brand + code), and are not fooled by look-alikes', () => {
    const foreign = { code: 'ERR_AGENTOBS_TIMEOUT', errorType: 'timeout', [Symbol.for('agent-observability.error')]: true };
    expect(isTimeoutError(foreign)).toBe(true);
    expect(defaultErrorType(foreign)).toBe('timeout');
    const lookalike = Object.assign(new Error('x'), { code: 'ERR_AGENTOBS_TIMEOUT', errorType: 'timeout' });
    expect(isTimeoutError(lookalike)).toBe(false);
    expect(defaultErrorType(lookalike)).toBe('ERR_AGENTOBS_TIMEOUT');
  });

  it('say what happened without echoing user data', () => {
    expect(new PoolRejectedError('llm', 'timeout').message).toBe('pool "llm" rejected the call: queue wait timed out');
    expect(new TimeoutError(20_000).message).toBe('operation timed out after 20000 ms');
  });
});
