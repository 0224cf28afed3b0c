// The attach/detach/expose/hide/ps commands end to end: CLI → HTTP API → plumbing routes → an
// in-memory kernel (datapath/fake_kernel.ts) and a fake nft.
import assert from "node:assert/strict";
import { Command } from "commander";
import { loadReport } from "../api/_samples.ts";
import { FakeRouterOps } from "../api/fake_ops.ts";
import { ApiError } from "../api/ops.ts";
import { startApiServers } from "../api/server.ts";
import { hostVethName } from "../datapath/veth.ts";
import { FakeKernel, FakeNft } from "../datapath/fake_kernel.ts";
import { type PlumbingDns, type PlumbingOptions, plumbingRoutes } from "../datapath/http.ts";
import { Allocator } from "../ipam/allocator.ts";
import { FakeStore } from "../ipam/store/mod.ts";
import { discardLogger } from "../lib/log.ts";
import { plumbingIpam } from "../router/plumbing_ipam.ts";
import { attachCommand, parseAddrArgs, showAddrs } from "./attach.ts";
import { detachCommand } from "./detach.ts";
import { exposeCommand } from "./expose.ts";
import { hideCommand } from "./hide.ts";
import { type CommandContext, memoryIo } from "./io.ts";
import { psCommand } from "./ps.ts";
import { USAGE } from "./usage.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function withRouter(
  fn: (run: (argv: string[]) => Promise<Run>, k: FakeKernel, nft: FakeNft) => Promise<void>,
  extra: Pick<PlumbingOptions, "dns" | "watch" | "ipam"> = {},
) {
  const k = new FakeKernel();
  k.add("/run/netns/c1");
  k.add("/run/netns/c2");
  const nft = new FakeNft();
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  ops.routes = plumbingRoutes({
    netlink: k.host,
    log: discardLogger,
    mtu: 1410,
    nft: nft.run,
    namespaces: k.namespaces(),
    ...extra,
  });
  const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
  const run = (argv: string[]) => runCommand([...argv, "--http-addr", servers.addresses.http!]);
  try {
    await fn(run, k, nft);
  } finally {
    await servers.close();
  }
}

async function runCommand(argv: string[]): Promise<Run> {
  const io = memoryIo({}, `test-${crypto.randomUUID()}`);
  let code = 0;
  const ctx: CommandContext = { io, exit: (c) => void (code = c) };
  const program = new Command("weave").exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  for (const make of [attachCommand, detachCommand, exposeCommand, hideCommand, psCommand]) {
    const cmd = make(ctx);
    cmd.copyInheritedSettings(program);
    program.addCommand(cmd);
  }
  await program.parseAsync(argv, { from: "user" });
  return { code, stdout: io.stdout, stderr: io.stderr };
}

Deno.test("parseAddrArgs collects [ip:]<cidr> and net: forms up to the first other argument", () => {
  assert.deepEqual(
    parseAddrArgs(["10.32.0.1/12", "ip:10.32.0.2/12", "net:default", "c1", "9.9.9.9/8"]),
    {
      cidrs: ["10.32.0.1/12", "10.32.0.2/12"],
      ipam: ["net:default"],
      rest: ["c1", "9.9.9.9/8"],
    },
  );
  assert.deepEqual(parseAddrArgs(["net:10.32.0.0/24"]).ipam, ["net:10.32.0.0/24"]);
  assert.deepEqual(parseAddrArgs(["ip:c1"]).rest, ["ip:c1"]);
  assert.equal(showAddrs("10.32.0.1/12\n10.32.0.2/12\n"), "10.32.0.1 10.32.0.2\n");
  assert.equal(showAddrs(""), "\n");
});

Deno.test("weave attach / ps / detach through the router", async () => {
  await withRouter(async (run, k) => {
    const a = await run(["attach", "10.32.0.1/12", "ip:10.32.0.11/12", "c1"]);
    assert.deepEqual(a, { code: 0, stdout: "10.32.0.1 10.32.0.11\n", stderr: "" });
    assert.equal(k.host.link("weave")!.mtu, 1410, "the router's --mtu applies");
    assert.equal(k.host.link(hostVethName("c1"))!.mtu, 1410);
    const b = await run(["attach", "--no-multicast-route", "10.32.0.2/12", "/run/netns/c2"]);
    assert.equal(b.stdout, "10.32.0.2\n");
    const c2 = k.namespaces().netlink("/run/netns/c2") as typeof k.host;
    assert.deepEqual(c2.routes, []);

    const mac = (path: string, name: string) =>
      (k.namespaces().netlink(path) as typeof k.host).link(name)!.address;
    const ps = await run(["ps"]);
    assert.equal(
      ps.stdout,
      `weave:expose ${k.host.link("weave")!.address}\n` +
        `c1 ${mac("/run/netns/c1", "ethwe")} 10.32.0.1/12 10.32.0.11/12\n` +
        `c2 ${mac("/run/netns/c2", "ethwe")} 10.32.0.2/12\n`,
    );
    assert.equal(
      (await run(["ps", "c2"])).stdout,
      `c2 ${mac("/run/netns/c2", "ethwe")} 10.32.0.2/12\n`,
    );

    assert.deepEqual(await run(["detach", "10.32.0.11/12", "c1"]), {
      code: 0,
      stdout: "10.32.0.11\n",
      stderr: "",
    });
    assert.deepEqual(await run(["detach", "c1"]), { code: 0, stdout: "10.32.0.1\n", stderr: "" });
    assert.equal(k.host.link(hostVethName("c1")), undefined);
    assert.deepEqual(await run(["detach", "c1"]), { code: 0, stdout: "\n", stderr: "" });
  });
});

