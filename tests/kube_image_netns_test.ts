/**
 * The image of scripts/image.sh in a real runtime: on three test hosts a private dockerd
 * (tests/harness/dockerd.ts) imports the image and runs it as the DaemonSet's `weave` container
 * — host network, the capabilities it needs instead of `--privileged`, the manifest's env and
 * its volumes as directories (DB_PREFIX's /weavedb, HOST_ROOT's /host/opt and /host/etc) —
 * against the stand-in Kubernetes API (tests/kube_api/, not a kube-apiserver) in a fourth host.
 * The routers find each other from the Node list and reach IPAM consensus; `weave setup-cni`
 * of the image has installed the conflist under HOST_ROOT; pods started with `ctr run --cni`
 * (containerd per host) get addresses from the image's routers and ping across the hosts.
 *
 * The pods' CNI plugin is the one the image installed under HOST_ROOT: self-contained (a copy
 * of the image's Deno and bundle beside it), run by `ctr` on the host. Needs root, docker.io,
 * containerd and busybox-static; ignored otherwise.
 */
import assert from "node:assert/strict";
import { netnsSkipReason, REPO_ROOT, TestNet, waitFor } from "./harness/netns.ts";
import { runOk } from "./harness/exec.ts";
import { dockerdSkipReason, TestDockerd } from "./harness/dockerd.ts";
import { cniSkipReason, owners } from "./_cni.ts";
import {
  busyboxRootfs,
  type Containerd,
  podExec,
  runPod,
  startContainerd,
  stopPod,
} from "./_containerd.ts";

const skip = netnsSkipReason() ?? dockerdSkipReason() ?? cniSkipReason({ containerd: true });
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;
const IMAGE = "weave-ts/weave:latest";
const PORT = 6443;
const HOSTS = [1, 2, 3];
const API_HOST = 4;

/** Starts the stand-in API server in host `API_HOST` with Nodes `h<i>` of `HOSTS`. */
async function startApi(net: TestNet): Promise<{ stop(): Promise<void> }> {
  const h = net.host(API_HOST);
  const nodes = HOSTS.map((i) => `h${i}=${net.host(i).ip}`);
  const serve = `${REPO_ROOT}tests/kube_api/serve.ts`;
  const api = h.spawn([Deno.execPath(), "run", "-A", serve, h.ip, String(PORT), ...nodes], {
    stdout: "piped",
    stderr: "null",
  });
  let out = "";
  (async () => {
    for await (const c of api.stdout.pipeThrough(new TextDecoderStream())) out += c;
  })().catch(() => {});
  await waitFor(() => out.includes("listening"), { what: "the stand-in API", timeoutMs: 20_000 });
  return {
    async stop() {
      try {
        api.kill("SIGTERM");
      } catch { /* gone */ }
      await api.status;
    },
  };
}

/** The kubeconfig the containers read (mounted at /etc/weave/kubeconfig). */
async function writeKubeconfig(net: TestNet): Promise<string> {
  const path = `${net.tempDir}/kubeconfig`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      "current-context": "test",
      clusters: [{ name: "c", cluster: { server: `http://${net.host(API_HOST).ip}:${PORT}` } }],
      users: [{ name: "u", user: { token: "test-token" } }],
      contexts: [{ name: "test", context: { cluster: "c", user: "u" } }],
    }),
  );
  return path;
}

