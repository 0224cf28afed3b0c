/**
 * Test support: loads Weave Net 2.8.1's captured outputs from
 * `testdata/samples` (see its README) as typed values.
 *
 * @module
 */
import type { WeaveReport } from "./report.ts";

/** Folder holding the captured samples. */
export const SAMPLES_DIR = new URL("../testdata/samples", import.meta.url).pathname;

/** The sample scenarios with their hosts. */
export const SAMPLE_HOSTS: readonly (readonly [string, string])[] = [
  ["plain", "h1"],
  ["plain", "h2"],
  ["enc", "h1"],
  ["enc", "h2"],
  ["3host", "h1"],
  ["3host", "h2"],
  ["3host", "h3"],
];

/** Reads one sample file as text. */
export function readSample(scenario: string, file: string): string {
  return Deno.readTextFileSync(`${SAMPLES_DIR}/${scenario}/${file}`);
}

/**
 * Parses report JSON text, turning the 64-bit peer fields (`UID`, peer
 * `Version`) into exact bigints from their source digits.
 */
export function parseReport(text: string): WeaveReport {
  return JSON.parse(text, function (this: unknown, key, value, context?: { source?: string }) {
    if (typeof value !== "number" || context?.source === undefined) return value;
    const holder = this as Record<string, unknown>;
    const isPeer = "ShortID" in holder && "Connections" in holder;
    if (key === "UID" || (key === "Version" && isPeer)) return BigInt(context.source);
    return value;
  }) as WeaveReport;
}

/** Loads `<scenario>/<host>-report.json`. */
export function loadReport(scenario: string, host: string): WeaveReport {
  return parseReport(readSample(scenario, `${host}-report.json`));
}
