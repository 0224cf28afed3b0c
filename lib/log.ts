/**
 * Injected logging in Weave's line format:
 * `INFO: 2026/11/23 18:44:12.005682 message`. Components receive a {@link Logger}
 * in their options; nothing in library folders writes to the console itself.
 *
 * Messages carry text from outside (peer addresses, nick names, API input), so
 * every line is made printable before it is written ({@link escapeLogText}):
 * one entry is one line, and `grep` sees text, whatever a peer sent.
 *
 * @module
 */

/** Severity, in Weave's order. */
export type Level = "debug" | "info" | "warning" | "error";

const LEVEL_ORDER: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3 };
const LEVEL_TAG: Record<Level, string> = {
  debug: "DEBU",
  info: "INFO",
  warning: "WARN",
  error: "ERRO",
};

/** A logger: one method per level, each taking a finished message. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger whose messages start with `prefix` followed by a space. */
  withPrefix(prefix: string): Logger;
}

/** Parses a `--log-level` value. */
export function parseLevel(text: string): Level {
  const level = text === "warn" ? "warning" : text;
  if (level in LEVEL_ORDER) return level as Level;
  throw new RangeError(
    `Cannot parse log level "${text}": expected one of debug, info, warning, error`,
  );
}

/**
 * Formats a log line exactly as Weave does.
 *
 * @example
 * ```ts
 * import { formatLogLine } from "./log.ts";
 * formatLogLine("info", "hello", new Date(Date.UTC(2026, 10, 23, 18, 44, 12, 5)));
 * // "INFO: 2026/11/23 18:44:12.005000 hello"
 * ```
 */
export function formatLogLine(level: Level, message: string, when: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const date = `${when.getUTCFullYear()}/${p(when.getUTCMonth() + 1)}/${p(when.getUTCDate())}`;
  const time = `${p(when.getUTCHours())}:${p(when.getUTCMinutes())}:${p(when.getUTCSeconds())}`;
  return `${LEVEL_TAG[level]}: ${date} ${time}.${p(when.getUTCMilliseconds(), 3)}000 ${message}`;
}

// C0 controls but tab, DEL, C1 controls, line and paragraph separators, and lone
// surrogates (which would be written as U+FFFD and hide what was there).
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]|[\ud800-\udfff]/u;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, "gu");
const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r" };

/**
 * Makes a message printable on one line: control characters become `\xNN`
 * (`\n`, `\r`), separators and lone surrogates `\uNNNN`; everything else,
 * tab and non-ASCII letters included, is kept.
 *
 * @example
 * ```ts
 * import { escapeLogText } from "./log.ts";
 * escapeLogText("a\0b\nc"); // "a\\x00b\\nc"
 * ```
 */
export function escapeLogText(message: string): string {
  if (!UNPRINTABLE.test(message)) return message;
  return message.replace(UNPRINTABLE_ALL, (c) => {
    const short = SHORT_ESCAPES[c];
    if (short) return short;
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written; default `info`. */
  level?: Level;
  /** Where finished lines go; default: standard error. */
  write?: (line: string) => void;
  /** Clock; default `() => new Date()`. */
  now?: () => Date;
}

/** Makes a logger that writes Weave-format lines, escaped by {@link escapeLogText}. */
export function createLogger(options: LoggerOptions = {}, prefix = ""): Logger {
  const min = LEVEL_ORDER[options.level ?? "info"];
  const write = options.write ?? defaultWrite;
  const now = options.now ?? (() => new Date());
  const emit = (level: Level, message: string) => {
    if (LEVEL_ORDER[level] < min) return;
    write(formatLogLine(level, escapeLogText(prefix + message), now()));
  };
  return {
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warning", m),
    error: (m) => emit("error", m),
    withPrefix: (p) => createLogger(options, `${prefix}${p} `),
  };
}

const encoder = new TextEncoder();
function defaultWrite(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

/** A logger that drops everything (for tests). */
export const discardLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  withPrefix: () => discardLogger,
};

/** A logger that keeps lines in memory (for tests that assert on logs). */
export function memoryLogger(level: Level = "debug"): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ level, write: (l) => lines.push(l) });
  return Object.assign(logger, { lines });
}