/** `docker run` of the image as the DaemonSet's `weave` container on host `i`. */
async function runWeave(net: TestNet, d: TestDockerd, i: number, kubeconfig: string) {
  const hostRoot = `${net.tempDir}/h${i}/host`;
  const db = `${net.tempDir}/h${i}/weavedb`;
  for (const dir of [`${hostRoot}/opt`, `${hostRoot}/etc`, db]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  const r = await d.docker([
    "run",
    "-d",
    "--name",
    "weave",
    "--network",
    "host",
    ...["--device", "/dev/net/tun"],
    ...["--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW", "--cap-add", "SYS_ADMIN"],
    ...[
      "-v",
      `${db}:/weavedb`,
      "-v",
      `${hostRoot}/opt:/host/opt`,
      "-v",
      `${hostRoot}/etc:/host/etc`,
    ],
    ...["-v", `${kubeconfig}:/etc/weave/kubeconfig:ro`],
    ...["-e", "KUBECONFIG=/etc/weave/kubeconfig", "-e", `HOSTNAME=h${i}`, "-e", "EXPECT_NPC=0"],
    ...["-e", "INIT_CONTAINER=true"],
    IMAGE,
    "kube-launch",
  ]);
  assert.equal(r.code, 0, r.stderr);
  return hostRoot;
}

async function podAddress(d: Containerd, id: string): Promise<string> {
  const r = await podExec(d, id, ["/bin/ip", "-4", "-o", "addr", "show", "eth0"]);
  const m = /inet (\d+\.\d+\.\d+\.\d+)\/\d+/.exec(r.stdout);
  assert.ok(m, `${id} has an address: ${r.stdout}${r.stderr}`);
  return m[1];
}

Deno.test({
  name: label("the image under dockerd on three hosts: kube-launch, IPAM consensus, pods ping"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await runOk(["bash", `${REPO_ROOT}scripts/image.sh`], { timeoutMs: 120_000 });
    await using net = await TestNet.create({ hosts: 4 });
    const api = await startApi(net);
    const kubeconfig = await writeKubeconfig(net);
    const engines: TestDockerd[] = [];
    const daemons: Containerd[] = [];
    const pods: { d: Containerd; id: string; child: Deno.ChildProcess }[] = [];
    const logs = async () => {
      const out = await Promise.all(engines.map((d) => d.docker(["logs", "weave"])));
      return out.map((r, k) => `--- h${HOSTS[k]}\n${r.stdout}${r.stderr}`).join("\n");
    };
    try {
      for (const i of HOSTS) {
        const d = await TestDockerd.start(net.host(i).name, `${net.tempDir}/dockerd-h${i}`);
        engines.push(d);
        await runOk(["bash", `${REPO_ROOT}scripts/image.sh`, "--load", `unix://${d.socket}`]);
      }
      const version = await engines[0].docker([
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "version",
      ]);
      assert.equal(version.code, 0, version.stderr);
      assert.equal(version.stdout, (await net.weave(1, ["version"])).stdout);
      // libsodium (sleeve encryption over FFI) loads in the image.
      const sodium = await engines[0].docker([
        ...["run", "--rm", "--network", "none", "--entrypoint", "/home/weave/deno", IMAGE],
        ...[
          "eval",
          'Deno.dlopen("libsodium.so.23", { sodium_init: { parameters: [], result: "i32" } })',
        ],
      ]);
      assert.equal(sodium.code, 0, sodium.stderr);

      const hostRoots = [];
      for (const [k, i] of HOSTS.entries()) {
        hostRoots.push(await runWeave(net, engines[k], i, kubeconfig));
      }
      await Promise.all(engines.map((d) =>
        waitFor(async () => {
          const r = await d.docker(["exec", "weave", "/home/weave/weave", "prime"], {
            timeoutMs: 20_000,
          });
          return r.code === 0 || `${r.stdout}${r.stderr}\n${await logs()}`;
        }, { what: "IPAM consensus (weave prime in the container)", timeoutMs: 60_000 })
      ));

      // The peers came from the Node list (no KUBE_PEERS): h1 and h2 are connected over fastdp.
      const conns = await engines[0].docker([
        "exec",
        "weave",
        "/home/weave/weave",
        "status",
        "connections",
      ]);
      assert.match(
        conns.stdout,
        new RegExp(`${net.host(2).ip.replaceAll(".", "\\.")}:\\d+ +established fastdp .*\\(h2\\)`),
        conns.stdout,
      );

      // The image's setup-cni installed the conflist and self-contained plugins: a copy of the
      // image's Deno and bundle beside them, which the host runs with its own C library.
      for (const root of hostRoots) {
        const confPath = `${root}/etc/cni/net.d/10-weave.conflist`;
        await waitFor(() => Deno.stat(confPath).then(() => true, () => false), {
          what: `kube-launch to install ${confPath}`,
          timeoutMs: 30_000,
        });
        const conf = await Deno.readTextFile(confPath);
        assert.equal(JSON.parse(conf).plugins[0].type, "weave-net");
        const plugin = await Deno.readTextFile(`${root}/opt/cni/bin/weave-net`);
        assert.match(plugin, /\$dir\/deno" run .*"\$dir\/weave\.js"/);
        assert.doesNotMatch(plugin, /\/home\/weave/);
        assert.ok((await Deno.stat(`${root}/opt/cni/bin/weave-ts/weave.js`)).isFile);
      }

      const rootfs = await busyboxRootfs(net.tempDir);
      for (const [k, i] of HOSTS.entries()) {
        const d = await startContainerd(net, i, `${net.tempDir}/containerd-h${i}`);
        daemons.push(d);
        const id = `${net.prefix}h${i}pod`;
        const cni = {
          binDir: `${hostRoots[k]}/opt/cni/bin`,
          confDir: `${hostRoots[k]}/etc/cni/net.d`,
        };
        const env = { WEAVE_CNI_STATE_DIR: `${net.tempDir}/cni-state-h${i}` };
        pods.push({ d, id, child: await runPod(net, d, { id, rootfs, cni, env }) });
      }
      const addrs = await Promise.all(pods.map((p) => podAddress(p.d, p.id)));
      for (const a of addrs) assert.match(a, /^10\.(3[2-9]|4[0-7])\.\d+\.\d+$/);
      assert.equal(new Set(addrs).size, addrs.length, `distinct addresses: ${addrs}`);
      for (const [k, i] of HOSTS.entries()) {
        const held = (await owners(net, i))[`default-${pods[k].id}`];
        assert.deepEqual(held, [`${addrs[k]}/12`], `h${i}'s router (in the image) holds it`);
      }
      await Promise.all(pods.map((p, k) =>
        waitFor(async () => {
          const target = addrs[(k + 1) % addrs.length];
          const r = await podExec(p.d, p.id, ["/bin/ping", "-c", "1", "-W", "1", target]);
          return r.code === 0 || r.stdout + r.stderr;
        }, { what: `${p.id} to ping across the hosts`, timeoutMs: 20_000 })
      ));
    } finally {
      for (const p of pods) await stopPod(p.d, p.id, p.child).catch(() => {});
      for (const d of daemons) await d.stop();
      for (const d of engines) {
        await d.docker(["rm", "-f", "weave"], { timeoutMs: 30_000 }).catch(() => {});
        await d[Symbol.asyncDispose]();
      }
      await api.stop();
    }
  },
});
