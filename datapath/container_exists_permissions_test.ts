import assert from "node:assert/strict";

const skip = Deno.build.os !== "linux";

Deno.test({
  name: "containerExists of a pid works with the router's permissions (no --allow-all)",
  ignore: skip,
  async fn() {
    const repo = new URL("../", import.meta.url).pathname;
    const perms = Deno.readTextFileSync(`${repo}scripts/permissions.txt`).split("\n")
      .filter((l) => !l.trim().startsWith("#")).flatMap((l) => l.trim().split(/\s+/))
      .filter((w) => w !== "");
    const sleeper = new Deno.Command("sleep", { args: ["30"], stdout: "null" }).spawn();
    try {
      const script = `import { containerExists } from "${repo}datapath/container.ts";\n` +
        `console.log(containerExists("pid:${sleeper.pid}"), containerExists("pid:999999999"));`;
      const file = await Deno.makeTempFile({ suffix: ".ts" });
      await Deno.writeTextFile(file, script);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", ...perms, file],
        stdout: "piped",
        stderr: "piped",
      }).output();
      await Deno.remove(file);
      const dec = new TextDecoder();
      assert.equal(dec.decode(out.stdout).trim(), "true false", dec.decode(out.stderr));
    } finally {
      sleeper.kill();
      await sleeper.status;
    }
  },
});