Deno.test("weave attach reports bad input, unknown containers and IPAM forms clearly", async () => {
  await withRouter(async (run) => {
    assert.deepEqual(await run(["attach", "10.32.0.0/12", "c1"]), {
      code: 1,
      stdout: "",
      stderr: 'Cannot use address "10.32.0.0/12": it is the network address\n',
    });
    const missing = await run(["attach", "10.32.0.1/12", "nosuch"]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^Cannot find container: no namespace "\/run\/netns\/nosuch"\n$/,
    );
    // This router runs without IPAM (as with an empty --ipalloc-range).
    const ipam = await run(["attach", "net:default", "c1"]);
    assert.equal(ipam.code, 1);
    assert.match(ipam.stderr, /^IP address allocation is disabled \(--ipalloc-range is empty\)/);
    assert.match((await run(["attach", "c1"])).stderr, /IP address allocation is disabled/);
    assert.deepEqual(await run(["attach", "10.32.0.1/12"]), { code: 1, stdout: "", stderr: USAGE });
    assert.deepEqual(await run(["detach", "a", "b"]), { code: 1, stdout: "", stderr: USAGE });
    assert.equal((await run(["ps", "bad/name"])).code, 1);
  });
});

Deno.test("weave expose / hide through the router, with and without masquerading", async () => {
  await withRouter(async (run, k, nft) => {
    assert.deepEqual(await run(["expose", "10.32.0.254/12"]), {
      code: 0,
      stdout: "10.32.0.254\n",
      stderr: "",
    });
    assert.deepEqual(nft.table, ["10.32.0.254/12"]);
    assert.equal(
      (await run(["expose", "--without-masquerade", "10.40.0.1/16"])).stdout,
      "10.40.0.1\n",
    );
    assert.deepEqual(nft.table, ["10.32.0.254/12"]);
    assert.equal(
      (await run(["ps", "weave:expose"])).stdout,
      `weave:expose ${k.host.link("weave")!.address} 10.32.0.254/12 10.40.0.1/16\n`,
    );
    assert.match((await run(["expose"])).stderr, /IP address allocation is disabled/);
    assert.deepEqual(await run(["hide", "10.32.0.254/12"]), {
      code: 0,
      stdout: "10.32.0.254\n",
      stderr: "",
    });
    assert.equal(nft.table, undefined);
    assert.deepEqual(await run(["hide"]), { code: 0, stdout: "10.40.0.1\n", stderr: "" });
  });
});

Deno.test("Weave's POST /expose/{ip}/{prefixlen} exposes with masquerading, skipNAT without", async () => {
  await withRouter(async (_run, k, nft) => {
    const [expose] = plumbingRoutes({
      netlink: k.host,
      log: discardLogger,
      nft: nft.run,
      namespaces: k.namespaces(),
    }).filter((r) => r.pattern.source.includes("prefixlen"));
    const call = async (url: string) =>
      await expose.handle(
        new Request(url, { method: "POST" }),
        matchParams(expose.pattern, url),
        new URL(url),
      );
    const res = await call("http://x/expose/10.32.0.254/12");
    assert.deepEqual([res.status, await res.text(), nft.table], [200, "", ["10.32.0.254/12"]]);
    await call("http://x/expose/10.40.0.1/16?skipNAT=true");
    assert.deepEqual(nft.table, ["10.32.0.254/12"]);
    await assert.rejects(
      call("http://x/expose/10.40.0.0/16"),
      (e) => e instanceof ApiError && e.status === 400 && /network address/.test(e.message),
    );
    const attachRoute =
      plumbingRoutes({ netlink: k.host, log: discardLogger, namespaces: k.namespaces() })[0];
    const body = new URLSearchParams({ container: "nosuch", cidr: "10.32.0.1/12" });
    await assert.rejects(
      Promise.resolve(attachRoute.handle(
        new Request("http://x/attach", { method: "POST", body }),
        {},
        new URL("http://x/attach"),
      )),
      (e) => e instanceof ApiError && e.status === 404,
    );
  });
});

