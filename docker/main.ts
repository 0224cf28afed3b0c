/**
 * Runs the Docker integration (proxy, plugin) as its own process, until
 * SIGTERM/SIGINT, with `weave launch`'s Docker flags (see `config.ts`) plus
 * where the router is (`--http-addr <host:port>`, default 127.0.0.1:6784, or
 * `--socket <path>`) and `--no-dns`:
 * `deno run -A docker/main.ts [--proxy=false] [--plugin=false] [-H unix:///…] [--docker-api …] …`.
 * `weave launch` is meant to start the same {@link startDockerServices} in the router.
 *
 * @module
 */
import { createLogger } from "../lib/log.ts";
import { DOCKER_BOOL_FLAGS, DOCKER_VALUE_FLAGS, parseDockerConfig } from "./config.ts";
import { startDockerServices } from "./services.ts";

/** Splits argv into value and boolean flags (`--f v`, `--f=v`, `-H v`, `--b`, `--b=false`). */
export function scanDockerArgs(
  argv: readonly string[],
  extra: { values: string[]; bools: string[] } = { values: [], bools: [] },
): { values: Map<string, string>; bools: Map<string, boolean> } {
  const valueFlags = new Set([...DOCKER_VALUE_FLAGS, ...extra.values]);
  const boolFlags = new Set([...DOCKER_BOOL_FLAGS, ...extra.bools]);
  const values = new Map<string, string>();
  const bools = new Map<string, boolean>();
  for (let i = 0; i < argv.length; i++) {
    const body = argv[i].replace(/^--?/, "");
    const eq = body.indexOf("=");
    const flag = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (boolFlags.has(flag)) bools.set(flag, inline === undefined || /^(1|t|true)$/i.test(inline));
    else if (valueFlags.has(flag)) {
      const v = inline ?? argv[++i];
      if (v === undefined) {
        throw new SyntaxError(`Cannot parse arguments: flag "${argv[i - 1]}" needs a value`);
      }
      values.set(flag, v);
    } else throw new SyntaxError(`Cannot parse arguments: unknown flag "${argv[i].split("=")[0]}"`);
  }
  return { values, bools };
}

if (import.meta.main) {
  const { values, bools } = scanDockerArgs(Deno.args, {
    values: ["http-addr", "socket"],
    bools: ["no-dns"],
  });
  const log = createLogger({ level: "info" });
  const config = parseDockerConfig(values, bools, Deno.env.toObject(), {
    noDns: bools.get("no-dns"),
  });
  const socket = values.get("socket");
  const api = socket
    ? { socketPath: socket }
    : { httpAddr: values.get("http-addr") ?? "127.0.0.1:6784" };
  await using services = await startDockerServices({ config, api, log });
  log.info(
    `Docker services: proxy ${services.proxyAddresses.join(" ") || "off"}, ` +
      `plugin ${services.pluginSockets.join(" ") || "off"}`,
  );
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGTERM", resolve);
    Deno.addSignalListener("SIGINT", resolve);
  });
}
