/**
 * Crash-safe file replacement for the router's state files: write a temporary
 * file beside the target, fsync it, rename it over the target, fsync the
 * directory. A crash at any moment leaves either the old or the new file, never
 * a half-written one.
 *
 * @module
 */

/** Replaces `path` with `text` atomically (mode 0600); creates the directory if needed. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || ".";
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch { /* directory fsync is best effort */ }
}
