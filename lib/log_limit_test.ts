import assert from "node:assert/strict";
import { memoryLogger } from "./log.ts";
import { rateLimitedLogger } from "./log_limit.ts";

Deno.test("rateLimitedLogger lets a burst through, then one line per interval", () => {
  const clock = { now: 0 };
  const log = memoryLogger();
  const limited = rateLimitedLogger(log, { burst: 3, intervalMs: 100, now: () => clock.now });
  for (let i = 0; i < 1000; i++) limited.info(`Discovered remote MAC ${i}`);
  assert.equal(log.lines.length, 3);
  const infoOnly = memoryLogger("info");
  const quiet = rateLimitedLogger(infoOnly, { burst: 3, now: () => clock.now });
  for (let i = 0; i < 10; i++) quiet.debug("dropped by the level anyway");
  quiet.info("debug lines used no token of the written ones");
  assert.equal(infoOnly.lines.length, 1);
  clock.now = 250; // two tokens earned
  limited.info("a");
  limited.info("b");
  limited.info("c");
  assert.deepEqual(log.lines.slice(3).map((l) => l.replace(/^\S+ \S+ \S+ /, "")), [
    "997 similar log lines suppressed (rate limit)",
    "a",
    "b",
  ]);
  clock.now = 10_000; // the bucket refills to the burst, not beyond
  for (let i = 0; i < 10; i++) limited.withPrefix("sleeve").info("x");
  assert.equal(log.lines.length, 6 + 1 + 3);
  assert.match(log.lines[6], /1 similar log lines suppressed/);
  assert.match(log.lines[7], / sleeve x$/);
});
