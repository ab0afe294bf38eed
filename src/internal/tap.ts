/**
 * The seam between the recording hot path and the SLA windows: a recorder resolves the
 * taps that match its series once, when it is bound, and hands each observation over as
 * a bucket index. Lives in `internal/` so `instrument/` and `sla/` need not import each other.
 */

/** Receives every duration a recorder observes, as its bucket index. Must not throw. */
export interface ObservationTap {
  observe(bucket: number, error: boolean): void;
}
