/**
 * weaveDNS end to end: names added on one host resolve on every host, both through
 * `weave dns-lookup` and with `dig` against the host's DNS address; removal propagates;
 * names outside the domain go to the upstream servers. Needs root; ignored otherwise.
 */
import assert from "node:assert/strict";
import { netnsSkipReason, REPO_ROOT, TestNet, waitFor } from "./harness/netns.ts";

const skip = netnsSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

Deno.test({
  name: label("a name added on h1 resolves on h3 within a second, and removal propagates"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    await net.launch(1);
    await net.launch(2, { peers: [net.host(1).ip] });
    await net.launch(3, { peers: [net.host(2).ip] });
    for (const i of [1, 2, 3]) {
      await waitFor(async () => {
        const s = (await net.weave(i, ["status"])).stdout;
        return s.includes("Connections: 2 (2 established)") || s;
      }, { what: `h${i} fully connected`, timeoutMs: 30_000 });
    }
    const add = await net.weave(1, ["dns-add", "10.32.0.7", "web1", "-h", "web.weave.local"]);
    assert.equal(add.code, 0, add.stderr);
    await net.weave(2, ["dns-add", "10.32.0.8", "web2", "-h", "web.weave.local"]);
    const started = Date.now();
    await waitFor(async () => {
      const r = await net.weave(3, ["dns-lookup", "web"]);
      const ips = r.stdout.trim().split("\n").sort().join(",");
      return ips === "10.32.0.7,10.32.0.8" || `${r.code} ${r.stdout}${r.stderr}`;
    }, { what: "h3 to resolve web to both addresses", timeoutMs: 5_000, intervalMs: 50 });
    assert.ok(Date.now() - started < 3_000, "gossip reaches h3 quickly");

    const dig = await net.host(3).exec(["dig", "+short", "@127.0.0.1", "WEB.weave.local"]);
    assert.deepEqual(dig.stdout.trim().split("\n").sort(), ["10.32.0.7", "10.32.0.8"]);
    const nx = await net.host(3).exec(["dig", "@127.0.0.1", "nothere.weave.local"]);
    assert.match(nx.stdout, /status: NXDOMAIN/);
    const ptr = await net.host(2).exec(["dig", "+short", "@127.0.0.1", "-x", "10.32.0.7"]);
    assert.equal(ptr.stdout.trim(), "web.weave.local.");
    const status = (await net.weave(3, ["status", "dns"])).stdout;
    assert.match(status, /^web +10\.32\.0\.7 +web1 +[0-9a-f:]{17}$/m);

    assert.equal((await net.weave(1, ["dns-remove", "10.32.0.7", "web1"])).code, 0);
    await waitFor(async () => {
      const r = await net.host(3).exec(["dig", "+short", "@127.0.0.1", "web.weave.local"]);
      return r.stdout.trim() === "10.32.0.8" || r.stdout;
    }, { what: "the removed address to disappear on h3", timeoutMs: 5_000, intervalMs: 100 });
  },
});

const DENO = `${REPO_ROOT}.tools/node_modules/deno/deno`;

/** A stand-in upstream nameserver: every A question under example.test is 198.51.100.7. */
const UPSTREAM_STUB = `
import dgram from "node:dgram";
import { decodePacket, DnsFlag, encodePacket } from "${REPO_ROOT}dns/packet.ts";
const sock = dgram.createSocket("udp4");
sock.on("message", (msg, from) => {
  const q = decodePacket(new Uint8Array(msg));
  const question = q.questions[0];
  const hit = question.type === "A" && question.name.toLowerCase().endsWith("example.test");
  sock.send(encodePacket({
    id: q.id,
    type: "response",
    flags: DnsFlag.RECURSION_DESIRED | DnsFlag.RECURSION_AVAILABLE,
    questions: q.questions,
    answers: hit ? [{ name: question.name, type: "A", ttl: 60, data: "198.51.100.7" }] : [],
  }), from.port, from.address);
});
sock.bind(53, "0.0.0.0");
`;

