/**
 * Host helpers for the benchmarks: a port free on every loopback address,
 * process memory from `/proc`, the open-file limit, line-wise reading of a
 * byte stream and writing text to stdout without `console`.
 *
 * @module
 */

export { freePortOnAll, loopbackHosts } from "../tests/harness/loopback.ts";

/** `VmRSS` and `VmHWM` (peak) of a process, in bytes; undefined when it is gone. */
export function procMemory(pid: number | "self"): { rss: number; hwm: number } | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1]);
  return { rss: kib("VmRSS") * 1024, hwm: kib("VmHWM") * 1024 };
}

/** The soft limit on open files of this process. */
export function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(Deno.readTextFileSync("/proc/self/limits"));
  return !m || m[1] === "unlimited" ? Infinity : Number(m[1]);
}

/** Splits a byte stream into lines (without the newline). */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
    }
  }
  buffered += decoder.decode();
  if (buffered !== "") yield buffered;
}

/** Writes `text` to stdout, all of it. */
export function writeOut(text: string): void {
  const bytes = new TextEncoder().encode(text);
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/** Writes `text` to stderr, all of it. */
export function writeErr(text: string): void {
  const bytes = new TextEncoder().encode(text);
  for (let off = 0; off < bytes.length;) off += Deno.stderr.writeSync(bytes.subarray(off));
}
