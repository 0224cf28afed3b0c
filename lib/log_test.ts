import assert from "node:assert/strict";
import { createLogger, formatLogLine, memoryLogger, parseLevel } from "./log.ts";

Deno.test("formatLogLine matches Weave's layout", () => {
  const when = new Date(Date.UTC(2026, 10, 23, 18, 44, 12, 5));
  assert.equal(
    formatLogLine("info", "Our name is x", when),
    "INFO: 2026/11/23 18:44:12.005000 Our name is x",
  );
  assert.equal(formatLogLine("warning", "w", when).slice(0, 5), "WARN:");
  assert.equal(formatLogLine("error", "e", when).slice(0, 5), "ERRO:");
});

Deno.test("createLogger filters by level and prefixes", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", write: (l) => lines.push(l) });
  log.debug("hidden");
  log.withPrefix("[allocator 01]").info("ready");
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^INFO: \S+ \S+ \[allocator 01\] ready$/);
});

Deno.test("memoryLogger keeps lines and parseLevel validates", () => {
  const log = memoryLogger();
  log.warn("x");
  assert.equal(log.lines.length, 1);
  assert.equal(parseLevel("warn"), "warning");
  assert.throws(() => parseLevel("loud"), RangeError);
});