Deno.test({
  name: label(
    "attach -h names a container; containers resolve via /etc/netns resolv.conf; names leave " +
      "on detach and namespace death and come back after kill -9; upstream forwarding",
  ),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 4 });
    const [c1, c2, c3, c1b] = [
      await net.container(1, 1),
      await net.container(2, 1),
      await net.container(3, 1),
      await net.container(1, 2),
    ];
    const written = [c1, c2, c3, c1b].map((c) => `/etc/netns/${c}`);
    try {
      // h4 runs no router: it is the upstream nameserver, listed in h3's --resolv-conf.
      const stub = net.host(4).spawn([DENO, "eval", UPSTREAM_STUB]);
      await waitFor(async () => {
        const r = await net.host(4).exec(["dig", "+short", "@127.0.0.1", "www.example.test"]);
        return r.stdout.trim() === "198.51.100.7" || r.stdout + r.stderr;
      }, { what: "the stand-in upstream to answer", timeoutMs: 20_000 });
      const resolvConf = `${net.tempDir}/upstream.conf`;
      await Deno.writeTextFile(resolvConf, `nameserver ${net.host(4).ip}\n`);
      await net.launch(1);
      await net.launch(2, { peers: [net.host(1).ip] });
      await net.launch(3, {
        args: ["--resolv-conf", resolvConf, "--dns-fallback-timeout", "1s"],
        peers: [net.host(2).ip],
      });
      for (const i of [1, 2, 3]) {
        await waitFor(async () => {
          const s = (await net.weave(i, ["status"])).stdout;
          return s.includes("Connections: 2 (2 established)") || s;
        }, { what: `h${i} fully connected`, timeoutMs: 30_000 });
      }
      const attach1 = await net.weave(1, ["attach", "10.2.1.1/24", "-h", "db.weave.local", c1]);
      assert.equal(attach1.code, 0, attach1.stderr);
      assert.equal(attach1.stdout, "10.2.1.1\n");
      assert.equal((await net.weave(2, ["attach", "10.2.1.2/24", c2])).code, 0);
      assert.equal((await net.weave(3, ["attach", "10.2.1.3/24", c3])).code, 0);
      const conf = await Deno.readTextFile(`/etc/netns/${c3}/resolv.conf`);
      assert.match(conf, /^nameserver 169\.254\.53\.1$/m);
      assert.match(conf, /^search weave\.local$/m);

      // From the container on h3: its resolv.conf points at h3's weaveDNS.
      const resolves = (c: string, name: string, want: string, timeoutMs = 15_000) =>
        waitFor(async () => {
          const r = await net.inContainer(c, ["getent", "hosts", name]);
          return r.stdout.trim().split(/\s+/)[0] === want || `${r.code} ${r.stdout}`;
        }, { what: `${name} to resolve to ${want} in ${c}`, timeoutMs });
      await resolves(c3, "db.weave.local", "10.2.1.1");
      await resolves(c3, "db", "10.2.1.1"); // the search domain
      await resolves(c2, "db.weave.local", "10.2.1.1");
      // No hostname, no name: h2's container registered nothing.
      const statusDns = (await net.weave(2, ["status", "dns"])).stdout;
      assert.doesNotMatch(statusDns, /10\.2\.1\.2/);

      // Names outside the domain go upstream; SERVFAIL once it is down.
      await resolves(c3, "www.example.test", "198.51.100.7");
      // Nobody but local containers and the host is answered on 169.254.53.1: not h4.
      await net.host(4).exec(["ip", "route", "add", "169.254.53.1/32", "via", net.host(3).ip]);
      const stranger = await net.host(4).exec([
        ...["dig", "+time=1", "+tries=1", "@169.254.53.1", "db.weave.local"],
      ]);
      assert.doesNotMatch(stranger.stdout, /status: NOERROR/, "an underlay host got an answer");
      stub.kill("SIGKILL");
      await stub.status;
      const down = await net.inContainer(c3, [
        ...["dig", "+time=5", "+tries=1", "@169.254.53.1", "www.example.test"],
      ]);
      assert.match(down.stdout, /status: SERVFAIL/);

      // Detach on h1: the name disappears everywhere, and so does our resolv.conf.
      assert.equal((await net.weave(1, ["detach", c1])).code, 0);
      await assert.rejects(() => Deno.stat(`/etc/netns/${c1}/resolv.conf`), Deno.errors.NotFound);
      for (const [i, c] of [[3, c3], [2, c2]] as const) {
        await waitFor(async () => {
          const r = await net.inContainer(c, ["getent", "hosts", "db.weave.local"]);
          return r.code === 2 || `h${i}: ${r.code} ${r.stdout}`;
        }, { what: `db.weave.local to disappear on h${i}`, timeoutMs: 10_000 });
      }

      // A namespace that disappears takes its names with it.
      assert.equal((await net.weave(1, ["attach", "10.2.1.9/24", "-h", "tmp", c1b])).code, 0);
      await resolves(c3, "tmp.weave.local", "10.2.1.9");
      await net.host(1).exec(["ip", "netns", "delete", c1b]);
      await waitFor(async () => {
        const r = await net.inContainer(c3, ["getent", "hosts", "tmp.weave.local"]);
        return r.code === 2 || `${r.code} ${r.stdout}`;
      }, { what: "the name of a deleted namespace to disappear", timeoutMs: 15_000 });

      // kill -9 and relaunch h1 with a named container attached: the name comes back.
      assert.equal((await net.weave(1, ["attach", "10.2.1.1/24", "-h", "db", c1])).code, 0);
      await resolves(c3, "db.weave.local", "10.2.1.1");
      await net.killRouter(1, "SIGKILL");
      await net.launch(1, { peers: [net.host(2).ip] });
      await waitFor(async () => {
        const s = (await net.weave(1, ["status", "dns"])).stdout;
        return /^db +10\.2\.1\.1 +\S+ +[0-9a-f:]{17}$/m.test(s) || s;
      }, { what: "h1 to hold its own name again after the restart", timeoutMs: 15_000 });
      // Up to one periodic gossip round: h3 may drop the old h1's entries (peer gone) after
      // it heard the new one's.
      await resolves(c3, "db.weave.local", "10.2.1.1", 45_000);
      await resolves(c1, "db.weave.local", "10.2.1.1"); // h1's container still reaches its DNS
    } finally {
      for (const dir of written) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
