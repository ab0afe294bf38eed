/**
 * Reads one property of a value a user handed us (a thrown error, a response, headers).
 * Never throws: a getter or Proxy trap that throws, or a revoked Proxy, reads as absent.
 */
export function readField(o: unknown, key: PropertyKey): unknown {
  if ((typeof o !== 'object' && typeof o !== 'function') || o === null) return undefined;
  try {
    return (o as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}
