/**
 * A real runtime: containerd and runc from Debian, a private daemon per test host, pods started
 * with `ctr run --cni` and our conflist as `weave setup-cni` installs it. On three hosts with an
 * IPAM consensus of three, the pods get distinct addresses from the routers, ping each other
 * across the hosts over fastdp, appear in `weave ps`, keep their addresses when every router
 * restarts with `--no-fastdp`, ping over sleeve, and removing them (`ctr run --rm` calls DEL)
 * releases their addresses and leaves no veth. Needs root and the Debian packages; ignored
 * otherwise.
 */
import assert from "node:assert/strict";
import { netnsSkipReason, TestNet, waitFor } from "./harness/netns.ts";
import { cniSkipReason, installPlugins, linksLike, owners } from "./_cni.ts";
import {
  busyboxRootfs,
  type Containerd,
  podExec,
  runPod,
  startContainerd,
  stopPod,
} from "./_containerd.ts";

const skip = netnsSkipReason() ?? cniSkipReason({ containerd: true });
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

/** The test hosts: three, so that IPAM needs a consensus of three. */
const HOSTS = [1, 2, 3];

async function launchAll(net: TestNet, args: string[] = []): Promise<void> {
  for (const i of HOSTS) {
    const peers = HOSTS.filter((j) => j !== i).map((j) => net.host(j).ip);
    await net.launch(i, { args, peers });
  }
  const primed = await Promise.all(
    HOSTS.map((i) => net.weave(i, ["prime"], { timeoutMs: 30_000 })),
  );
  for (const p of primed) assert.equal(p.code, 0, p.stderr);
}

async function podAddress(d: Containerd, id: string): Promise<string> {
  const r = await podExec(d, id, ["/bin/ip", "-4", "-o", "addr", "show", "eth0"]);
  const m = /inet (\d+\.\d+\.\d+\.\d+\/\d+)/.exec(r.stdout);
  assert.ok(m, `${id} has an address: ${r.stdout}${r.stderr}`);
  return m[1];
}

async function waitPing(d: Containerd, id: string, ip: string, what: string): Promise<void> {
  await waitFor(async () => {
    const r = await podExec(d, id, ["/bin/ping", "-c", "1", "-W", "1", ip]);
    return r.code === 0 || r.stdout + r.stderr;
  }, { what: `${id} to ping ${ip} over ${what}`, timeoutMs: 20_000 });
}

/** Each pod pings the next host's pod (all at once). */
async function pingAround(daemons: Containerd[], ids: string[], ip: string[], what: string) {
  await Promise.all(
    daemons.map((d, k) => waitPing(d, ids[k], ip[(k + 1) % ip.length], what)),
  );
}

async function waitConnections(net: TestNet, mode: RegExp): Promise<void> {
  await waitFor(async () => {
    const s = (await net.weave(1, ["status", "connections"])).stdout;
    return mode.test(s) || s;
  }, { what: `h1's connection to be ${mode}`, timeoutMs: 20_000 });
}

Deno.test({
  name: label(
    "ctr run --cni on three hosts: distinct IPAM addresses, ping over fastdp and sleeve, DEL releases",
  ),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: HOSTS.length });
    const cni = await installPlugins(`${net.tempDir}/cni`);
    const rootfs = await busyboxRootfs(net.tempDir);
    await launchAll(net);
    const daemons = await Promise.all(
      HOSTS.map((i) => startContainerd(net, i, `${net.tempDir}/containerd-h${i}`)),
    );
    const ids = HOSTS.map((i) => `${net.prefix}h${i}pod`);
    const stateEnv = { WEAVE_CNI_STATE_DIR: `${net.tempDir}/cni-state` };
    const children: Deno.ChildProcess[] = [];
    try {
      for (const [k, d] of daemons.entries()) {
        children.push(await runPod(net, d, { id: ids[k], rootfs, cni, env: stateEnv }));
      }
      const addrs = await Promise.all(daemons.map((d, k) => podAddress(d, ids[k])));
      for (const a of addrs) assert.match(a, /^10\.(3[2-9]|4[0-7])\.\d+\.\d+\/12$/);
      assert.equal(new Set(addrs).size, HOSTS.length, `distinct addresses: ${addrs}`);
      for (const [k, i] of HOSTS.entries()) {
        assert.deepEqual((await owners(net, i))[`default-${ids[k]}`], [addrs[k]], `h${i} holds it`);
      }
      for (const [k, i] of HOSTS.entries()) {
        const ps = await net.weave(i, ["ps"], { env: stateEnv });
        const mac = (await podExec(daemons[k], ids[k], ["/bin/cat", "/sys/class/net/eth0/address"]))
          .stdout.trim();
        const lines = ps.stdout.trim().split("\n");
        assert.match(lines[0], /^weave:expose /, ps.stdout);
        assert.deepEqual(
          lines.slice(1),
          [`default-${ids[k]} ${mac} ${addrs[k]}`],
          `h${i}: ${ps.stdout}`,
        );
      }
      const ip = addrs.map((a) => a.split("/")[0]);
      await waitConnections(net, /fastdp/);
      await pingAround(daemons, ids, ip, "fastdp");

      // Every router restarts on sleeve while the pods run: the pods keep their addresses.
      for (const i of HOSTS) assert.equal((await net.weave(i, ["stop"])).code, 0);
      await launchAll(net, ["--no-fastdp"]);
      for (const [k, i] of HOSTS.entries()) {
        assert.deepEqual((await owners(net, i))[`default-${ids[k]}`], [addrs[k]], `h${i} kept it`);
      }
      await waitConnections(net, /sleeve/);
      await pingAround(daemons, ids, ip, "sleeve");

      // Removing the pods releases their addresses; no veth is left on either host.
      for (const [k, d] of daemons.entries()) await stopPod(d, ids[k], children[k]);
      children.length = 0;
      for (const i of HOSTS) {
        const held = await owners(net, i);
        assert.deepEqual(Object.keys(held).filter((o) => o.startsWith("default-")), [], `h${i}`);
        assert.deepEqual(await linksLike(net.host(i).name, "vethwepl"), [], `h${i}`);
        const ps = await net.weave(i, ["ps"], { env: stateEnv });
        assert.equal(
          ps.stdout.trim().split("\n").length,
          1,
          `h${i}: only weave:expose: ${ps.stdout}`,
        );
      }
    } finally {
      for (const [k, child] of children.entries()) {
        await stopPod(daemons[k], ids[k], child).catch(() => {});
      }
      for (const d of daemons) await d.stop();
    }
  },
});
