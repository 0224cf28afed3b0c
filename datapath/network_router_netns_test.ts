// Two hosts (network namespaces on a 1500-byte underlay), each running the whole sleeve data
// plane in a Deno child of its own (_netns_host.ts: TAP + NetworkRouter + SleeveOverlay under
// an OverlaySwitch + MeshRouter), with a bridge and one "container" (namespace + veth,
// 10.32.0.x/12, MTU 9000 so oversized packets reach the overlay). Containers ping across hosts,
// unencrypted and encrypted; a DF ping bigger than the overlay MTU gets ICMP frag-needed; a
// non-DF one is fragmented; iperf3 moves TCP. Needs root and iproute2; ignored otherwise.
import assert from "node:assert/strict";
import { netnsSkipReason, TestNet, waitFor } from "../tests/harness/netns.ts";

const skip = netnsSkipReason();
const ENTRY = new URL("./_netns_host.ts", import.meta.url).pathname;
const NAMES = ["02:00:00:00:00:01", "02:00:00:00:00:02"];

interface Plane {
  net: TestNet;
  /** Container namespace names, c[0] on h1 (10.32.0.1), c[1] on h2 (10.32.0.2). */
  c: string[];
  logs: string[];
}

async function run(net: TestNet, ns: string, cmd: string[], timeoutMs = 20_000) {
  return await net.inContainer(ns, cmd, { timeoutMs });
}

async function ipOk(args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Bridge `weave` in each host, a container on it, and the data-plane child. */
async function buildPlane(net: TestNet, password?: string): Promise<Plane> {
  const plane: Plane = { net, c: [], logs: [] };
  for (const i of [1, 2]) {
    const h = net.host(i).name;
    await ipOk(["-n", h, "link", "add", "weave", "type", "bridge"]);
    await ipOk(["-n", h, "link", "set", "weave", "up"]);
    const c = await net.container(i, 1);
    plane.c.push(c);
    await ipOk([
      "-n",
      h,
      "link",
      "add",
      "vethwepl1",
      "mtu",
      "9000",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "mtu",
      "9000",
      "netns",
      c,
    ]);
    await ipOk(["-n", h, "link", "set", "vethwepl1", "master", "weave", "up"]);
    await ipOk(["-n", c, "addr", "add", `10.32.0.${i}/12`, "dev", "eth0"]);
    await ipOk(["-n", c, "link", "set", "eth0", "up"]);
  }
  for (const i of [1, 2]) {
    const args = [NAMES[i - 1], `h${i}`];
    if (password) args.push("--password", password);
    if (i === 2) args.push(net.host(1).ip);
    const child = net.host(i).spawn([Deno.execPath(), "run", "-A", ENTRY, ...args], {
      stdout: "piped",
      stderr: "piped",
    });
    collect(child.stderr, plane.logs, `h${i}`);
    const ready: string[] = [];
    collect(child.stdout, ready, `h${i}`);
    await waitFor(() => ready.some((l) => l.endsWith("READY")) || plane.logs.join("\n"), {
      what: `h${i} data plane ready`,
      timeoutMs: 20_000,
    });
  }
  return plane;
}

function collect(stream: ReadableStream<Uint8Array>, into: string[], tag: string): void {
  (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const l of lines) into.push(`${tag}: ${l}`);
    }
  })().catch(() => {});
}

async function waitEstablished(plane: Plane, mtu: number): Promise<void> {
  await waitFor(
    () =>
      [1, 2].every((i) =>
        plane.logs.some((l) =>
          l.startsWith(`h${i}:`) && l.endsWith(`Effective MTU verified at ${mtu}`)
        )
      ) || plane.logs.slice(-5).join("\n"),
    { what: `both sides verify MTU ${mtu}`, timeoutMs: 20_000 },
  );
}

