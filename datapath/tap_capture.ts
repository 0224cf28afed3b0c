/**
 * The sleeve datapath's door into the weave bridge: frames the bridge sends to our TAP port
 * are captured and handed to the network router; frames from the overlay are injected by
 * writing them to the TAP (Weave's pcap "bridge" datapath, done with a TAP device).
 *
 * The loop reads with synchronous FFI `read` (~300k frames/s measured) into one reused buffer
 * until the device is empty, then waits for readability with `poll` on a worker thread, so it
 * never spins and the event loop keeps running. A TAP fd cannot be woken like a socket, so the
 * wait is bounded ({@link TAP_POLL_MS}) and {@link TapCapture.stop} takes at most that long.
 *
 * On a TAP opened with offloads (vnet headers), a read may hold a whole TCP send of up to
 * 64 KiB: it is cut into ordinary frames before the handler sees them (offload/segment.ts), and
 * injected frames of one TCP stream are glued into one write at the end of the burst that
 * injected them (offload/coalesce.ts, flushed in a microtask). Everything outside this file
 * sees ordinary frames only.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { type Tap, waitReadable } from "../sys/tap.ts";
import { TcpCoalescer } from "./offload/coalesce.ts";
import { segmentRead, VNET_HDR_SIZE } from "./offload/segment.ts";

/** Longest single wait for the TAP to become readable. */
export const TAP_POLL_MS = 200;
/** Frames read per wake-up before other work gets a turn. */
const DRAIN_BATCH = 256;
/** Read buffer: the largest frame a TAP delivers (MTU 65535 or a 64 KiB segment), and its vnet header. */
const FRAME_BUFFER = VNET_HDR_SIZE + 65535 + 14 + 4;

/** Options of {@link TapCapture}. */
export interface TapCaptureOptions {
  /** The open TAP device; the capture owns it and closes it on stop. */
  tap: Tap;
  log: Logger;
}

/** Frame counters of {@link TapCapture}. */
export interface TapCaptureStats {
  /** Frames handed to the handler. */
  captured: number;
  /** Reads that returned data (fewer than frames when the TAP hands over TCP segments). */
  reads: number;
  injected: number;
  /** Injected frames written glued to others, and the writes that carried them. */
  glued: number;
  gluedWrites: number;
  /** Frames the device refused (queue full) or that failed to write (glued ones: per write). */
  injectErrors: number;
  /** Reads with offload headers that could not be cut into frames (dropped). */
  refused: number;
}

/**
 * Reads frames from a TAP and writes frames to it.
 *
 * @example
 * ```ts ignore
 * import { openTap } from "../sys/tap.ts";
 * const capture = new TapCapture({ tap: openTap("vethwe-pcap"), log });
 * capture.start((f) => router.handleCaptured(f));
 * capture.inject(frame);
 * await capture.stop();
 * ```
 */
export class TapCapture {
  readonly #tap: Tap;
  #handler: (frame: Uint8Array) => void = () => {};
  readonly #log: Logger;
  readonly #buffer = new Uint8Array(FRAME_BUFFER);
  readonly #stats = { captured: 0, reads: 0, injected: 0, injectErrors: 0, refused: 0 };
  #loop: Promise<void> | null = null;
  #stopping = false;
  /** Glues injected frames on a TAP with vnet headers. */
  readonly #glue: TcpCoalescer | null;
  #flushScheduled = false;
  readonly #flush = () => {
    this.#flushScheduled = false;
    this.#glue?.flush();
  };
  readonly #emit = (frame: Uint8Array) => this.#handle(frame);

  constructor(opts: TapCaptureOptions) {
    this.#tap = opts.tap;
    this.#log = opts.log;
    this.#glue = opts.tap.vnetHeader ? new TcpCoalescer((bytes) => this.#write(bytes)) : null;
  }

  /** The TAP device name. */
  get name(): string {
    return this.#tap.name;
  }

  /**
   * Starts capturing; once. `handler` gets each captured frame (a view of a reused buffer,
   * valid during the call).
   */
  start(handler: (frame: Uint8Array) => void): void {
    if (this.#loop) throw new Error(`Cannot start capture on "${this.#tap.name}": already running`);
    if (this.#stopping) throw new Error(`Cannot start capture on "${this.#tap.name}": stopped`);
    this.#handler = handler;
    this.#loop = this.#run();
  }

  /**
   * Writes one frame to the bridge; false when the device refused it (counted, not thrown).
   * With vnet headers the frame is queued (copied) and written, maybe glued to others, once
   * the current burst is over; a refusal then only shows in the counters.
   */
  inject(frame: Uint8Array): boolean {
    if (this.#tap.fd < 0) return false;
    const glue = this.#glue;
    if (glue) {
      this.#stats.injected++;
      glue.add(frame);
      if (glue.pending > 0 && !this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(this.#flush);
      }
      return true;
    }
    if (this.#write(frame)) {
      this.#stats.injected++;
      return true;
    }
    return false;
  }

  #write(bytes: Uint8Array): boolean {
    try {
      if (this.#tap.write(bytes as Uint8Array<ArrayBuffer>) > 0) return true;
    } catch (e) {
      this.#log.debug(
        `inject into "${this.#tap.name}" failed: ${e instanceof Error ? e.message : e}`,
      );
    }
    this.#stats.injectErrors++;
    return false;
  }

  /** Frame counters. */
  stats(): TapCaptureStats {
    const glue = this.#glue?.stats();
    return { ...this.#stats, glued: glue?.glued ?? 0, gluedWrites: glue?.segments ?? 0 };
  }

  /** Stops the loop (within {@link TAP_POLL_MS}) and closes the TAP; idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    this.#tap.close();
  }

  #handle(frame: Uint8Array): void {
    this.#stats.captured++;
    try {
      this.#handler(frame);
    } catch (e) {
      this.#log.warn(`dropping captured frame: ${e instanceof Error ? e.message : e}`);
    }
  }

  async #run(): Promise<void> {
    const buf = this.#buffer;
    while (!this.#stopping) {
      for (let i = 0; i < DRAIN_BATCH && !this.#stopping; i++) {
        let n: number;
        try {
          n = this.#tap.read(buf);
        } catch (e) {
          this.#log.error(`capture on "${this.#tap.name}" failed: ${(e as Error).message}`);
          return;
        }
        if (n <= 0) break;
        this.#stats.reads++;
        if (!this.#glue) {
          this.#handle(buf.subarray(0, n));
        } else if (segmentRead(buf, n, this.#emit) < 0) {
          this.#stats.refused++;
        }
      }
      if (this.#stopping) break;
      await waitReadable(this.#tap.fd, TAP_POLL_MS);
    }
  }
}
