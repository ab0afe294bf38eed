/**
 * Typed errors. Configuration mistakes throw at start-up; nothing on the run-time path
 * throws into user code (those failures are counted in `agentobs_internal_errors_total`).
 *
 * Each error carries a stable `code` and a brand keyed by `Symbol.for`, so the `isX`
 * guards work even when two copies of this package are installed side by side.
 */

const BRAND = Symbol.for('agent-observability.error');

/** Stable error codes. */
export type AgentObservabilityErrorCode = 'ERR_AGENTOBS_CONFIG';

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

/** True for any error thrown by this package (works across duplicate installs). */
export function isAgentObservabilityError(e: unknown): e is AgentObservabilityError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** True for a {@link ConfigError} (works across duplicate installs). */
export function isConfigError(e: unknown): e is ConfigError {
  return isAgentObservabilityError(e) && e.code === 'ERR_AGENTOBS_CONFIG';
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
