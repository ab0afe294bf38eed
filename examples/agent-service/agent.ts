/**
 * The support agent: `plan` → `gather` (1-3 tool calls in parallel) → `synthesize`
 * (a drafting LLM call, then an optional review call) → `answer`.
 * Everything runs inside `obs.agent('support-agent')` and `obs.workflow('answer_question')`,
 * each step inside its workflow step handle, each tool call through an instrumented
 * function. Every model call goes through the service's LLM policy (timeout, retries,
 * circuit breaker, concurrency pool), each attempt through an instrumented function; when
 * the draft cannot be had, a fallback reply built from the sources is served.
 */
import { performance } from 'node:perf_hooks';
import {
  isCircuitCapacityError, isCircuitOpenError, isPoolRejectedError, openaiUsage, type CallContext, type Observability, type OperationHandle,
  type PolicyHandle, type TokenBudgetHandle,
} from 'agent-observability';
import type { Logger } from 'pino';
import { ToolsUnavailableError, errorCode, type ResponseHeaders } from './errors.js';
import type { ToolName } from './faults.js';
import { rngFor, type Rng } from './random.js';
import {
  MODELS, PROVIDER, type ChatChunk, type ChatCompletion, type ChatMessage, type ChatRequest, type ChatStream, type ChatUsage, type LlmContext,
  type ModelSpec, type SimulatedLlm,
} from './simulated-llm.js';
import type { StatsLedger } from './stats.js';
import {
  extractExpression, terms, type CalculatorArgs, type KbLookupArgs, type Source, type ToolResult, type Toolbox, type WebSearchArgs,
} from './tools.js';

export const AGENT_NAME = 'support-agent';
export const WORKFLOW_NAME = 'answer_question';
export const STEP_NAMES = ['plan', 'gather', 'synthesize', 'answer'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** One question for the agent. */
export interface TaskInput {
  readonly question: string;
  /**
   * Client-chosen task id. It keys the task's random stream, so the same seed and id
   * replay the same latencies and failures. @default `task-<n>`
   */
  readonly id?: string;
}

export interface ErrorReport {
  /** The error's code, as in the `error_type` label. */
  readonly type: string;
  readonly message: string;
}

export interface StepReport {
  readonly name: StepName;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly error?: ErrorReport;
}

export interface ToolCallReport {
  readonly tool: ToolName;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly error?: ErrorReport;
  readonly sources?: number;
}

/** One attempt that reached the provider (a call rejected by the policy is not one). */
export interface LlmCallReport {
  readonly model: string;
  readonly purpose: 'draft' | 'review';
  /** 1 for the first try, 2+ for retries. */
  readonly attempt: number;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly error?: ErrorReport;
  readonly usage?: ChatUsage;
}

/** One model call through the LLM policy, however many attempts it took. */
export interface ModelCallReport {
  readonly model: string;
  readonly purpose: 'draft' | 'review';
  /** Attempts that reached the provider (0 when the policy rejected the call at once). */
  readonly attempts: number;
  readonly outcome: 'ok' | 'fallback' | 'failed';
  /** The last failure, for `fallback` and `failed`. */
  readonly error?: ErrorReport;
  /** The policy refused the last attempt without running it (open circuit, full queue). */
  readonly rejected?: boolean;
}

/** What a task did, step by step; `POST /tasks` returns it as JSON. */
export interface TaskResult {
  readonly id: string;
  readonly status: 'succeeded' | 'failed';
  readonly question: string;
  readonly answer: string | null;
  readonly sources: readonly Source[];
  /** Succeeded, but some tool or the review failed, or the answer is the fallback reply. */
  readonly degraded: boolean;
  /** The model could not draft an answer, so the fallback reply (built from the sources) was served. */
  readonly fallback: boolean;
  readonly error: (ErrorReport & { readonly step: StepName }) | null;
  readonly plan: { readonly tools: readonly ToolName[]; readonly review: boolean } | null;
  readonly steps: readonly StepReport[];
  readonly toolCalls: readonly ToolCallReport[];
  readonly llmCalls: readonly LlmCallReport[];
  readonly modelCalls: readonly ModelCallReport[];
  /** Token usage summed over the successful LLM calls. */
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number };
  readonly durationMs: number;
}

