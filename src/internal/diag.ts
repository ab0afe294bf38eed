/**
 * The "never throw from telemetry" channel: our own failures are counted in
 * `agentobs_internal_errors_total{component}` and logged (once per component and error
 * class, so a broken exporter cannot flood the logs), and the user's call goes on.
 */
import { defaultErrorType } from '../instrument/error-type.js';
import type { CounterFamily, CounterSeries } from '../metrics/store.js';

/** Minimal logger: pino, bunyan and console-like objects all fit. */
export interface DiagLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

/** A logger that writes one JSON line to stderr. */
export const stderrLogger: DiagLogger = {
  warn(details, message) {
    process.stderr.write(`${JSON.stringify({ level: 'warn', name: 'agent-observability', msg: message, ...details })}\n`);
  },
};

export class Diag {
  private readonly series = new Map<string, CounterSeries>();
  private readonly logged = new Set<string>();

  constructor(
    private readonly family: CounterFamily,
    private readonly logger: DiagLogger | undefined,
    /** The `errorTypes` allow-list: a code it does not admit is logged as `_OTHER`. */
    private readonly filter: (errorType: string) => string = (t) => t,
  ) {}

  /** Counts and (once per component and error class) logs an internal failure. Never throws. */
  error(component: string, err: unknown): void {
    try {
      let s = this.series.get(component);
      if (s === undefined) {
        s = this.family.child([component]);
        this.series.set(component, s);
      }
      s.inc();
      // The error's type (code or class) only: its message may come from a user's callback and
      // carry prompts, IDs or secrets, which have no place in a log line of ours.
      const kind = typeof err === 'object' && err !== null ? this.filter(defaultErrorType(err)) : typeof err;
      const key = `${component}\u0000${kind}`;
      if (this.logger !== undefined && !this.logged.has(key) && this.logged.size < 1000) {
        this.logged.add(key);
        this.logger.warn(
          { component, error_type: kind },
          `agent-observability: internal error in ${component} (counted in agentobs_internal_errors_total; further ones of this kind are not logged)`,
        );
      }
    } catch {
      // The last line of defence: a broken logger must not reach user code either.
    }
  }

  /** Logs a run-time warning once per key (e.g. a replaced, hostile header), never echoing the value. */
  warnOnce(key: string, details: Record<string, unknown>, message: string): void {
    try {
      if (this.logger === undefined || this.logged.has(key) || this.logged.size >= 1000) return;
      this.logged.add(key);
      this.logger.warn(details, message);
    } catch {
      // see error()
    }
  }
}
