/**
 * An in-memory kernel for unit tests of the plumbing: several network namespaces, each a
 * {@link Netlink} that decodes the requests `sys/` sends (links incl. veth pairs across
 * namespaces, IPv4 addresses, routes) and answers like rtnetlink, errors included. Every
 * request's op is recorded per namespace, so tests can assert what a call sent.
 *
 * @module
 */
import {
  addrMessage,
  attrTable,
  decodeEnvelope,
  formatIp,
  formatMac,
  IFA_LOCAL,
  ifAddrMsg,
  ifInfoMsg,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  linkBody,
  type Netlink,
  type NetlinkReply,
  NLM_F_DUMP,
  readString,
  readU32,
  routeMessage,
  RTA_DST,
  RTA_OIF,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTM_SETLINK,
  rtMsg,
  sysError,
  VETH_INFO_PEER,
} from "../sys/mod.ts";
import { ContainerNotFoundError, type Namespaces } from "./container.ts";
import type { NftRunner } from "./expose.ts";

/** A link as the fake keeps it. */
export interface FakeLink {
  index: number;
  name: string;
  kind?: string;
  mtu: number;
  up: boolean;
  master?: number;
  address: string;
  /** The other end of a veth. */
  peer?: { ns: FakeNamespace; index: number };
}

const ENODEV = 19;
const EEXIST = 17;
const EADDRNOTAVAIL = 99;

/** One namespace of a {@link FakeKernel}. */
export class FakeNamespace implements Netlink {
  links: FakeLink[] = [];
  addrs: { index: number; cidr: string }[] = [];
  routes: { dst: string; oif: number }[] = [];
  /** Ops of every request, in order. */
  ops: string[] = [];
  closed = 0;

  constructor(readonly kernel: FakeKernel, readonly path: string) {
    this.addLink({ name: "lo", mtu: 65536, up: false });
  }

  /** Adds a link directly (test set-up); returns it. */
  addLink(spec: Partial<FakeLink> & { name: string }): FakeLink {
    const link: FakeLink = {
      mtu: 1500,
      up: false,
      address: this.kernel.mac(),
      ...spec,
    } as FakeLink;
    link.index = this.kernel.nextIndex++;
    this.links.push(link);
    return link;
  }

  /** The link called `name`, if any. */
  link(name: string): FakeLink | undefined {
    return this.links.find((l) => l.name === name);
  }

  /** Ops that changed something (not get/list). */
  changes(): string[] {
    return this.ops.filter((op) => !/^(get|list) /.test(op));
  }

  request(message: Uint8Array, op: string): NetlinkReply[] {
    this.ops.push(op);
    const { header, payload } = decodeEnvelope(message.slice(), 0).value;
    const dump = (header.flags & NLM_F_DUMP) === NLM_F_DUMP;
    switch (header.type) {
      case RTM_GETLINK:
        return dump ? this.links.map(linkReply) : [linkReply(this.#find(payload, op))];
      case RTM_NEWLINK:
        this.#create(payload, op);
        return [];
      case RTM_SETLINK:
        this.#change(this.#find(payload, op), payload);
        return [];
      case RTM_DELLINK:
        this.#delete(this.#find(payload, op));
        return [];
      case RTM_GETADDR:
        return this.addrs.map(addrReply);
      case RTM_NEWADDR:
      case RTM_DELADDR:
        this.#addr(header.type === RTM_NEWADDR, payload, op);
        return [];
      case RTM_GETROUTE:
        return this.routes.map(routeReply);
      case RTM_NEWROUTE:
        this.#route(payload, op);
        return [];
    }
    throw new Error(`Cannot fake ${op}: message type ${header.type} is not modelled`);
  }

  close(): void {
    this.closed++;
  }

  #find(payload: Uint8Array, op: string): FakeLink {
    const { index } = ifInfoMsg.decode(payload, 0).value;
    const name = attrTable(payload, ifInfoMsg.size).get(IFLA_IFNAME);
    const link = this.links.find((l) =>
      index ? l.index === index : name && l.name === readString(name)
    );
    if (!link) throw sysError(op, ENODEV);
    return link;
  }

  #create(payload: Uint8Array, op: string): void {
    const t = attrTable(payload, ifInfoMsg.size);
    const name = readString(t.get(IFLA_IFNAME)!);
    if (this.link(name)) throw sysError(op, EEXIST);
    const info = attrTable(t.get(IFLA_LINKINFO)!);
    const kind = readString(info.get(IFLA_INFO_KIND)!);
    const mtu = t.has(IFLA_MTU) ? readU32(t.get(IFLA_MTU)!) : 1500;
    const address = t.has(IFLA_ADDRESS) ? formatMac(t.get(IFLA_ADDRESS)!) : undefined;
    if (kind !== "veth") {
      this.addLink({ name, kind, mtu, ...(address ? { address } : {}) });
      return;
    }
    const peerBody = attrTable(info.get(IFLA_INFO_DATA)!).get(VETH_INFO_PEER)!;
    const p = attrTable(peerBody, ifInfoMsg.size);
    const peerName = readString(p.get(IFLA_IFNAME)!);
    const peerNs = p.has(IFLA_NET_NS_FD) ? this.kernel.byFd(readU32(p.get(IFLA_NET_NS_FD)!)) : this;
    if (peerNs.link(peerName)) throw sysError(op, EEXIST);
    const here = this.addLink({ name, kind, mtu });
    const mtuPeer = p.has(IFLA_MTU) ? readU32(p.get(IFLA_MTU)!) : 1500;
    const there = peerNs.addLink({ name: peerName, kind, mtu: mtuPeer });
    here.peer = { ns: peerNs, index: there.index };
    there.peer = { ns: this, index: here.index };
  }

