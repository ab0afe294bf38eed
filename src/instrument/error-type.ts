/**
 * `error_type` is the error's code or class, never its message (messages carry IDs,
 * prompts and other unbounded text). Empty on success; `_OTHER` when nothing usable.
 * Our own run-time rejections carry a short `errorType` (`timeout`, `circuit_open`…)
 * that wins over their `ERR_AGENTOBS_*` code, so dashboards can match one stable value.
 */
import { isAgentObservabilityError } from '../errors.js';
import { readField } from '../internal/read.js';

const TOKEN = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
const GENERIC = new Set(['Error', 'Object', 'DOMException', 'Function']);

/**
 * Default mapping from a thrown value to an `error_type` label value. Never throws: a field
 * whose read throws (a hostile getter, a Proxy trap, a revoked Proxy) counts as absent.
 */
export function defaultErrorType(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '_OTHER';
  const errorType = readField(err, 'errorType');
  if (isAgentObservabilityError(err) && typeof errorType === 'string' && TOKEN.test(errorType)) return errorType;
  const code = readField(err, 'code');
  if (typeof code === 'string' && TOKEN.test(code)) return code;
  const ctor = readField(readField(err, 'constructor'), 'name');
  if (typeof ctor === 'string' && !GENERIC.has(ctor) && TOKEN.test(ctor)) return ctor;
  const name = readField(err, 'name');
  if (typeof name === 'string' && TOKEN.test(name)) return name;
  return '_OTHER';
}
