/**
 * `error_type` is the error's code or class, never its message (messages carry IDs,
 * prompts and other unbounded text). Empty on success; `_OTHER` when nothing usable.
 * Our own run-time rejections carry a short `errorType` (`timeout`, `circuit_open`…)
 * that wins over their `ERR_AGENTOBS_*` code, so dashboards can match one stable value.
 */
import { isAgentObservabilityError } from '../errors.js';

const TOKEN = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
const GENERIC = new Set(['Error', 'Object', 'DOMException', 'Function']);

/** Default mapping from a thrown value to an `error_type` label value. */
export function defaultErrorType(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '_OTHER';
  const e = err as { code?: unknown; name?: unknown; constructor?: { name?: unknown }; errorType?: unknown };
  if (isAgentObservabilityError(err) && typeof e.errorType === 'string' && TOKEN.test(e.errorType)) return e.errorType;
  const code = e.code;
  if (typeof code === 'string' && TOKEN.test(code)) return code;
  const ctor = e.constructor?.name;
  if (typeof ctor === 'string' && !GENERIC.has(ctor) && TOKEN.test(ctor)) return ctor;
  const name = e.name;
  if (typeof name === 'string' && TOKEN.test(name)) return name;
  return '_OTHER';
}