export interface SupportAgentOptions {
  readonly obs: Observability;
  readonly llm: SimulatedLlm;
  readonly tools: Toolbox;
  readonly ledger: StatsLedger;
  /** Seed of the per-task random streams. */
  readonly seed: string;
  /** Protects every model call: per-attempt timeout, retries, circuit breaker, concurrency pool. */
  readonly llmPolicy: PolicyHandle;
  /** Fed with the token usage of every successful model call. */
  readonly tokenBudget?: TokenBudgetHandle | undefined;
  /** Structured logs; the service's pino logger carries the correlation and trace IDs on every line. */
  readonly log: Logger;
}

export interface SupportAgent {
  /** Runs one task to completion. Never rejects: failures are reported in the result. */
  runTask(input: TaskInput): Promise<TaskResult>;
}

type PlannedCall =
  | { readonly tool: 'web_search'; readonly args: WebSearchArgs }
  | { readonly tool: 'kb_lookup'; readonly args: KbLookupArgs }
  | { readonly tool: 'calculator'; readonly args: CalculatorArgs };

interface Plan {
  readonly calls: readonly PlannedCall[];
  readonly review: boolean;
}

/** Words that send a question to the support knowledge base. */
const SUPPORT_TERMS = new Set([
  'password', 'reset', 'refund', 'refunds', 'billing', 'invoice', 'plan', 'plans', 'pricing', 'price', 'tier', 'tiers',
  'subscription', 'cancel', 'account', 'shipping', 'order', 'api', 'key', 'keys', 'support', 'hours', 'sdk', 'sso',
]);
/** Words that call for fresh information from the web. */
const WEB_TERMS = new Set(['latest', 'news', 'status', 'rollout', 'release', 'releases', 'compare', 'opentelemetry', 'prometheus', 'node.js']);

const SYSTEM_PROMPT =
  'You are the support assistant of Example Inc. Answer the customer in two or three sentences, ' +
  'only from the numbered sources; say so when they do not contain the answer.';
const REVIEW_PROMPT =
  'You are a strict reviewer. Check the draft against the sources; return the corrected answer only.';

/** Decides which tools to call. Draws exactly two numbers, whatever the question. */
export function planTask(question: string, rng: Rng): Plan {
  const corroborate = rng.chance(0.3);
  const review = rng.chance(0.4);
  const words = terms(question);
  const calls: PlannedCall[] = [];
  const expression = extractExpression(question);
  if (expression !== undefined) calls.push({ tool: 'calculator', args: { expression } });
  if (words.some((w) => SUPPORT_TERMS.has(w))) calls.push({ tool: 'kb_lookup', args: { query: question } });
  if (calls.length === 0 || corroborate || words.some((w) => WEB_TERMS.has(w))) {
    calls.push({ tool: 'web_search', args: { query: words.join(' '), limit: 3 } });
  }
  // A question with several parts gets a second opinion.
  return { calls, review: review || calls.length > 2 };
}

function report(err: unknown): ErrorReport {
  return { type: errorCode(err), message: err instanceof Error ? err.message : String(err) };
}

/** The policy refused the call without running it. */
function isRejection(err: unknown): boolean {
  return isCircuitOpenError(err) || isPoolRejectedError(err) || isCircuitCapacityError(err);
}

/** HTTP status and response headers of a provider error, as SDK errors carry them. */
function responseOf(err: unknown): { status: number; headers: ResponseHeaders | undefined } | undefined {
  const e = err as { status?: unknown; headers?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.status !== 'number') return undefined;
  return { status: e.status, headers: typeof e.headers === 'object' && e.headers !== null ? (e.headers as ResponseHeaders) : undefined };
}

/** Served when no draft can be had: no model, just what the tools found (cited by the answer step). */
export function fallbackReply(question: string, facts: number): string {
  return facts === 0
    ? `Our assistant is unavailable right now and cannot answer "${question}". Please try again in a few minutes.`
    : `Our assistant is unavailable right now, so this is not a written answer to "${question}": the sources below should help.`;
}

