/**
 * The knobs of the simulated dependencies: latency, injected failure rates and forced
 * failure modes (outage, slowness, throttling) of the LLM provider, and those of each tool. Set at start-up (env / flags) and changeable while the
 * service runs (`POST /admin/faults`), so a test can push a running service into an
 * incident and back.
 */

/** The tools the agent can call. */
export const TOOL_NAMES = ['web_search', 'calculator', 'kb_lookup'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export function isToolName(s: string): s is ToolName {
  return (TOOL_NAMES as readonly string[]).includes(s);
}

/**
 * What the LLM provider does to every call, on top of `llmErrorRate`:
 * - `normal`: answers after its usual latency (and fails at `llmErrorRate`);
 * - `hard_fail`: an outage, every call fails fast with HTTP 503 (`provider_unavailable`);
 * - `slow`: every call takes `llmSlowMs`, beyond the service's LLM timeout;
 * - `throttle`: every call gets HTTP 429 (`rate_limited`) with `retry-after` and exhausted
 *   `x-ratelimit-remaining-*` headers.
 */
export const LLM_MODES = ['normal', 'hard_fail', 'slow', 'throttle'] as const;
export type LlmMode = (typeof LLM_MODES)[number];

export function isLlmMode(s: unknown): s is LlmMode {
  return (LLM_MODES as readonly unknown[]).includes(s);
}

/** Current fault settings. Rates are probabilities in [0, 1]; times are milliseconds. */
export interface Faults {
  /** Forced LLM failure mode; see {@link LLM_MODES}. */
  readonly llmMode: LlmMode;
  /** Latency of every LLM call in `slow` mode (set it above the LLM timeout to make calls time out). */
  readonly llmSlowMs: number;
  /** `retry-after` the provider sends with 429s in `throttle` mode. */
  readonly llmThrottleRetryAfterMs: number;
  /** Probability that one LLM call fails (rate limit, overload or timeout). */
  readonly llmErrorRate: number;
  /** Mean LLM call latency. */
  readonly llmLatencyMs: number;
  /** LLM latency is uniform in mean ± jitter (floored at 0). */
  readonly llmLatencyJitterMs: number;
  /** Probability that one tool call fails, for tools without their own rate. */
  readonly toolErrorRate: number;
  /** Per-tool failure probabilities; override `toolErrorRate`. */
  readonly toolErrorRates: Readonly<Partial<Record<ToolName, number>>>;
  /** Mean tool latency. */
  readonly toolLatencyMs: number;
  /** Tool latency is uniform in mean ± jitter (floored at 0). */
  readonly toolLatencyJitterMs: number;
  /** A tool call whose latency would exceed this fails with `ToolTimeoutError` after this long. */
  readonly toolTimeoutMs: number;
}

/**
 * A partial update, as accepted by `setFaults()` and `POST /admin/faults`.
 * `toolErrorRates` merges per tool; `null` removes a tool's override.
 */
export type FaultsPatch = { -readonly [K in Exclude<keyof Faults, 'toolErrorRates'>]?: Faults[K] } & {
  toolErrorRates?: Partial<Record<ToolName, number | null>>;
};

export const DEFAULT_FAULTS: Faults = Object.freeze({
  llmMode: 'normal',
  llmSlowMs: 30_000,
  llmThrottleRetryAfterMs: 1000,
  llmErrorRate: 0.02,
  llmLatencyMs: 600,
  llmLatencyJitterMs: 300,
  toolErrorRate: 0.05,
  toolErrorRates: Object.freeze({}),
  toolLatencyMs: 120,
  toolLatencyJitterMs: 80,
  toolTimeoutMs: 2000,
});

/** A bad fault setting; the message says which field and what was expected. */
export class FaultsValidationError extends Error {
  override readonly name = 'FaultsValidationError';
  readonly code = 'invalid_faults';
  constructor(
    readonly path: string,
    expected: string,
    actual: unknown,
  ) {
    super(`Expected \`${path}\` to be ${expected}, got ${JSON.stringify(actual) ?? String(actual)}`);
  }
}

const RATE_KEYS = ['llmErrorRate', 'toolErrorRate'] as const;
const MS_KEYS = [
  'llmSlowMs', 'llmThrottleRetryAfterMs', 'llmLatencyMs', 'llmLatencyJitterMs', 'toolLatencyMs', 'toolLatencyJitterMs', 'toolTimeoutMs',
] as const;
const KEYS = new Set<string>(['llmMode', ...RATE_KEYS, ...MS_KEYS, 'toolErrorRates']);
/** One hour: anything longer is a typo, not a latency. */
const MAX_MS = 3_600_000;

function rate(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) throw new FaultsValidationError(path, 'a number from 0 to 1', v);
  return v;
}

function ms(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_MS) {
    throw new FaultsValidationError(path, `a number of milliseconds from 0 to ${MAX_MS}`, v);
  }
  return v;
}

/**
 * Validates an untrusted patch (JSON from HTTP, or options from code) and returns the
 * merged settings. Unknown keys are rejected: a typo must not silently inject nothing.
 * `toolErrorRates` merges per tool; a `null` rate removes that tool's override.
 */
export function applyFaultsPatch(current: Faults, patch: unknown): Faults {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new FaultsValidationError('faults', 'an object', patch);
  const p = patch as Record<string, unknown>;
  for (const k of Object.keys(p)) {
    if (!KEYS.has(k)) throw new FaultsValidationError(k, `one of ${[...KEYS].join(', ')}`, k);
  }
  const next: { -readonly [K in keyof Faults]: Faults[K] } = { ...current };
  if (p.llmMode !== undefined) {
    if (!isLlmMode(p.llmMode)) throw new FaultsValidationError('llmMode', `one of ${LLM_MODES.join(', ')}`, p.llmMode);
    next.llmMode = p.llmMode;
  }
  for (const k of RATE_KEYS) if (p[k] !== undefined) next[k] = rate(p[k], k);
  for (const k of MS_KEYS) if (p[k] !== undefined) next[k] = ms(p[k], k);
  if (p.toolErrorRates !== undefined) {
    const r = p.toolErrorRates;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      throw new FaultsValidationError('toolErrorRates', 'an object of tool name to rate', r);
    }
    const merged: Partial<Record<ToolName, number>> = { ...current.toolErrorRates };
    for (const [tool, v] of Object.entries(r)) {
      if (!isToolName(tool)) throw new FaultsValidationError(`toolErrorRates.${tool}`, `a tool (${TOOL_NAMES.join(', ')})`, tool);
      if (v === null) delete merged[tool];
      else merged[tool] = rate(v, `toolErrorRates.${tool}`);
    }
    next.toolErrorRates = Object.freeze(merged);
  }
  return Object.freeze(next);
}

/** The failure probability of one tool under `faults`. */
export function toolErrorRate(faults: Faults, tool: ToolName): number {
  return faults.toolErrorRates[tool] ?? faults.toolErrorRate;
}