  #change(link: FakeLink, payload: Uint8Array): void {
    const h = ifInfoMsg.decode(payload, 0).value;
    const t = attrTable(payload, ifInfoMsg.size);
    if (h.change & 1) link.up = (h.flags & 1) === 1;
    if (t.has(IFLA_MTU)) link.mtu = readU32(t.get(IFLA_MTU)!);
    if (t.has(IFLA_MASTER)) link.master = readU32(t.get(IFLA_MASTER)!) || undefined;
    if (t.has(IFLA_ADDRESS)) link.address = formatMac(t.get(IFLA_ADDRESS)!);
  }

  #delete(link: FakeLink): void {
    this.links = this.links.filter((l) => l !== link);
    this.addrs = this.addrs.filter((a) => a.index !== link.index);
    this.routes = this.routes.filter((r) => r.oif !== link.index);
    if (link.peer) {
      const { ns, index } = link.peer;
      const other = ns.links.find((l) => l.index === index);
      link.peer = undefined;
      if (other) {
        other.peer = undefined;
        ns.#delete(other);
      }
    }
  }

  #addr(add: boolean, payload: Uint8Array, op: string): void {
    const h = ifAddrMsg.decode(payload, 0).value;
    const local = formatIp(attrTable(payload, ifAddrMsg.size).get(IFA_LOCAL)!);
    const cidr = `${local}/${h.prefixLen}`;
    const at = this.addrs.findIndex((a) => a.index === h.index && a.cidr === cidr);
    if (add && at >= 0) throw sysError(op, EEXIST);
    if (!add && at < 0) throw sysError(op, EADDRNOTAVAIL);
    if (add) this.addrs.push({ index: h.index, cidr });
    else this.addrs.splice(at, 1);
  }

  #route(payload: Uint8Array, op: string): void {
    const h = rtMsg.decode(payload, 0).value;
    const t = attrTable(payload, rtMsg.size);
    const dst = `${t.has(RTA_DST) ? formatIp(t.get(RTA_DST)!) : "0.0.0.0"}/${h.dstLen}`;
    const oif = readU32(t.get(RTA_OIF)!);
    if (this.routes.some((r) => r.dst === dst)) throw sysError(op, EEXIST);
    this.routes.push({ dst, oif });
  }
}

function linkReply(l: FakeLink): NetlinkReply {
  const spec = { index: l.index, name: l.name, mtu: l.mtu, address: l.address, up: l.up };
  return {
    type: RTM_NEWLINK,
    flags: 0,
    payload: linkBody({ ...spec, master: l.master, kind: l.kind }),
  };
}

function addrReply(a: { index: number; cidr: string }): NetlinkReply {
  const [address, len] = a.cidr.split("/");
  const message = addrMessage(RTM_NEWADDR, 0, { index: a.index, address, prefixLen: Number(len) });
  return { type: RTM_NEWADDR, flags: 0, payload: message.subarray(16) };
}

