/**
 * The seam between fastdp's decisions and the host: VXLAN devices and the packet sockets on
 * them. {@link kernelFastdpHost} is the real one (netlink + AF_PACKET); tests pass an in-memory
 * fake that carries frames between two overlays by VNI.
 *
 * @module
 */
import { linkByName } from "../../sys/link.ts";
import type { Netlink } from "../../sys/netlink/socket.ts";
import { PacketSocket, pollReadableManyAsync } from "../../sys/packet_socket.ts";
import { SPECIAL_FRAME_FILTER } from "./heartbeat.ts";
import { NotFoundError } from "../../sys/libc.ts";
import {
  ensureVxlanDevice,
  flushLearnedFdb,
  removeStaleVxlanDevices,
  removeVxlanDevice,
  setVxlanPortActive,
  type VxlanDeviceSpec,
} from "./vxlan_devices.ts";

export type { VxlanDeviceSpec };

/** A socket that sends and receives whole frames on one device. */
export interface FrameSocket {
  /** For {@link FastdpHost.poll}. */
  readonly fd: number;
  /** Sends one Ethernet frame; throws when it cannot. */
  send(frame: Uint8Array): void;
  /** The length of the next queued frame copied into `buffer`, or `undefined` when none. */
  receive(buffer: Uint8Array<ArrayBuffer>): number | undefined;
  close(): void;
}

/** What fastdp does to the host. */
export interface FastdpHost {
  /** Throws when the bridge is missing; removes our devices left by a previous run. */
  prepare(bridge: string): string[];
  /** Creates or repairs the device (inactive port); returns its ifindex. */
  ensureDevice(spec: VxlanDeviceSpec): number;
  /** Deletes the device; nothing when it is gone. */
  removeDevice(name: string): void;
  /** Switches bridge flooding/learning on the device's port. */
  setPortActive(name: string, active: boolean): void;
  /**
   * Deletes the MACs the bridge learned on port `name` (only `mac` when given); returns how
   * many, 0 when there is no such port or entry.
   */
  forgetLearned(name: string, mac?: string): number;
  /** Opens a socket receiving special (all-zero header) frames on the device. */
  openSocket(ifindex: number): FrameSocket;
  /** Resolves with the ready fds after at most `timeoutMs`; the fds stay open meanwhile. */
  poll(fds: readonly number[], timeoutMs: number): Promise<number[]>;
}

/**
 * The host operations on the kernel, in the network namespace of `nl` (and of the calling
 * thread, for packet sockets).
 *
 * @example
 * ```ts ignore
 * import { NetlinkSocket } from "../../sys/netlink/socket.ts";
 * const host = kernelFastdpHost(new NetlinkSocket());
 * ```
 */
export function kernelFastdpHost(nl: Netlink): FastdpHost {
  return {
    prepare(bridge) {
      linkByName(nl, bridge);
      return removeStaleVxlanDevices(nl);
    },
    ensureDevice: (spec) => ensureVxlanDevice(nl, spec).index,
    removeDevice(name) {
      removeVxlanDevice(nl, name);
    },
    setPortActive: (name, active) => setVxlanPortActive(nl, name, active),
    forgetLearned(name, mac) {
      try {
        return flushLearnedFdb(nl, name, mac);
      } catch (e) {
        if (e instanceof NotFoundError) return 0;
        throw e;
      }
    },
    openSocket: (ifindex) => new PacketSocket({ ifindex, filter: SPECIAL_FRAME_FILTER }),
    poll: (fds, timeoutMs) => pollReadableManyAsync(fds, timeoutMs),
  };
}
