/**
 * The failures a real agent service sees from its dependencies, with the stable `code`
 * a provider SDK or HTTP client would give them. The library turns `code` into the
 * `error_type` label, so these codes are what dashboards and alerts select on.
 */
import { isAgentObservabilityError } from 'agent-observability';

/** Base class: every service error has a stable, low-cardinality `code`. */
export abstract class ServiceError extends Error {
  abstract readonly code: string;
  /** Whether retrying the same call can succeed. */
  readonly retryable: boolean = false;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

// ── LLM provider ──────────────────────────────────────────────────────────────────────

/** Response headers of a failed provider call, as SDK errors expose them (`err.headers`). */
export type ResponseHeaders = Readonly<Record<string, string>>;

/**
 * HTTP 429 from the provider. Like an SDK's error it carries the `status` and the response
 * `headers` (`retry-after`, `retry-after-ms`, `x-ratelimit-*`), which the retry policy and
 * `obs.recordRateLimit` read.
 */
export class RateLimitError extends ServiceError {
  readonly code = 'rate_limited';
  readonly status = 429;
  override readonly retryable = true;
  constructor(
    readonly model: string,
    readonly retryAfterMs: number,
    readonly headers: ResponseHeaders = {},
  ) {
    super(`rate limit reached for ${model}; retry after ${retryAfterMs} ms`);
  }
}

/** HTTP 529: the provider is overloaded. */
export class ProviderOverloadedError extends ServiceError {
  readonly code = 'overloaded';
  readonly status = 529;
  override readonly retryable = true;
  constructor(
    readonly model: string,
    readonly headers: ResponseHeaders = {},
  ) {
    super(`${model} is overloaded, try again later`);
  }
}

/** HTTP 503: the provider is down (the `hard_fail` fault mode). */
export class ProviderUnavailableError extends ServiceError {
  readonly code = 'provider_unavailable';
  readonly status = 503;
  override readonly retryable = true;
  constructor(
    readonly model: string,
    readonly headers: ResponseHeaders = {},
  ) {
    super(`${model} is unavailable (HTTP 503)`);
  }
}

/** The provider did not answer within the request timeout. */
export class LlmTimeoutError extends ServiceError {
  readonly code = 'timeout';
  constructor(
    readonly model: string,
    readonly timeoutMs: number,
  ) {
    super(`${model} did not respond within ${timeoutMs} ms`);
  }
}

/** HTTP 400: the prompt does not fit the model's context window. Not retryable. */
export class ContextLengthError extends ServiceError {
  readonly code = 'context_length_exceeded';
  readonly status = 400;
  constructor(
    readonly model: string,
    readonly promptTokens: number,
    readonly contextWindow: number,
  ) {
    super(`prompt of ${promptTokens} tokens exceeds the ${contextWindow}-token context window of ${model}`);
  }
}

// ── Tools ─────────────────────────────────────────────────────────────────────────────

/** A tool did not finish within its timeout. */
export class ToolTimeoutError extends ServiceError {
  readonly code = 'timeout';
  override readonly retryable = true;
  constructor(
    readonly tool: string,
    readonly timeoutMs: number,
  ) {
    super(`tool ${tool} timed out after ${timeoutMs} ms`);
  }
}

/** A tool's upstream (search API, knowledge base) answered with a 5xx or refused the connection. */
export class UpstreamUnavailableError extends ServiceError {
  readonly code = 'upstream_unavailable';
  override readonly retryable = true;
  constructor(
    readonly tool: string,
    readonly status: number,
  ) {
    super(`upstream of ${tool} answered ${status}`);
  }
}

/** A tool's upstream throttled us. */
export class ToolRateLimitError extends ServiceError {
  readonly code = 'rate_limited';
  override readonly retryable = true;
  constructor(readonly tool: string) {
    super(`upstream of ${tool} is throttling requests`);
  }
}

/** The calculator could not evaluate the expression it was given. */
export class InvalidExpressionError extends ServiceError {
  readonly code = 'invalid_expression';
  constructor(
    readonly expression: string,
    reason: string,
  ) {
    super(`cannot evaluate ${JSON.stringify(expression)}: ${reason}`);
  }
}

/**
 * A tool served by a downstream service failed there: its code (`timeout`,
 * `upstream_unavailable`…) comes back in the JSON error body and is kept, so `error_type`
 * reads the same on both sides of the call.
 */
export class RemoteToolError extends ServiceError {
  readonly code: string;
  constructor(
    readonly tool: string,
    code: string,
    readonly status: number,
  ) {
    super(`${tool} failed downstream with ${code} (HTTP ${status})`);
    this.code = code;
  }
}

// ── Agent ─────────────────────────────────────────────────────────────────────────────

/** Every tool the plan called failed, so there is no grounding context to answer from. */
export class ToolsUnavailableError extends ServiceError {
  readonly code = 'tools_unavailable';
  constructor(readonly tools: readonly string[]) {
    super(`all planned tools failed: ${tools.join(', ')}`);
  }
}

/**
 * A stable error code for any thrown value: our codes; the library's `error_type` for its own
 * rejections (`timeout`, `circuit_open`, `pool_rejected`…), so the ledger reads like the
 * metrics; else the class name.
 */
export function errorCode(err: unknown): string {
  if (err instanceof ServiceError) return err.code;
  if (isAgentObservabilityError(err)) {
    const t = (err as { errorType?: unknown }).errorType;
    if (typeof t === 'string') return t;
  }
  if (err instanceof Error) return err.name;
  return 'unknown';
}