function routeReply(r: { dst: string; oif: number }): NetlinkReply {
  const [dst, len] = r.dst.split("/");
  const spec = {
    dst,
    dstLen: Number(len),
    oif: r.oif,
    table: 254,
    protocol: 3,
    scope: 253,
    type: 1,
  };
  return {
    type: RTM_NEWROUTE,
    flags: 0,
    payload: routeMessage(RTM_NEWROUTE, 0, spec).subarray(16),
  };
}

/** Namespaces by path, with fds handed out by {@link Namespaces.open}. */
export class FakeKernel {
  nextIndex = 1;
  readonly host: FakeNamespace;
  readonly #byPath = new Map<string, FakeNamespace>();
  readonly #fds = new Map<number, FakeNamespace>();
  #nextFd = 100;
  #macs = 0;

  constructor(readonly hostPath = "/run/netns/host") {
    this.host = this.add(hostPath);
  }

  /** Creates namespace `path` (e.g. `/run/netns/c1`). */
  add(path: string): FakeNamespace {
    const ns = new FakeNamespace(this, path);
    this.#byPath.set(path, ns);
    return ns;
  }

  /** Removes namespace `path`; its veth ends vanish with their peers. */
  remove(path: string): void {
    const ns = this.#byPath.get(path);
    if (!ns) return;
    for (const l of ns.links) {
      if (l.peer) l.peer.ns.links = l.peer.ns.links.filter((x) => x.index !== l.peer!.index);
    }
    this.#byPath.delete(path);
  }

  /** The namespace open at `fd`. */
  byFd(fd: number): FakeNamespace {
    const ns = this.#fds.get(fd);
    if (!ns) throw new Error(`Cannot fake: fd ${fd} is not an open namespace`);
    return ns;
  }

  /** A fresh, distinct MAC. */
  mac(): string {
    const n = ++this.#macs;
    return `02:00:00:00:${((n >> 8) & 255).toString(16).padStart(2, "0")}:${
      (n & 255).toString(16).padStart(2, "0")
    }`;
  }

  /** The {@link Namespaces} seam over these namespaces (candidates: named ones + `extra`). */
  namespaces(extra: string[] = []): Namespaces {
    const get = (path: string) => {
      const ns = this.#byPath.get(path);
      if (!ns) throw new ContainerNotFoundError(`Cannot find container: no namespace "${path}"`);
      return ns;
    };
    return {
      netlink: get,
      open: (path) => {
        const fd = this.#nextFd++;
        this.#fds.set(fd, get(path));
        return { fd, close: () => void this.#fds.delete(fd) };
      },
      isHost: (path) => get(path) === this.host,
      candidates: () => [
        ...[...this.#byPath.keys()].filter((p) => p.startsWith("/run/netns/")).map((p) =>
          p.slice("/run/netns/".length)
        ),
        ...extra,
      ],
    };
  }
}

/**
 * A fake `nft` for our table only: `-f -` scripts replace the table's state (the masqueraded
 * addresses named in rule comments; a script without a table body deletes it), `-j list table`
 * answers JSON or "No such file or directory". Scripts are recorded.
 */
export class FakeNft {
  /** Masqueraded addresses while the table exists, else undefined. */
  table: string[] | undefined;
  scripts: string[] = [];
  /** Makes the next run fail with this stderr. */
  failNext?: string;

  readonly run: NftRunner = (args, stdin) => {
    if (this.failNext !== undefined) {
      const stderr = this.failNext;
      this.failNext = undefined;
      return Promise.resolve({ code: 1, stdout: "", stderr });
    }
    if (args[0] === "-f") {
      this.scripts.push(stdin ?? "");
      const body = (stdin ?? "").includes("{");
      const comments = [...(stdin ?? "").matchAll(/comment "weave-expose ([^"]+)"/g)].map((m) =>
        m[1]
      );
      this.table = body ? [...new Set(comments)] : undefined;
      return Promise.resolve({ code: 0, stdout: "", stderr: "" });
    }
    if (this.table === undefined) {
      return Promise.resolve({
        code: 1,
        stdout: "",
        stderr: "Error: No such file or directory\nlist table ip weave-ts\n",
      });
    }
    const rules = this.table.map((c) => ({ rule: { comment: `weave-expose ${c}` } }));
    return Promise.resolve({
      code: 0,
      stdout: JSON.stringify({ nftables: [{ table: { name: "weave-ts" } }, ...rules] }),
      stderr: "",
    });
  };
}