function matchParams(pattern: RegExp, url: string): Record<string, string> {
  return { ...pattern.exec(new URL(url).pathname)!.groups };
}

/** Records what the plumbing tells weaveDNS and the namespace watch. */
class RecordingDns implements PlumbingDns {
  calls: string[] = [];
  attached(
    _nl: unknown,
    c: { id: string; cidrs: string[]; hostname?: string; withoutDns?: boolean },
  ) {
    this.calls.push(`attached ${c.id} ${c.cidrs.join(",")} ${c.hostname ?? "-"} ${!!c.withoutDns}`);
    return Promise.resolve();
  }
  detached(_nl: unknown, c: { id: string; cidrs: string[]; full: boolean }) {
    this.calls.push(`detached ${c.id} ${c.cidrs.join(",")} full=${c.full}`);
    return Promise.resolve();
  }
  track(id: string) {
    this.calls.push(`track ${id}`);
  }
  untrack(id: string) {
    this.calls.push(`untrack ${id}`);
  }
}

Deno.test("weave attach -h/--hostname and --without-dns reach weaveDNS; detach tells it what left", async () => {
  const dns = new RecordingDns();
  await withRouter(async (run) => {
    const a = await run(["attach", "10.32.0.1/12", "-h", "db.weave.local", "c1"]);
    assert.deepEqual(a, { code: 0, stdout: "10.32.0.1\n", stderr: "" });
    assert.equal((await run(["attach", "--hostname", "web", "10.32.0.2/12", "c1"])).code, 0);
    assert.equal((await run(["attach", "10.32.0.3/12", "--without-dns", "c2"])).code, 0);
    assert.equal((await run(["detach", "10.32.0.2/12", "c1"])).code, 0);
    assert.equal((await run(["detach", "c1"])).code, 0);
    assert.equal((await run(["detach", "10.32.0.3/12", "c2"])).code, 0);
    const bad = await run(["attach", "10.32.0.4/12", "-h", "bad name!", "c2"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid hostname "bad name!"/);
  }, { dns, watch: dns });
  assert.deepEqual(dns.calls, [
    "track c1",
    "attached c1 10.32.0.1/12 db.weave.local false",
    "track c1",
    "attached c1 10.32.0.1/12,10.32.0.2/12 web false",
    "track c2",
    "attached c2 10.32.0.3/12 - true",
    "detached c1 10.32.0.2/12 full=false",
    "untrack c1",
    "detached c1 10.32.0.1/12 full=true",
    "untrack c2",
    "detached c2 10.32.0.3/12 full=true",
  ]);
});

Deno.test("weave attach --help is help; -h is the hostname", () => {
  const io = memoryIo({}, "test-help");
  const cmd = attachCommand({ io, exit: () => {} });
  cmd.copyInheritedSettings(new Command("weave"));
  const help = cmd.helpInformation();
  assert.match(help, /-h, --hostname <fqdn>/);
  assert.match(help, /--without-dns/);
  assert.match(help, /--help/);
});

Deno.test("weave attach ip:<cidr> claims the address in IPAM: never allocated again, refused to others", async () => {
  const alloc = new Allocator({
    ourName: 0x020000000001n,
    ourUID: 1n,
    nickName: "h1",
    range: "10.32.0.0/12",
    init: "seed=02:00:00:00:00:01",
    store: new FakeStore(),
    log: discardLogger,
    peers: () => [],
    tickMs: 0,
  });
  await alloc.start();
  try {
    await withRouter(async (run) => {
      assert.deepEqual(await run(["attach", "ip:10.32.0.1/12", "c1"]), {
        code: 0,
        stdout: "10.32.0.1\n",
        stderr: "",
      });
      assert.equal((await run(["attach", "c2"])).stdout, "10.32.0.2\n", "IPAM skips the claim");
      assert.deepEqual(await run(["attach", "10.32.0.1/12", "c2"]), {
        code: 1,
        stdout: "",
        stderr: "Unable to claim: address 10.32.0.1 is already owned by c1\n",
      });
      assert.match((await run(["expose", "ip:10.32.0.2/12"])).stderr, /already owned by c2\n$/);
      assert.equal((await run(["attach", "192.168.3.4/24", "c2"])).code, 0, "outside: just used");
      assert.deepEqual(alloc.lookup("c1").map((c) => c.addr & 255), [1]);
      assert.equal((await run(["detach", "c1"])).code, 0);
      assert.deepEqual(alloc.lookup("c1"), [], "detach released the claim");
      assert.equal((await run(["attach", "10.32.0.1/12", "c2"])).stdout, "10.32.0.1\n");
    }, { ipam: plumbingIpam(alloc) });
  } finally {
    alloc.stop();
  }
});