function E2E(name: string, fn: () => Promise<void>) {
  Deno.test({
    name: skip ? `${name} (ignored: ${skip})` : name,
    ignore: skip !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/** `ping` from container 1 to 10.32.0.2 with `args` (e.g. `-s 3000 -M do`). */
function ping(plane: Plane, args: string) {
  return run(plane.net, plane.c[0], ["ping", ...args.split(" "), "10.32.0.2"]);
}

E2E(
  "sleeve data plane: containers on two hosts ping, PMTU answers, TCP flows (unencrypted)",
  async () => {
    await using net = await TestNet.create({ hosts: 2 });
    const plane = await buildPlane(net);
    await withLogs(plane, async () => {
      await waitEstablished(plane, 1438);
      await waitFor(async () => (await ping(plane, "-c 1 -W 2")).code === 0 || "no reply", {
        what: "first ping across hosts",
        timeoutMs: 10_000,
      });
      const five = await ping(plane, "-c 5 -i 0.2");
      assert.equal(five.code, 0, five.stdout + five.stderr);
      assert.match(five.stdout, / 0% packet loss/);
      assert.ok(
        plane.logs.some((l) =>
          /^h1: .*Discovered remote MAC \S+ at 02:00:00:00:00:02\(h2\)$/.test(l)
        ),
      );

      const df = await ping(plane, "-c 3 -i 0.3 -s 3000 -M do");
      assert.notEqual(df.code, 0, "a 3028-byte DF packet cannot cross a 1438 overlay");
      assert.match(df.stdout + df.stderr, /mtu ?= ?1438/, df.stdout + df.stderr);
      assert.ok(
        plane.logs.some((l) => l.endsWith("Sending ICMP 3,4 (10.32.0.2 -> 10.32.0.1): PMTU=1438")),
      );

      const nonDf = await ping(plane, "-c 3 -i 0.3 -s 3000 -M dont");
      assert.equal(nonDf.code, 0, nonDf.stdout + nonDf.stderr);
      assert.match(nonDf.stdout, /3008 bytes from 10\.32\.0\.2/);

      await iperf(plane);
    });
  },
);

E2E("sleeve data plane: encrypted containers ping and move TCP at MTU 1414", async () => {
  await using net = await TestNet.create({ hosts: 2 });
  const plane = await buildPlane(net, "s3cret");
  await withLogs(plane, async () => {
    await waitEstablished(plane, 1414);
    await waitFor(async () => (await ping(plane, "-c 1 -W 2")).code === 0 || "no reply", {
      what: "first encrypted ping",
      timeoutMs: 10_000,
    });
    const df = await ping(plane, "-c 2 -i 0.3 -s 3000 -M do");
    assert.match(df.stdout + df.stderr, /mtu ?= ?1414/, df.stdout + df.stderr);
    await iperf(plane);
  });
});

async function iperf(plane: Plane): Promise<void> {
  const { net, c } = plane;
  const server = await run(net, c[1], ["iperf3", "-s", "-1", "-D", "-B", "10.32.0.2"]);
  assert.equal(server.code, 0, server.stderr);
  await new Promise((r) => setTimeout(r, 300));
  const client = await run(net, c[0], ["iperf3", "-c", "10.32.0.2", "-t", "2", "-J"], 30_000);
  assert.equal(client.code, 0, client.stdout.slice(0, 500) + client.stderr);
  const result = JSON.parse(client.stdout);
  const bytes = result.end.sum_received.bytes as number;
  const bps = result.end.sum_received.bits_per_second as number;
  assert.ok(bytes > 100_000, `iperf3 moved only ${bytes} bytes`);
  plane.logs.push(
    `iperf3: ${(bps / 1e6).toFixed(0)} Mbit/s, retransmits ${result.end.sum_sent.retransmits}`,
  );
}

/** Runs `fn`, appending the children's last log lines to any failure. */
async function withLogs(plane: Plane, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const logs = plane.logs.slice(-80).join("\n");
    throw new Error(`${(e as Error).message}\n--- data plane logs ---\n${logs}`, { cause: e });
  }
}
