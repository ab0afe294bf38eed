import { describe, expect, it } from 'vitest';
import { AgentObservabilityError, ConfigError, describe as describeValue, isAgentObservabilityError, isConfigError } from './errors.js';

describe('ConfigError', () => {
  it('carries a stable code, the path, and says what was expected and what arrived', () => {
    const e = new ConfigError('cardinality.maxValuesPerLabel', 'a positive integer', 0);
    expect(e).toBeInstanceOf(AgentObservabilityError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ConfigError');
    expect(e.code).toBe('ERR_AGENTOBS_CONFIG');
    expect(e.path).toBe('cardinality.maxValuesPerLabel');
    expect(e.message).toBe('cardinality.maxValuesPerLabel: expected a positive integer, got 0');
    expect(isConfigError(e)).toBe(true);
    expect(isAgentObservabilityError(e)).toBe(true);
  });

  it('is recognised across duplicate installs by its Symbol.for brand, not by class identity', () => {
    // What a ConfigError from another copy of the package looks like to this copy.
    class ForeignConfigError extends Error {
      readonly code = 'ERR_AGENTOBS_CONFIG';
      constructor(message: string) {
        super(message);
        Object.defineProperty(this, Symbol.for('agent-observability.error'), { value: true });
      }
    }
    const foreign = new ForeignConfigError('x: expected y, got z');
    expect(foreign).not.toBeInstanceOf(ConfigError);
    expect(isConfigError(foreign)).toBe(true);
    expect(isAgentObservabilityError(foreign)).toBe(true);
    const plain = { code: 'ERR_AGENTOBS_CONFIG', [Symbol.for('agent-observability.error')]: true };
    expect(isConfigError(plain)).toBe(true);
  });

  it('is not fooled by look-alikes without the brand, or with a different code', () => {
    expect(isConfigError(Object.assign(new Error('x'), { code: 'ERR_AGENTOBS_CONFIG' }))).toBe(false);
    expect(isConfigError({ [Symbol('agent-observability.error')]: true, code: 'ERR_AGENTOBS_CONFIG' })).toBe(false);
    expect(isConfigError({ [Symbol.for('agent-observability.error')]: 'yes', code: 'ERR_AGENTOBS_CONFIG' })).toBe(false);
    expect(isConfigError({ [Symbol.for('agent-observability.error')]: true, code: 'ERR_OTHER' })).toBe(false);
    for (const v of [null, undefined, 'ConfigError', 42, () => 1]) expect(isConfigError(v)).toBe(false);
  });
});

describe('describe (bad value rendering)', () => {
  it('shows primitives and summarises everything else without echoing contents', () => {
    expect(describeValue('abc')).toBe('"abc"');
    expect(describeValue('x'.repeat(100))).toBe(JSON.stringify(`${'x'.repeat(60)}…`));
    expect(describeValue(1.5)).toBe('1.5');
    expect(describeValue(NaN)).toBe('NaN');
    expect(describeValue(10n)).toBe('10');
    expect(describeValue(false)).toBe('false');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(null)).toBe('null');
    expect(describeValue([1, 2, 3])).toBe('array(3)');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue({ secret: 'token' })).toBe('object');
    expect(describeValue(Symbol('s'))).toBe('symbol');
  });
});
