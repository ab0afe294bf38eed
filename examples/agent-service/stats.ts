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

/** A snapshot of the ledger (plain JSON). */
export interface ServiceStats {
  readonly tasks: { readonly succeeded: number; readonly failed: number };
  readonly agent: Readonly<Record<string, OpStats>>;
  readonly workflow: Readonly<Record<string, OpStats>>;
  readonly steps: Readonly<Record<string, OpStats>>;
  readonly tools: Readonly<Record<string, OpStats>>;
  readonly llm: Readonly<Record<string, LlmStats>>;
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
    };
  }
}

function bump(s: OpStats, errorCode: string | undefined): void {
  s.calls++;
  if (errorCode !== undefined) s.errors[errorCode] = (s.errors[errorCode] ?? 0) + 1;
}