type Draft = { readonly completion: ChatCompletion } | { readonly fallback: unknown };

/** Reads a streamed completion to its end: the deltas joined, the usage and finish reason of the last chunk. */
async function collect(stream: ChatStream): Promise<ChatCompletion> {
  let content = '';
  let last: ChatChunk | undefined;
  for await (const chunk of stream) {
    content += chunk.delta;
    last = chunk;
  }
  if (last === undefined || last.usage === null || last.finishReason === null) throw new TypeError('the stream ended without its final chunk');
  return { id: last.id, model: last.model, content, finishReason: last.finishReason, usage: last.usage, headers: stream.headers };
}

export function createSupportAgent(options: SupportAgentOptions): SupportAgent {
  const { obs, llm, ledger, seed, llmPolicy, tokenBudget, log } = options;

  // Bind every handle once, at start-up: per call they only touch pre-bound series.
  const agent = obs.agent(AGENT_NAME);
  const workflow = obs.workflow(WORKFLOW_NAME);
  const steps = Object.fromEntries(STEP_NAMES.map((s) => [s, workflow.step(s)])) as Record<StepName, OperationHandle>;
  const tools = {
    web_search: obs.instrumentTool(options.tools.web_search, { tool: 'web_search', agent: AGENT_NAME }),
    kb_lookup: obs.instrumentTool(options.tools.kb_lookup, { tool: 'kb_lookup', agent: AGENT_NAME }),
    calculator: obs.instrumentTool(options.tools.calculator, { tool: 'calculator', agent: AGENT_NAME }),
  };
  // The model is a label, so each model gets its own instrumented function.
  // What the ledger and the token budget count (the metrics read the same fields through openaiUsage).
  const usage = (r: ChatCompletion) => ({ input: r.usage.prompt_tokens, output: r.usage.completion_tokens });
  const chat = llm.complete.bind(llm);
  const complete = new Map(
    Object.values(MODELS).map((m) => [
      m.name,
      obs.instrumentLlmCall(chat, { model: m.name, provider: PROVIDER, operation: 'chat', agent: AGENT_NAME, usage: openaiUsage }),
    ]),
  );
  // Drafts stream, as chat UIs do: the wrapped call is recorded to its last chunk, with time to
  // first chunk, time per output chunk and the usage of the final chunk.
  const streamChat = llm.stream.bind(llm);
  const stream = new Map(
    Object.values(MODELS).map((m) => [
      m.name,
      // The provider's chunks are OpenAI-shaped, so the library's mapper reads them (and the details).
      obs.instrumentLlmCall(streamChat, { model: m.name, provider: PROVIDER, operation: 'chat', agent: AGENT_NAME, usage: openaiUsage }),
    ]),
  );

  let seq = 0;

  async function runTask(input: TaskInput): Promise<TaskResult> {
    const t0 = performance.now();
    const id = input.id ?? `task-${++seq}`;
    const question = input.question;
    const rng = rngFor(seed, id);
    const stepReports: StepReport[] = [];
    const toolCalls: ToolCallReport[] = [];
    const llmCalls: LlmCallReport[] = [];
    const modelCalls: ModelCallReport[] = [];
    let plan: Plan | undefined;
    let fallbackServed = false;
    let failedStep: StepName | undefined;
    let degraded = false;
    log.info({ task_id: id }, 'task started');

    async function inStep<R>(name: StepName, fn: () => R | Promise<R>): Promise<R> {
      const s0 = performance.now();
      try {
        const r = await steps[name].run(fn);
        ledger.record('steps', name);
        stepReports.push({ name, ok: true, durationMs: performance.now() - s0 });
        return r;
      } catch (e) {
        ledger.record('steps', name, errorCode(e));
        stepReports.push({ name, ok: false, durationMs: performance.now() - s0, error: report(e) });
        failedStep ??= name;
        throw e;
      }
    }

    // Reports keep the plan's order, whatever order the parallel calls finish in.
    async function callTool(call: PlannedCall, index: number): Promise<ToolResult> {
      const c0 = performance.now();
      const ctx = { rng, taskId: id };
      try {
        const r =
          call.tool === 'web_search' ? await tools.web_search(call.args, ctx)
          : call.tool === 'kb_lookup' ? await tools.kb_lookup(call.args, ctx)
          : await tools.calculator(call.args, ctx);
        ledger.record('tools', call.tool);
        toolCalls[index] = { tool: call.tool, ok: true, durationMs: performance.now() - c0, sources: r.sources.length };
        log.info({ task_id: id, tool: call.tool, sources: r.sources.length }, 'tool call succeeded');
        return r;
      } catch (e) {
        ledger.record('tools', call.tool, errorCode(e));
        log.warn({ task_id: id, tool: call.tool, error_type: errorCode(e) }, 'tool call failed');
        toolCalls[index] = { tool: call.tool, ok: false, durationMs: performance.now() - c0, error: report(e) };
        throw e;
      }
    }

    /** The streaming client of `model`, read to the end into one completion. */
    function streamed(model: ModelSpec['name']): ((request: ChatRequest, ctx: LlmContext) => Promise<ChatCompletion>) | undefined {
      const open = stream.get(model);
      return open === undefined ? undefined : async (request, ctx) => collect(await open(request, ctx));
    }

    /**
     * One model call through the LLM policy; each attempt is an instrumented call, recorded in
     * the ledger, the task report, the rate-limit gauges and the token budget. With
     * `fallback`, a call the policy gave up on resolves to `{ fallback: error }` instead of
     * rejecting. Returns only once every attempt has settled (a timed-out attempt is aborted
     * and ends just after), so the report and ledger are complete.
     */
    async function callModel(
      purpose: 'draft' | 'review', model: ModelSpec, messages: readonly ChatMessage[], maxTokens: number, fallback: boolean,
    ): Promise<Draft> {
      const fn = purpose === 'draft' ? streamed(model.name) : complete.get(model.name);
      if (fn === undefined) throw new TypeError(`no instrumented client for ${model.name}`);
      let attempts = 0;
      const settled: Promise<unknown>[] = [];
      const attempt = ({ signal, attempt: n }: CallContext): Promise<Draft> => {
        attempts++;
        const c0 = performance.now();
        const p = fn({ model: model.name, messages, maxTokens }, { rng, signal }).then(
          (r): Draft => {
            ledger.recordLlm(model.name, undefined, usage(r));
            obs.recordRateLimit(PROVIDER, model.name, r.headers, 200);
            tokenBudget?.record(usage(r));
            log.info({ task_id: id, model: model.name, purpose, attempt: n, tokens: r.usage.prompt_tokens + r.usage.completion_tokens }, 'llm call succeeded');
            llmCalls.push({ model: model.name, purpose, attempt: n, ok: true, durationMs: performance.now() - c0, usage: r.usage });
            return { completion: r };
          },
          (e: unknown): never => {
            ledger.recordLlm(model.name, errorCode(e));
            const res = responseOf(e);
            if (res !== undefined) obs.recordRateLimit(PROVIDER, model.name, res.headers, res.status);
            log.warn({ task_id: id, model: model.name, purpose, attempt: n, error_type: errorCode(e) }, 'llm call failed');
            llmCalls.push({ model: model.name, purpose, attempt: n, ok: false, durationMs: performance.now() - c0, error: report(e) });
            throw e;
          },
        );
        settled.push(p.catch(() => undefined));
        return p;
      };
      const done = (failure?: { error: unknown; fallback: boolean }): void => {
        if (failure === undefined) {
          ledger.recordModelCall(attempts);
          modelCalls.push({ model: model.name, purpose, attempts, outcome: 'ok' });
          return;
        }
        const rejected = isRejection(failure.error);
        ledger.recordModelCall(attempts, { code: errorCode(failure.error), rejected, fallback: failure.fallback });
        modelCalls.push({
          model: model.name, purpose, attempts, outcome: failure.fallback ? 'fallback' : 'failed', error: report(failure.error),
          ...(rejected ? { rejected } : {}),
        });
      };
      try {
        const r = await llmPolicy.execute(attempt, fallback ? { fallback: (error) => ({ fallback: error }) } : {});
        await Promise.all(settled);
        done('fallback' in r ? { error: r.fallback, fallback: true } : undefined);
        return r;
      } catch (e) {
        await Promise.all(settled);
        done({ error: e, fallback: false });
        throw e;
      }
    }

    const workflowRun = async (): Promise<{ answer: string; sources: Source[] }> => {
      plan = await inStep('plan', () => planTask(question, rng));
      const p = plan;

      const results = await inStep('gather', async () => {
        const settled = await Promise.allSettled(p.calls.map(callTool));
        const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        if (ok.length === 0) throw new ToolsUnavailableError(p.calls.map((c) => c.tool));
        if (ok.length < settled.length) degraded = true;
        return ok;
      });

      const text = await inStep('synthesize', async () => {
        const context = results.map((r) => r.content).filter((c) => c !== '').join('\n');
        const user = `Question: ${question}\n\nSources:\n${context === '' ? '(none)' : context}`;
        const draft = await callModel('draft', MODELS.large, [{ role: 'system', content: SYSTEM_PROMPT }, { role: 'user', content: user }], 400, true);
        if ('fallback' in draft) {
          // No model to write (or review) an answer: say so, and let the answer step cite the sources.
          fallbackServed = true;
          degraded = true;
          return fallbackReply(question, results.reduce((n, r) => n + r.sources.length, 0));
        }
        if (!p.review && !degraded) return draft.completion.content;
        try {
          // Review is best effort: on failure the draft stands.
          const reviewed = await callModel(
            'review', MODELS.small,
            [{ role: 'system', content: REVIEW_PROMPT }, { role: 'user', content: `${user}\n\nDraft:\n${draft.completion.content}` }],
            300, false,
          );
          return 'completion' in reviewed ? reviewed.completion.content : draft.completion.content;
        } catch {
          degraded = true;
          return draft.completion.content;
        }
      });

      return inStep('answer', () => {
        const sources = results.flatMap((r) => r.sources);
        const cited = sources.length === 0 ? '' : `\n\nSources:\n${sources.map((s, i) => `[${i + 1}] ${s.title} <${s.url}>`).join('\n')}`;
        const answer = text.length > 1500 ? `${text.slice(0, 1499)}…` : text;
        return { answer: `${answer}${cited}`, sources };
      });
    };

    let outcome: { answer: string; sources: Source[] } | undefined;
    let error: unknown;
    try {
      outcome = await agent.run(() => workflow.run(workflowRun));
      ledger.record('agent', AGENT_NAME);
      ledger.record('workflow', WORKFLOW_NAME);
    } catch (e) {
      error = e;
      ledger.record('agent', AGENT_NAME, errorCode(e));
      ledger.record('workflow', WORKFLOW_NAME, errorCode(e));
    }
    ledger.recordTask(outcome !== undefined);
    if (outcome === undefined) log.warn({ task_id: id, error_type: errorCode(error), step: failedStep }, 'task failed');
    else log.info({ task_id: id, degraded, ...(fallbackServed ? { fallback: true } : {}) }, 'task succeeded');

    const tokens = llmCalls.reduce(
      (u, c) => ({
        prompt_tokens: u.prompt_tokens + (c.usage?.prompt_tokens ?? 0),
        completion_tokens: u.completion_tokens + (c.usage?.completion_tokens ?? 0),
      }),
      { prompt_tokens: 0, completion_tokens: 0 },
    );
    const finalPlan = plan as Plan | undefined;
    return {
      id,
      status: outcome === undefined ? 'failed' : 'succeeded',
      question,
      answer: outcome?.answer ?? null,
      sources: outcome?.sources ?? [],
      degraded: outcome !== undefined && degraded,
      fallback: outcome !== undefined && fallbackServed,
      error: outcome === undefined ? { ...report(error), step: failedStep ?? 'plan' } : null,
      plan: finalPlan === undefined ? null : { tools: finalPlan.calls.map((c) => c.tool), review: finalPlan.review },
      steps: stepReports,
      toolCalls,
      llmCalls,
      modelCalls,
      usage: tokens,
      durationMs: performance.now() - t0,
    };
  }

  return { runTask };
}
