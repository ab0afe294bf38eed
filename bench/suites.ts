/**
 * Every suite by id, in run and report order. Each runs in a process of its own
 * (bench/worker.ts), so no suite inherits another's JIT state, garbage or
 * AsyncLocalStorage instances: on Node 20 every promise pays for each AsyncLocalStorage
 * in use, so a suite's numbers only mean something next to cases measured in the same state.
 */
import { autometricsSuite } from './cases/autometrics.js';
import { breakerSuite } from './cases/breaker.js';
import { compositeSuite } from './cases/composite.js';
import { correlationSuite } from './cases/correlation.js';
import { redSuite } from './cases/red.js';
import { slaSuite } from './cases/sla.js';
import type { RunConfig, Suite } from './harness.js';

export const CALL_SUITES: Readonly<Record<string, (cfg: RunConfig) => Suite | Promise<Suite>>> = {
  red: redSuite,
  breaker: breakerSuite,
  sla: slaSuite,
  correlation: correlationSuite,
  autometrics: autometricsSuite,
  composite: compositeSuite,
};

/** Per-call suites, then the scrape suites (in-process serializer, then over HTTP) and the soak (their own runners). */
export const SUITE_IDS: readonly string[] = [...Object.keys(CALL_SUITES), 'exposition', 'scrape-http', 'soak'];
