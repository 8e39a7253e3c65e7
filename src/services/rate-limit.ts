/**
 * A token bucket per key: `perMinute` calls in a burst, refilled evenly over the minute.
 * Kept in memory (one process serves the API); the keys are API token ids, so the map
 * holds at most one entry per token in use.
 */
export class RateLimiter {
  private buckets = new Map<number, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number) {}

  /** Takes one call for the key: 0 when allowed, otherwise the seconds to wait. */
  take(key: number, nowMs: number): number {
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: nowMs };
    const refilled = Math.min(this.perMinute, bucket.tokens + ((nowMs - bucket.at) * this.perMinute) / 60_000);
    if (refilled < 1) {
      this.buckets.set(key, { tokens: refilled, at: nowMs });
      return Math.max(1, Math.ceil(((1 - refilled) * 60_000) / this.perMinute / 1000));
    }
    this.buckets.set(key, { tokens: refilled - 1, at: nowMs });
    return 0;
  }
}
