/**
 * An in-memory {@link FastdpHost} for tests: hosts on a shared {@link FakeWire} exchange
 * frames between their VXLAN "devices" the way the kernel would, by destination IP, UDP port
 * and VNI, so two FastDatapaths can talk in one process.
 *
 * @module
 */
import type { FastdpHost, FrameSocket, VxlanDeviceSpec } from "./host.ts";

/** A device on a fake host. */
export interface FakeDevice {
  spec: VxlanDeviceSpec;
  ifindex: number;
  active: boolean;
  socket: FakeSocket | null;
}

/** A packet that crossed the wire. */
export interface WirePacket {
  from: string;
  to: string;
  port: number;
  vni: number;
  length: number;
}

/** The underlay shared by fake hosts. */
export class FakeWire {
  readonly hosts = new Map<string, FakeHost>();
  /** Every packet sent, delivered or not. */
  readonly log: WirePacket[] = [];
  /** When true, nothing is delivered (like a firewall dropping the VXLAN port). */
  cut = false;

  /** Delivers `frame` to the device listening on `to`/`port`/`vni`, if any. */
  deliver(p: WirePacket, frame: Uint8Array): void {
    this.log.push(p);
    if (this.cut) return;
    const host = this.hosts.get(p.to);
    const dev = host &&
      [...host.devices.values()].find((d) => d.spec.receiveVNI === p.vni && d.spec.port === p.port);
    dev?.socket?.queue.push(frame.slice());
  }
}

let nextFd = 1000;

class FakeSocket implements FrameSocket {
  readonly fd = nextFd++;
  readonly queue: Uint8Array[] = [];
  closed = false;
  constructor(readonly host: FakeHost, readonly device: FakeDevice) {}

  send(frame: Uint8Array): void {
    if (this.closed) throw new Error("Cannot send: socket is closed");
    const { spec } = this.device;
    this.host.wire.deliver({
      from: spec.local,
      to: spec.remoteIP,
      port: spec.remotePort ?? spec.port,
      vni: spec.sendVNI,
      length: frame.length,
    }, frame);
  }

  receive(buffer: Uint8Array<ArrayBuffer>): number | undefined {
    if (this.closed) throw new Error("Cannot receive: socket is closed");
    const frame = this.queue.shift();
    if (!frame) return undefined;
    buffer.set(frame.subarray(0, buffer.length));
    return frame.length;
  }

  close(): void {
    this.closed = true;
    this.host.closed++;
  }
}

/** One fake host: its devices by name, the bridge it has, counters. */
export class FakeHost implements FastdpHost {
  readonly devices = new Map<string, FakeDevice>();
  /** Bridges that exist (prepare fails for others). */
  readonly bridges = new Set<string>(["weave"]);
  opened = 0;
  closed = 0;
  /** Ports whose learned MACs were forgotten (`port` or `port mac`), in order. */
  readonly forgotten: string[] = [];
  #ifindex = 10;

  constructor(readonly wire: FakeWire, readonly ip: string) {
    wire.hosts.set(ip, this);
  }

  prepare(bridge: string): string[] {
    if (!this.bridges.has(bridge)) throw new Error(`Cannot find link "${bridge}"`);
    const stale = [...this.devices.keys()];
    this.devices.clear();
    return stale;
  }

  ensureDevice(spec: VxlanDeviceSpec): number {
    const existing = this.devices.get(spec.name);
    if (existing && existing.spec.receiveVNI === spec.receiveVNI) {
      existing.spec = spec;
      existing.active = false;
      return existing.ifindex;
    }
    for (const d of this.devices.values()) {
      if (d.spec.name !== spec.name && d.spec.receiveVNI === spec.receiveVNI) {
        throw new Error(`Cannot add vxlan "${spec.name}": VNI ${spec.receiveVNI} in use`);
      }
    }
    const dev: FakeDevice = { spec, ifindex: this.#ifindex++, active: false, socket: null };
    this.devices.set(spec.name, dev);
    return dev.ifindex;
  }

  removeDevice(name: string): void {
    this.devices.delete(name);
  }

  setPortActive(name: string, active: boolean): void {
    const dev = this.devices.get(name);
    if (!dev) throw new Error(`Cannot set bridge port flags on link "${name}": no such device`);
    dev.active = active;
  }

  forgetLearned(name: string, mac?: string): number {
    this.forgotten.push(mac === undefined ? name : `${name} ${mac}`);
    return 0;
  }

  openSocket(ifindex: number): FrameSocket {
    const dev = [...this.devices.values()].find((d) => d.ifindex === ifindex);
    if (!dev) throw new Error(`Cannot open packet socket on ifindex ${ifindex}: no such device`);
    this.opened++;
    dev.socket = new FakeSocket(this, dev);
    return dev.socket;
  }

  async poll(fds: readonly number[], timeoutMs: number): Promise<number[]> {
    const ready = () =>
      [...this.devices.values()]
        .filter((d) => d.socket && !d.socket.closed && d.socket.queue.length > 0)
        .map((d) => d.socket!.fd)
        .filter((fd) => fds.includes(fd));
    for (let waited = 0; waited < timeoutMs && ready().length === 0; waited += 5) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return ready();
  }
}
