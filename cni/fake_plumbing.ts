/**
 * An in-memory {@link Plumbing} for tests of the command logic: a bridge,
 * pods by namespace path, veths by name, with the same rules as the kernel
 * one (a retried setup keeps what is there, a vanished namespace is code 3,
 * teardown of what is gone is fine).
 *
 * @module
 */
import { CniCode, CniError } from "./errors.ts";
import {
  hostVethName,
  type LinkSummary,
  type Plumbing,
  type PodRef,
  type PodSpec,
  type PodState,
} from "./plumbing.ts";

/** One fake pod interface. */
interface FakePodIf {
  spec: PodSpec;
  mac: string;
  up: boolean;
  /** The host veth's peer index as inspected (2, the pod interface, unless a test says). */
  peer?: number;
}

/**
 * A fake kernel.
 *
 * @example
 * ```ts
 * import { FakePlumbing } from "./fake_plumbing.ts";
 * const k = new FakePlumbing();
 * k.namespaces.add("/run/netns/p1");
 * ```
 */
export class FakePlumbing implements Plumbing {
  /** Existing namespace paths. */
  readonly namespaces = new Set<string>();
  /** Bridges: name → MTU and addresses. */
  readonly bridges = new Map<string, { mtu: number; cidrs: string[] }>([
    ["weave", { mtu: 1376, cidrs: ["10.32.0.254/12"] }],
  ]);
  /** Pod interfaces by `<netns>#<ifname>`. */
  readonly pods = new Map<string, FakePodIf>();
  /** setupPod calls. */
  setups = 0;
  /** When set, setupPod throws it (after counting). */
  failSetup?: Error;

  bridge(name: string): { mtu: number; cidrs: string[] } | undefined {
    const b = this.bridges.get(name);
    return b && { mtu: b.mtu, cidrs: [...b.cidrs] };
  }

  addBridgeAddr(name: string, cidr: string): void {
    const b = this.bridges.get(name);
    if (!b) throw new Error(`no bridge ${name}`);
    if (!b.cidrs.includes(cidr)) b.cidrs.push(cidr);
  }

  setupPod(spec: PodSpec): { host: LinkSummary; pod: LinkSummary } {
    this.setups++;
    if (this.failSetup) throw this.failSetup;
    if (!this.namespaces.has(spec.netns)) throw gone(spec.netns);
    const key = `${spec.netns}#${spec.ifname}`;
    const existing = this.pods.get(key);
    const n = this.pods.size + 1;
    const pod = existing ?? { spec, mac: `02:00:00:00:00:${hex(n)}`, up: true };
    this.pods.set(key, pod);
    const mtu = spec.mtu;
    return {
      host: {
        name: hostVethName(spec.containerId),
        mac: `02:00:00:00:01:${pod.mac.slice(-2)}`,
        mtu,
      },
      pod: { name: spec.ifname, mac: pod.mac, mtu },
    };
  }

  teardownPod(ref: PodRef): void {
    if (ref.netns === "" || !this.namespaces.has(ref.netns)) return;
    this.pods.delete(`${ref.netns}#${ref.ifname}`);
  }

  inspectPod(ref: PodRef & { bridge: string }): PodState {
    if (!this.namespaces.has(ref.netns)) throw gone(ref.netns);
    const pod = this.pods.get(`${ref.netns}#${ref.ifname}`);
    if (!pod) return {};
    const mtu = pod.spec.mtu;
    return {
      host: {
        name: hostVethName(ref.containerId),
        mac: "02:00:00:00:01:01",
        mtu,
        bridge: pod.spec.bridge,
        up: true,
        index: 10,
        peer: pod.peer ?? 2,
      },
      pod: {
        name: ref.ifname,
        mac: pod.mac,
        mtu,
        up: pod.up,
        cidrs: [pod.spec.cidr],
        routes: pod.spec.routes.map((r) => ({ ...r })),
        index: 2,
        peer: 10,
      },
    };
  }
}

function gone(netns: string): CniError {
  return new CniError(CniCode.UnknownContainer, `Cannot enter "${netns}": it does not exist`);
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}
