/**
 * `error_type` is the error's code or class, never its message (messages carry IDs,
 * prompts and other unbounded text). Empty on success; `_OTHER` when nothing usable.
 * Our own run-time rejections carry a short `errorType` (`timeout`, `circuit_open`…)
 * that wins over their `ERR_AGENTOBS_*` code, so dashboards can match one stable value.
 */
import { ConfigError, isAgentObservabilityError } from '../errors.js';
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

/** The `error_type` values of our own rejections; an `errorTypes` allow-list always admits them. */
export const BUILTIN_ERROR_TYPES: readonly string[] = Object.freeze(['timeout', 'circuit_open', 'circuit_capacity', 'pool_rejected', 'token_budget_exceeded']);

/** Identity: no allow-list. */
const anyErrorType = (t: string): string => t;

/**
 * The `errorTypes` root option: a function that keeps a listed value (or one of ours, or the
 * empty success value) and turns any other into `_OTHER`. Without a list, the identity. Throws
 * {@link ConfigError} on a value that could never be an `error_type`.
 */
export function errorTypeFilter(list: unknown, path: string): (t: string) => string {
  if (list === undefined) return anyErrorType;
  if (!Array.isArray(list)) throw new ConfigError(path, 'an array of error_type values', list);
  const allowed = new Set<string>(BUILTIN_ERROR_TYPES);
  allowed.add('');
  allowed.add('_OTHER');
  for (let i = 0; i < list.length; i++) {
    const v: unknown = list[i];
    if (typeof v !== 'string' || !TOKEN.test(v)) throw new ConfigError(`${path}[${i}]`, 'an error_type value (a letter or _, then up to 63 of A-Z a-z 0-9 _ . : -)', v);
    allowed.add(v);
  }
  return (t) => (allowed.has(t) ? t : '_OTHER');
}
