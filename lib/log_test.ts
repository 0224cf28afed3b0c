import assert from "node:assert/strict";
import { createLogger, escapeLogText, formatLogLine, memoryLogger, parseLevel } from "./log.ts";

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

Deno.test("escapeLogText makes outside text printable on one line, keeping letters and tabs", () => {
  assert.equal(
    escapeLogText("plain ->[192.0.2.2:6783] é ü\t日本"),
    "plain ->[192.0.2.2:6783] é ü\t日本",
  );
  assert.equal(escapeLogText("a\0b\x1b[31mc\x7f\x85"), "a\\x00b\\x1b[31mc\\x7f\\x85");
  assert.equal(escapeLogText("x\nINFO: forged\r"), "x\\nINFO: forged\\r");
  assert.equal(escapeLogText("\u2028\ud800 \u{1f600}"), "\\u2028\\ud800 \u{1f600}");
});

Deno.test("createLogger escapes every message: one entry is one line of text", () => {
  const log = memoryLogger();
  log.withPrefix("->[\0\xff:6783]").info("attempting connection\nERRO: forged");
  assert.equal(log.lines.length, 1);
  assert.match(
    log.lines[0],
    /^INFO: \S+ \S+ ->\[\\x00\xff:6783\] attempting connection\\nERRO: forged$/,
  );
  const bytes = new TextEncoder().encode(log.lines.join("\n"));
  assert.ok(bytes.every((b) => b >= 0x20 || b === 0x09 || b === 0x0a), "no control bytes");
});
