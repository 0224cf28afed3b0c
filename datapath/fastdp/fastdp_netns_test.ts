/**
 * Fastdp across two hosts in network namespaces (root only): containers on each host's weave
 * bridge ping each other over per-peer VXLAN devices, the wire shows VXLAN on 6784 with Weave's
 * VNIs, blocking 6784 makes both sides fall back (unhealthy) and unblocking brings them back
 * without a restart; a short-ID change re-creates the devices; stopping removes them.
 */
import assert from "node:assert/strict";
import { netnsSkipReason, type TestHost, TestNet, waitFor } from "../../tests/harness/netns.ts";
import { run, runOk } from "../../tests/harness/exec.ts";
import type { ChildConfig } from "./_netns_child.ts";
import { peerVNIs, vxlanDeviceName } from "./vni.ts";

const CHILD = new URL("./_netns_child.ts", import.meta.url).pathname;
const PEERS = [0x0a0000000001n, 0x0b0000000002n];
const SHORTS = [0x00a, 0x00b];
const TIMING = { fastHeartbeatMs: 100, slowHeartbeatMs: 300, heartbeatTimeoutMs: 1500 };

/** A running child and what it reported. */
class Child {
  established = 0;
  healthy = false;
  readonly logs: string[] = [];
  readonly events: string[] = [];
  status: Record<string, unknown> | undefined;
  other: Child | undefined;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly done: Promise<void>;

  constructor(readonly proc: Deno.ChildProcess) {
    this.#writer = proc.stdin.getWriter();
    this.done = this.#read();
  }

  send(msg: unknown): Promise<void> {
    return this.#writer.write(new TextEncoder().encode(`${JSON.stringify(msg)}\n`));
  }

  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
  }

  async #read(): Promise<void> {
    let rest = "";
    for await (const chunk of this.proc.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      for (let at = rest.indexOf("\n"); at >= 0; at = rest.indexOf("\n")) {
        this.#handle(JSON.parse(rest.slice(0, at)));
        rest = rest.slice(at + 1);
      }
    }
  }

  #handle(msg: Record<string, unknown>): void {
    if (msg.control !== undefined) void this.other?.send(msg).catch(() => {});
    else if (msg.log !== undefined) this.logs.push(String(msg.log));
    else if (msg.status !== undefined) this.status = msg.status as Record<string, unknown>;
    else if (msg.event === "established") this.established++;
    else if (msg.event === "health") this.healthy = msg.healthy === true;
    if (msg.event !== undefined) this.events.push(String(msg.event));
  }
}

async function setUpHost(h: TestHost, container: string, ip: string): Promise<void> {
  await runOk(["ip", "netns", "add", container]);
  await h.exec(["ip", "link", "add", "weave", "type", "bridge"]);
  await runOk(["ip", "-n", h.name, "link", "set", "weave", "up"]);
  await runOk([
    ...["ip", "-n", h.name, "link", "add", "vethc", "mtu", "1376", "type", "veth"],
    ...["peer", "name", "eth0", "mtu", "1376", "netns", container],
  ]);
  await runOk(["ip", "-n", h.name, "link", "set", "vethc", "master", "weave", "up"]);
  await runOk(["ip", "-n", container, "addr", "add", `${ip}/12`, "dev", "eth0"]);
  await runOk(["ip", "-n", container, "link", "set", "eth0", "up"]);
  await runOk(["ip", "-n", container, "link", "set", "lo", "up"]);
}

function spawnChild(net: TestNet, i: number): Child {
  const j = 1 - i;
  const config: ChildConfig = {
    self: PEERS[i].toString(),
    remote: PEERS[j].toString(),
    selfShort: SHORTS[i],
    remoteShort: SHORTS[j],
    connUID: "81985529216486895",
    outbound: i === 0,
    localIP: net.host(i + 1).ip,
    remoteIP: net.host(j + 1).ip,
    port: 6783,
    timing: TIMING,
  };
  const proc = net.host(i + 1).spawn(
    [Deno.execPath(), "run", "-A", CHILD, JSON.stringify(config)],
    { stdin: "piped", stdout: "piped", stderr: "inherit" },
  );
  return new Child(proc);
}

