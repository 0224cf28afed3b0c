import assert from "node:assert/strict";
import { bundleWrapperScript, RUNTIME_DIR, setupCni, wrapperScript } from "./install.ts";

Deno.test("setupCni installs both plugins and the conflist; twice is safe and keeps edits", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fakeBinary = `${dir}/weave-binary`;
    await Deno.writeTextFile(fakeBinary, "#!/bin/sh\necho binary\n");
    const opts = {
      binDir: `${dir}/bin`,
      confDir: `${dir}/net.d`,
      program: { kind: "binary" as const, path: fakeBinary },
    };
    await Deno.mkdir(opts.confDir, { recursive: true });
    await Deno.writeTextFile(`${opts.confDir}/10-weave.conf`, "{}");
    const first = await setupCni({ ...opts, hairpinMode: "false" });
    assert.deepEqual(first, {
      plugins: [`${dir}/bin/weave-net`, `${dir}/bin/weave-ipam`],
      conflist: `${dir}/net.d/10-weave.conflist`,
      removed: `${dir}/net.d/10-weave.conf`,
    });
    for (const p of first.plugins) {
      assert.equal(await Deno.readTextFile(p), "#!/bin/sh\necho binary\n");
      assert.equal((await Deno.stat(p)).mode! & 0o777, 0o755);
    }
    const conf = JSON.parse(await Deno.readTextFile(first.conflist!));
    assert.equal(conf.cniVersion, "1.0.0");
    assert.deepEqual(conf.cniVersions, ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
    assert.deepEqual(conf.plugins.map((p: { type: string }) => p.type), ["weave-net", "portmap"]);
    assert.equal(conf.plugins[0].hairpinMode, false);
    await Deno.writeTextFile(first.conflist!, "edited\n");
    const second = await setupCni(opts);
    assert.deepEqual(second, { plugins: first.plugins });
    assert.equal(await Deno.readTextFile(first.conflist!), "edited\n");
    const left = [...Deno.readDirSync(opts.binDir)].map((e) => e.name).sort();
    assert.deepEqual(left, ["weave-ipam", "weave-net"], "no temporary files left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setupCni from sources installs wrapper scripts that run the launcher as each plugin", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await setupCni({
      binDir: dir,
      confDir: `${dir}/conf`,
      program: { kind: "launcher", path: "/src/it's/weave" },
    });
    const script = await Deno.readTextFile(`${dir}/weave-ipam`);
    assert.equal(script, wrapperScript("weave-ipam", "/src/it's/weave"));
    assert.match(script, /^#!\/bin\/sh\n/);
    assert.match(script, /\nWEAVE_CNI_PLUGIN=weave-ipam\nexport WEAVE_CNI_PLUGIN\n/);
    assert.match(script, /\nexec '\/src\/it'\\''s\/weave' "\$@"\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setupCni self-contained copies Deno and the bundle; the plugin runs them from beside itself", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bundle = `${dir}/weave.js`;
    await Deno.writeTextFile(
      bundle,
      'console.log(JSON.stringify([Deno.env.get("WEAVE_CNI_PLUGIN"), ...Deno.args]));',
    );
    const args = ["--allow-env", "--quiet"];
    await setupCni({
      binDir: `${dir}/bin`,
      confDir: `${dir}/conf`,
      program: { kind: "bundle", path: Deno.execPath(), bundle, args },
    });
    assert.equal(
      await Deno.readTextFile(`${dir}/bin/weave-net`),
      bundleWrapperScript("weave-net", args),
    );
    assert.ok((await Deno.stat(`${dir}/bin/${RUNTIME_DIR}/deno`)).isFile);
    // Moved elsewhere (as a host mounts the directory at another path), it still runs.
    await Deno.rename(`${dir}/bin`, `${dir}/moved`);
    await Deno.remove(bundle);
    const out = await new Deno.Command(`${dir}/moved/weave-ipam`, { args: ["x"], cwd: "/" })
      .output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), ["weave-ipam", "x"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
