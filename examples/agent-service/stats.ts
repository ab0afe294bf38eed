/**
 * The service's own ledger of what it did: calls and failures per agent, workflow, step,
 * tool and model, and the tokens the provider reported. It is kept apart from the
 * metrics on purpose: it is the ground truth tests compare the scraped metrics with.
 */

/** Calls of one operation; `errors` counts failed calls by error code (a subset of `calls`). */
export interface OpStats {
  calls: number;
  errors: Record<string, number>;
}

/** LLM calls also sum the token usage of successful calls. */
export interface LlmStats extends OpStats {
  inputTokens: number;
  outputTokens: number;
}

/**
 * Model calls through the LLM policy (timeout, retries, breaker, pool). One call is one draft
 * or review, however many attempts it took; each attempt that reached the provider is one
 * LLM call in `llm` (and one `gen_ai_client_operation_duration_seconds` observation).
 */
export interface LlmPolicyStats {
  calls: number;
  /** Attempts that reached the provider, retries included. */
  attempts: number;
  succeeded: number;
  /** Calls that failed after the policy gave up, by the error code of the last failure (rejections included). */
  failures: Record<string, number>;
  /** Of the failed calls, those rejected without reaching the provider (`circuit_open`, `pool_rejected`…). */
  rejections: Record<string, number>;
  /** Of the failed calls, those answered with the fallback reply. */
  fallbacks: number;
}

/** A snapshot of the ledger (plain JSON). */
export interface ServiceStats {
  readonly tasks: { readonly succeeded: number; readonly failed: number };
  readonly agent: Readonly<Record<string, OpStats>>;
  readonly workflow: Readonly<Record<string, OpStats>>;
  readonly steps: Readonly<Record<string, OpStats>>;
  readonly tools: Readonly<Record<string, OpStats>>;
  readonly llm: Readonly<Record<string, LlmStats>>;
  readonly llmPolicy: Readonly<LlmPolicyStats>;
}

type Section = 'agent' | 'workflow' | 'steps' | 'tools';

export class StatsLedger {
  private succeeded = 0;
  private failed = 0;
  private readonly sections: Record<Section, Map<string, OpStats>> = {
    agent: new Map(),
    workflow: new Map(),
    steps: new Map(),
    tools: new Map(),
  };
  private readonly llm = new Map<string, LlmStats>();
  private readonly policy: LlmPolicyStats = { calls: 0, attempts: 0, succeeded: 0, failures: {}, rejections: {}, fallbacks: 0 };

  /** Records one call of `name` in `section`; `errorCode` undefined means success. */
  record(section: Section, name: string, errorCode?: string): void {
    const m = this.sections[section];
    let s = m.get(name);
    if (s === undefined) {
      s = { calls: 0, errors: {} };
      m.set(name, s);
    }
    bump(s, errorCode);
  }

  /** Records one LLM call; usage only for successful ones. */
  recordLlm(model: string, errorCode?: string, usage?: { readonly input: number; readonly output: number }): void {
    let s = this.llm.get(model);
    if (s === undefined) {
      s = { calls: 0, errors: {}, inputTokens: 0, outputTokens: 0 };
      this.llm.set(model, s);
    }
    bump(s, errorCode);
    if (usage !== undefined) {
      s.inputTokens += usage.input;
      s.outputTokens += usage.output;
    }
  }

  /**
   * Records one model call through the LLM policy: its attempts that reached the provider and,
   * when it failed, the last error's code, whether the policy rejected it without running it,
   * and whether the fallback reply was served.
   */
  recordModelCall(attempts: number, failure?: { readonly code: string; readonly rejected: boolean; readonly fallback: boolean }): void {
    const p = this.policy;
    p.calls++;
    p.attempts += attempts;
    if (failure === undefined) {
      p.succeeded++;
      return;
    }
    p.failures[failure.code] = (p.failures[failure.code] ?? 0) + 1;
    if (failure.rejected) p.rejections[failure.code] = (p.rejections[failure.code] ?? 0) + 1;
    if (failure.fallback) p.fallbacks++;
  }

  recordTask(succeeded: boolean): void {
    if (succeeded) this.succeeded++;
    else this.failed++;
  }

  snapshot(): ServiceStats {
    const copy = <T extends OpStats>(m: Map<string, T>): Record<string, T> =>
      Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, { ...v, errors: { ...v.errors } }]));
    return {
      tasks: { succeeded: this.succeeded, failed: this.failed },
      agent: copy(this.sections.agent),
      workflow: copy(this.sections.workflow),
      steps: copy(this.sections.steps),
      tools: copy(this.sections.tools),
      llm: copy(this.llm),
      llmPolicy: { ...this.policy, failures: sortKeys(this.policy.failures), rejections: sortKeys(this.policy.rejections) },
    };
  }
}

function bump(s: OpStats, errorCode: string | undefined): void {
  s.calls++;
  if (errorCode !== undefined) s.errors[errorCode] = (s.errors[errorCode] ?? 0) + 1;
}

function sortKeys(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
}