async function ping(container: string, args: string[] = []): Promise<boolean> {
  const r = await run([
    "ip",
    "netns",
    "exec",
    container,
    "ping",
    "-c",
    "2",
    "-i",
    "0.2",
    "-W",
    "1",
    ...args,
    "10.32.0.2",
  ]);
  return r.code === 0;
}

/** The bridge port and VXLAN settings of `dev` in `h`. */
async function deviceInfo(h: TestHost, dev: string) {
  const out = await runOk(["ip", "-n", h.name, "-j", "-d", "link", "show", "dev", dev]);
  const [link] = JSON.parse(out);
  return {
    vni: link.linkinfo.info_data.id as number,
    port: link.linkinfo.info_data.port as number,
    flood: link.linkinfo.info_slave_data.flood as boolean,
    isolated: link.linkinfo.info_slave_data.isolated as boolean,
  };
}

/** VXLAN packets seen on h1's eth0 while `during` runs: outer src, dst port, VNI, inner proto. */
async function capture(net: TestNet, during: () => Promise<unknown>) {
  const file = `${net.tempDir}/fastdp.pcap`;
  const dump = net.host(1).spawn(
    ["tcpdump", "-i", "eth0", "-nn", "-U", "-w", file, "udp", "port", "6784"],
    { stderr: "piped" },
  );
  const reader = dump.stderr.getReader();
  let banner = "";
  while (!banner.includes("listening")) { // "tcpdump: listening on eth0 ..."
    const { value, done } = await reader.read();
    if (done) throw new Error(`Cannot capture: tcpdump said ${JSON.stringify(banner)}`);
    banner += new TextDecoder().decode(value);
  }
  await during();
  await new Promise((resolve) => setTimeout(resolve, 800));
  dump.kill("SIGINT");
  await dump.status;
  await reader.cancel();
  const fields = await runOk([
    ...["tshark", "-r", file, "-d", "udp.port==6784,vxlan", "-T", "fields", "-E", "separator=|"],
    ...["-e", "ip.src", "-e", "udp.dstport", "-e", "vxlan.vni", "-e", "eth.src"],
    ...["-e", "frame.len", "-e", "icmp.type"],
  ]);
  return fields.trim().split("\n").filter(Boolean).map((line) => {
    const [ips, port, vni, macs, len, icmp] = line.split("|");
    return {
      src: ips.split(",")[0],
      port: Number(port),
      vni: Number(vni),
      innerSrcMac: macs.split(",")[1],
      length: Number(len),
      icmp: icmp !== "",
    };
  });
}

const skip = netnsSkipReason();

