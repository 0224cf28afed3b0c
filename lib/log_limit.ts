/**
 * A rate limit for log lines that one frame or datagram can cause ("Discovered remote MAC",
 * "Sending ICMP 3,4"): a peer, a container or a third party sending many distinct frames would
 * otherwise write one line per frame, and fill the disk and drown every other line.
 *
 * A token bucket: up to `burst` lines at once, then one per `intervalMs`. Lines beyond it are
 * counted, and the count is logged (`N similar lines suppressed`) with the next line let
 * through, so no timer is needed and nothing is lost silently.
 *
 * @module
 */
import type { Logger } from "./log.ts";

/** Options of {@link rateLimitedLogger}. */
export interface LogRateLimit {
  /** Lines let through at once (default 20). */
  burst?: number;
  /** One more line every this many ms once the burst is spent (default 100). */
  intervalMs?: number;
  /** Milliseconds; default `Date.now`. */
  now?: () => number;
}

/**
 * A logger that writes through `log` at most at the given rate; its `withPrefix` loggers share
 * the same bucket.
 *
 * @example
 * ```ts
 * import { memoryLogger } from "./log.ts";
 * import { rateLimitedLogger } from "./log_limit.ts";
 * const log = memoryLogger();
 * const limited = rateLimitedLogger(log, { burst: 2, now: () => 0 });
 * for (let i = 0; i < 5; i++) limited.info(`frame ${i}`);
 * log.lines.length; // 2
 * ```
 */
export function rateLimitedLogger(log: Logger, opts: LogRateLimit = {}): Logger {
  const burst = opts.burst ?? 20;
  const interval = opts.intervalMs ?? 100;
  const now = opts.now ?? Date.now;
  // Debug lines have a bucket of their own: most loggers drop them, and they must not use up
  // the tokens of the lines that are written.
  const buckets = [0, 1].map(() => ({ tokens: burst, at: now(), suppressed: 0 }));
  const allow = (target: Logger, bucket: typeof buckets[number]): boolean => {
    const t = now();
    const earned = Math.floor((t - bucket.at) / interval);
    if (earned > 0) {
      bucket.tokens = Math.min(burst, bucket.tokens + earned);
      bucket.at = bucket.tokens === burst ? t : bucket.at + earned * interval;
    }
    if (bucket.tokens === 0) {
      bucket.suppressed++;
      return false;
    }
    bucket.tokens--;
    if (bucket.suppressed > 0) {
      const say = bucket === buckets[0] ? target.debug : target.warn;
      say(`${bucket.suppressed} similar log lines suppressed (rate limit)`);
      bucket.suppressed = 0;
    }
    return true;
  };
  const wrap = (target: Logger): Logger => ({
    debug: (m) => allow(target, buckets[0]) && target.debug(m),
    info: (m) => allow(target, buckets[1]) && target.info(m),
    warn: (m) => allow(target, buckets[1]) && target.warn(m),
    error: (m) => allow(target, buckets[1]) && target.error(m),
    withPrefix: (p) => wrap(target.withPrefix(p)),
  });
  return wrap(log);
}
