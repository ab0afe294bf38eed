/**
 * A small open-loop load generator: submits tasks at a steady rate, whatever the service's
 * latency (as real traffic does), with a bound on tasks in flight so an incident cannot
 * pile up unbounded work. Submissions beyond the bound are dropped and counted.
 */
import type { TaskInput } from './agent.js';
import type { Rng } from './random.js';

/** Questions real customers ask a support agent; they exercise every tool. */
export const QUESTIONS: readonly string[] = [
  'How do I reset my password?',
  'What is your refund policy for annual plans?',
  'What is 15% of 2400?',
  'How much is (1200 - 350) * 1.2 in total?',
  'What are the latest Node.js LTS releases?',
  'Compare the Pro and Team pricing tiers, and what is 49 * 12?',
  'Does the API support streaming responses?',
  'What is the status of the EU data residency rollout?',
  'How long does shipping to Canada take?',
  'What is OpenTelemetry and how does it relate to Prometheus?',
  'Can I cancel my subscription and keep the unused days as credit? What is 29 * 7 / 30?',
  'How do I rotate an API key without downtime?',
  'What are your support hours?',
  'Which SDK versions support streaming?',
];

/** How one submission ended. `failed` is a task that ran and failed; transport errors reject. */
export type SubmitOutcome = 'succeeded' | 'failed';

export interface LoadOptions {
  /** Tasks per second; must be > 0 (a rate of 0 means: do not start a generator). */
  readonly rps: number;
  /** Runs or sends one task. */
  readonly submit: (task: TaskInput) => Promise<SubmitOutcome>;
  /** Tasks in flight before new ones are dropped. @default 64 */
  readonly maxInFlight?: number;
  /** Chooses questions. */
  readonly rng: Rng;
  readonly questions?: readonly string[];
  /** Prefix of task ids (`<prefix>-<n>`). @default 'load' */
  readonly idPrefix?: string;
  /** Called once per transport error kind. */
  readonly onError?: (err: unknown) => void;
}

export interface LoadStats {
  readonly submitted: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Submissions that rejected (connection refused, server gone…). */
  readonly errors: number;
  /** Not sent because `maxInFlight` tasks were already running. */
  readonly dropped: number;
  readonly inFlight: number;
}

export interface LoadGenerator {
  readonly rps: number;
  stats(): LoadStats;
  /** Stops submitting and waits for the tasks in flight. Idempotent. */
  stop(): Promise<void>;
}

/** Timer period; each tick sends what is due, so rates above 1000/s work too. */
const TICK_MS = 50;

export function startLoad(options: LoadOptions): LoadGenerator {
  const { rps, submit, rng } = options;
  if (!(rps > 0) || !Number.isFinite(rps)) throw new RangeError(`Expected \`rps\` to be a finite number > 0, got ${rps}`);
  const maxInFlight = options.maxInFlight ?? 64;
  const questions = options.questions ?? QUESTIONS;
  const prefix = options.idPrefix ?? 'load';
  const inFlight = new Set<Promise<void>>();
  const reported = new Set<string>();
  let submitted = 0;
  let succeeded = 0;
  let failed = 0;
  let errors = 0;
  let dropped = 0;
  let due = 0;
  let stopped: Promise<void> | undefined;

  const send = (): void => {
    if (inFlight.size >= maxInFlight) {
      dropped++;
      return;
    }
    const n = ++submitted;
    const p = submit({ id: `${prefix}-${n}`, question: rng.pick(questions) }).then(
      (outcome) => {
        if (outcome === 'succeeded') succeeded++;
        else failed++;
      },
      (e: unknown) => {
        errors++;
        const kind = e instanceof Error ? e.name : typeof e;
        if (!reported.has(kind)) {
          reported.add(kind);
          options.onError?.(e);
        }
      },
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    // Carry fractions between ticks; after a long stall send at most one second's worth.
    due = Math.min(due + ((now - last) * rps) / 1000, Math.max(1, rps));
    last = now;
    while (due >= 1) {
      due -= 1;
      send();
    }
  }, Math.min(TICK_MS, Math.max(1, 1000 / rps)));
  // The generator never keeps the process alive on its own.
  timer.unref();

  return {
    rps,
    stats: () => ({ submitted, succeeded, failed, errors, dropped, inFlight: inFlight.size }),
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        await Promise.allSettled([...inFlight]);
      })()),
  };
}
