/**
 * CNI plugin latency (not a test): ADD and DEL of `--pods` pods (default 100) one after another
 * through libcni (the Go driver of tests/cni_driver, built from Debian's libcni source), then
 * the same pods 8 at a time, for our `weave-net` (the router's IPAM over HTTP) and, in the same
 * run on the same host, Debian's reference `bridge` + `host-local`. Each call is one libcni
 * invocation started in the host's network namespace (`nsenter --net`), so the driver's own
 * start-up is in both columns. Needs root, the Debian packages of scripts/setup.sh.
 *
 * ```sh
 * deno run -A bench/cni.ts [--pods 100] [--parallel 8]
 * ```
 *
 * @module
 */
import { TestNet } from "../tests/harness/netns.ts";
import { runOk } from "../tests/harness/exec.ts";
import { buildDriver, DEBIAN_CNI_DIR, installPlugins } from "../tests/_cni.ts";
import { writeErr, writeOut } from "./_host.ts";

interface Row {
  name: string;
  add: number[];
  del: number[];
  addRate: number;
  delRate: number;
}

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const pods = flag("pods", 100);
  const parallel = flag("parallel", 8);
  await using net = await TestNet.create({ hosts: 1 });
  const host = net.host(1);
  await net.launch(1);
  await net.weave(1, ["prime"], { timeoutMs: 30_000 });
  const cni = await installPlugins(`${net.tempDir}/cni`);
  const driver = await buildDriver(net.tempDir);
  const ours = `${net.tempDir}/weave.conflist`;
  await Deno.writeTextFile(
    ours,
    JSON.stringify({
      cniVersion: "1.0.0",
      name: "weave",
      plugins: [{ name: "weave", type: "weave-net", hairpinMode: true }],
    }),
  );
  const reference = `${net.tempDir}/reference.conflist`;
  await Deno.writeTextFile(
    reference,
    JSON.stringify({
      cniVersion: "1.0.0",
      name: "refnet",
      plugins: [{
        type: "bridge",
        bridge: "cnibr0",
        isGateway: true,
        ipam: { type: "host-local", subnet: "10.99.0.0/16", dataDir: `${net.tempDir}/host-local` },
      }],
    }),
  );
  writeErr(`making ${pods} pod namespaces\n`);
  const netns: string[] = [];
  for (let i = 0; i < pods; i++) netns.push(await net.container(1, i + 1));
  const call = async (action: string, conflist: string, i: number) => {
    const args = [
      `--net=/run/netns/${host.name}`,
      driver,
      ...[action, conflist, `/run/netns/${netns[i]}`, `bench${i}pod`, "eth0"],
      ...[`${cni.binDir}:${DEBIAN_CNI_DIR}`, `${net.tempDir}/cache`],
    ];
    const t0 = performance.now();
    const out = await new Deno.Command("nsenter", { args, stdout: "piped", stderr: "piped" })
      .output();
    const ms = performance.now() - t0;
    if (out.code !== 0) {
      throw new Error(`${action} pod ${i}: ${new TextDecoder().decode(out.stdout)}`);
    }
    return ms;
  };
  const rows: Row[] = [];
  for (
    const [name, conflist] of [["weave-net (router IPAM)", ours], [
      "bridge + host-local",
      reference,
    ]]
  ) {
    writeErr(`${name}: ${pods} pods one at a time\n`);
    const add: number[] = [];
    const del: number[] = [];
    for (let i = 0; i < pods; i++) add.push(await call("add", conflist, i));
    for (let i = 0; i < pods; i++) del.push(await call("del", conflist, i));
    writeErr(`${name}: ${pods} pods, ${parallel} at a time\n`);
    const rate = async (action: string) => {
      const t0 = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: parallel }, async () => {
        while (next < pods) await call(action, conflist, next++);
      }));
      return pods / ((performance.now() - t0) / 1000);
    };
    const addRate = await rate("add");
    const delRate = await rate("del");
    rows.push({ name, add, del, addRate, delRate });
  }
  const uname = (await runOk(["uname", "-r"])).trim();
  const nproc = navigator.hardwareConcurrency;
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  writeOut(`deno run -A bench/cni.ts --pods ${pods} --parallel ${parallel}\n`);
  writeOut(`${nproc} cores, Linux ${uname}, Deno ${Deno.version.deno}, load average ${load}\n\n`);
  writeOut(
    `| plugin | ADD p50 | ADD p99 | DEL p50 | DEL p99 | ADD pods/s (${parallel} at a time) | DEL pods/s |\n`,
  );
  writeOut("| --- | --- | --- | --- | --- | --- | --- |\n");
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  for (const r of rows) {
    writeOut(
      `| ${r.name} | ${f(percentile(r.add, 50))} | ${f(percentile(r.add, 99))} | ` +
        `${f(percentile(r.del, 50))} | ${f(percentile(r.del, 99))} | ${r.addRate.toFixed(0)} | ` +
        `${r.delRate.toFixed(0)} |\n`,
    );
  }
  const [w, b] = rows;
  writeOut(
    `\nratio weave-net / reference: ADD p50 ×${
      (percentile(w.add, 50) / percentile(b.add, 50)).toFixed(2)
    }, ` +
      `DEL p50 ×${(percentile(w.del, 50) / percentile(b.del, 50)).toFixed(2)}, ` +
      `ADD pods/s ×${(w.addRate / b.addRate).toFixed(2)}\n`,
  );
}

if (import.meta.main) await main();