Deno.test({
  name: `fastdp: two hosts ping over VXLAN, fall back when 6784 is blocked, return by themselves${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  sanitizeResources: false,
  fn: async () => {
    await using net = await TestNet.create({ hosts: 2 });
    const containers = [`${net.prefix}c1`, `${net.prefix}c2`];
    const children: Child[] = [];
    const table = `${net.prefix}fdp`;
    try {
      await setUpHost(net.host(1), containers[0], "10.32.0.1");
      await setUpHost(net.host(2), containers[1], "10.32.0.2");
      children.push(spawnChild(net, 0), spawnChild(net, 1));
      [children[0].other, children[1].other] = [children[1], children[0]];
      const [c1, c2] = children;
      const both = (p: (c: Child) => boolean) => children.every(p);
      await waitFor(() => both((c) => c.established === 1 && c.healthy), {
        what: "fastdp established and healthy on both hosts",
        intervalMs: 50,
      });

      const dev1 = vxlanDeviceName(PEERS[1]);
      const vnis = peerVNIs(SHORTS[0], SHORTS[1]);
      assert.deepEqual(await deviceInfo(net.host(1), dev1), {
        vni: vnis.receive,
        port: 6784,
        flood: true,
        isolated: true,
      });
      const packets = await capture(net, async () => {
        assert.ok(await ping(containers[0]), "containers ping over fastdp");
        assert.ok(await ping(containers[0], ["-s", "1348", "-M", "do"]), "full-MTU ping");
      });
      const icmp = packets.filter((p) => p.icmp);
      assert.ok(icmp.length >= 4, `ICMP in VXLAN on the wire: ${JSON.stringify(packets)}`);
      for (const p of icmp) {
        assert.equal(p.port, 6784);
        assert.equal(p.vni, p.src === net.host(1).ip ? vnis.send : vnis.receive, JSON.stringify(p));
      }
      const beats = packets.filter((p) => p.innerSrcMac === "00:00:00:00:00:00");
      assert.ok(beats.length > 0, "heartbeats seen");
      for (const b of beats) {
        assert.equal(b.length, 14 + 20 + 8 + 8 + 1390, "heartbeat of 14 + MTU");
      }

      await net.host(1).exec(["nft", "-f", "-"], {
        stdin: `table inet ${table} {
  chain input { type filter hook input priority -20; policy accept; udp dport 6784 drop; }
  chain output { type filter hook output priority -20; policy accept; udp dport 6784 drop; }
}
`,
      });
      await waitFor(() => both((c) => !c.healthy), {
        what: "both sides unhealthy after blocking UDP 6784",
        timeoutMs: 6000,
        intervalMs: 50,
      });
      assert.ok(c1.logs.some((l) => l.includes("no heartbeat for 1.5s, falling back to sleeve")));
      assert.equal((await deviceInfo(net.host(1), dev1)).flood, false, "port no longer floods");
      assert.equal(await ping(containers[0]), false, "no fastdp while blocked");

      await runOk([
        "ip",
        "netns",
        "exec",
        net.host(1).name,
        "nft",
        "delete",
        "table",
        "inet",
        table,
      ]);
      await waitFor(() => both((c) => c.healthy), {
        what: "both sides healthy again after unblocking",
        timeoutMs: 6000,
        intervalMs: 50,
      });
      assert.ok(c2.logs.some((l) => l.endsWith("heartbeats resumed, back to fastdp")));
      assert.equal(c1.established, 1, "no restart, no second establishment");
      assert.ok(await ping(containers[0]), "ping works again");

      const newShort = 0x0cc;
      await c1.send({ cmd: "shortIDs", self: SHORTS[0], remote: newShort });
      await c2.send({ cmd: "shortIDs", self: newShort, remote: SHORTS[0] });
      await waitFor(() => both((c) => c.events.includes("invalidated")), { what: "invalidated" });
      const renumbered = peerVNIs(SHORTS[0], newShort);
      assert.equal((await deviceInfo(net.host(1), dev1)).vni, renumbered.receive);
      await waitFor(async () => both((c) => c.healthy) && await ping(containers[0]), {
        what: "ping over the re-created devices",
        timeoutMs: 6000,
      });

      await c1.send({ cmd: "status" });
      await waitFor(() => c1.status !== undefined, { what: "status" });
      const status = c1.status as {
        Vports: { Name: string; VNI: number }[];
        Peers: { healthy: boolean }[];
      };
      assert.deepEqual(status.Vports.map((v) => [v.Name, v.VNI]), [[dev1, renumbered.receive]]);
      assert.equal(status.Peers[0].healthy, true);

      for (const c of children) await c.send({ cmd: "stop" });
      for (const c of children) assert.equal((await c.proc.status).code, 0);
      for (const h of net.hosts) {
        const left = await runOk(["ip", "-n", h.name, "link", "show", "type", "vxlan"]);
        assert.equal(left.trim(), "", `no VXLAN device left in ${h.name}`);
      }
    } finally {
      for (const c of children) {
        await c.close();
        try {
          c.proc.kill("SIGKILL");
        } catch {
          // already exited
        }
        await c.done.catch(() => {});
        await c.proc.status;
      }
      await run(["ip", "netns", "exec", net.host(1).name, "nft", "delete", "table", "inet", table]);
      for (const c of containers) await run(["ip", "netns", "del", c]);
    }
  },
});
