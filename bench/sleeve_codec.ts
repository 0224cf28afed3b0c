/**
 * Sleeve codec throughput: frames per second through encode (aggregation into a datagram) +
 * encrypt + decrypt + decode, with libsodium (FFI) and with tweetnacl (pure JS), and the
 * unencrypted codec alone as the baseline, all measured in the same run. Not a test.
 *
 * ```sh
 * deno run -A bench/sleeve_codec.ts [--seconds 1.5]
 * ```
 *
 * For each frame size, frames are packed into datagrams the way a forwarder on a 1500-byte
 * underlay packs its DF path (datagrams of at most 1472 bytes: one 1400-byte frame, or
 * twenty-odd 64-byte ones), sealed with `SleeveCipher.sealInto` into a reused buffer, opened
 * with `openInto` into another, and walked frame by frame. "payload MB/s" counts frame bytes
 * once, though each is both sealed and opened.
 *
 * @module
 */
import { FrameBatch } from "../datapath/sleeve/batch.ts";
import {
  libsodiumBox,
  type SecretBox,
  SleeveCipher,
  tweetnaclBox,
} from "../datapath/sleeve/crypto.ts";
import { FRAME_HEADER_SIZE, NAME_SIZE } from "../datapath/sleeve/packet.ts";
import { sodiumAvailable } from "../sys/sodium.ts";

const DATAGRAM_LIMIT = 1472;
/** Frame sizes; 1400 still fits an encrypted 1472-byte datagram (30 + 14 + 1428 at most). */
const SIZES = [64, 512, 1400];

function parseSeconds(args: string[]): number {
  const i = args.indexOf("--seconds");
  const s = i >= 0 ? Number(args[i + 1]) : 1.5;
  if (!(s > 0)) throw new RangeError(`Cannot run benchmark: --seconds must be positive, got ${s}`);
  return s;
}

/** Walks the frames of a decoded datagram; returns how many (the decode cost). */
function countFrames(bytes: Uint8Array, pos: number, end: number): number {
  let n = 0;
  while (pos + FRAME_HEADER_SIZE <= end) {
    pos += FRAME_HEADER_SIZE + ((bytes[pos + 12] << 8) | bytes[pos + 13]);
    n++;
  }
  return n;
}

interface Result {
  frames: number;
  bytes: number;
  seconds: number;
}

function run(frameSize: number, box: SecretBox | null, seconds: number): Result {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const sender = box
    ? new SleeveCipher({ sessionKey: key, outbound: true, localPeer: 1n, box })
    : null;
  const receiver = box
    ? new SleeveCipher({ sessionKey: key, outbound: false, localPeer: 2n, box })
    : null;
  const batch = new FrameBatch(65536, box ? 30 : NAME_SIZE);
  const wire = new Uint8Array(65536);
  const plain = new Uint8Array(65536);
  const frame = crypto.getRandomValues(new Uint8Array(frameSize));
  const src = Uint8Array.of(2, 0, 0, 0, 0, 1);
  const dst = Uint8Array.of(2, 0, 0, 0, 0, 2);
  let frames = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let round = 0; round < 200; round++) {
      batch.clear();
      while (batch.fits(frameSize, DATAGRAM_LIMIT)) batch.append(src, dst, frame);
      let got: number;
      if (sender && receiver) {
        const length = sender.sealInto(batch.bytes.subarray(NAME_SIZE, batch.end), true, wire);
        const n = receiver.openInto(wire.subarray(0, length), plain);
        if (n < 0) throw new Error("Cannot open benchmark datagram: authentication failed");
        got = countFrames(plain, 0, n);
      } else {
        got = countFrames(batch.bytes, NAME_SIZE, batch.end);
      }
      frames += got;
    }
  }
  return { frames, bytes: frames * frameSize, seconds: (performance.now() - start) / 1000 };
}

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function main(): void {
  const seconds = parseSeconds(Deno.args);
  const out: string[] = [];
  out.push(`deno run -A bench/sleeve_codec.ts --seconds ${seconds}`);
  out.push(
    `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} CPUs`,
  );
  out.push("");
  out.push(row(["frame bytes", "codec", "frames/s", "payload MB/s", "vs baseline"]));
  out.push(row(["---", "---", "---:", "---:", "---:"]));
  const boxes: [string, SecretBox | null][] = [["clear (baseline)", null]];
  if (sodiumAvailable()) boxes.push(["libsodium", libsodiumBox]);
  else out.push("(libsodium not loadable: its rows are missing)");
  boxes.push(["tweetnacl", tweetnaclBox]);
  for (const size of SIZES) {
    let baseline = 0;
    for (const [name, box] of boxes) {
      const r = run(size, box, seconds);
      const fps = r.frames / r.seconds;
      if (!box) baseline = fps;
      out.push(row([
        String(size),
        name,
        Math.round(fps).toLocaleString("en"),
        (r.bytes / r.seconds / 1e6).toFixed(1),
        `${(fps / baseline * 100).toFixed(0)}%`,
      ]));
    }
  }
  Deno.stdout.writeSync(new TextEncoder().encode(out.join("\n") + "\n"));
}

if (import.meta.main) main();
