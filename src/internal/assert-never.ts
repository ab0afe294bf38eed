/** Exhaustiveness check: a new union member fails the build here, not at run time. */
export function assertNever(value: never): never {
  throw new TypeError(`unexpected value: ${String(value)}`);
}
