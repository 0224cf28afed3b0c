/**
 * One host's side of `fastdp_netns_test.ts`: runs a FastDatapath with one connection inside
 * the network namespace it was started in (async sockets cannot follow `setns`, so each host
 * gets its own process). The test relays control messages between two of these.
 *
 * Argument: a JSON {@link ChildConfig}. Standard input takes JSON lines
 * `{"control":tag,"body":hex}`, `{"cmd":"shortIDs","self":n,"remote":n}`, `{"cmd":"status"}` and
 * `{"cmd":"stop"}`; standard output carries JSON lines `{"control":…}`, `{"event":…}`,
 * `{"log":…}` and `{"status":…}`.
 *
 * @module
 */
import { createLogger } from "../../lib/log.ts";
import { NetlinkSocket } from "../../sys/netlink/socket.ts";
import { FastDatapath } from "./fastdp.ts";
import type { FastdpTiming } from "./forwarder.ts";
import { kernelFastdpHost } from "./host.ts";

/** What the test passes to a child. */
export interface ChildConfig {
  self: string;
  remote: string;
  selfShort: number;
  remoteShort: number;
  connUID: string;
  outbound: boolean;
  localIP: string;
  remoteIP: string;
  port: number;
  timing: FastdpTiming;
}

const encoder = new TextEncoder();
function emit(value: unknown): void {
  const line = JSON.stringify(value, (_, v) => typeof v === "bigint" ? v.toString() : v);
  const bytes = encoder.encode(`${line}\n`);
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));

async function main(config: ChildConfig): Promise<void> {
  const self = BigInt(config.self);
  const remote = BigInt(config.remote);
  const shorts = new Map([[self, config.selfShort], [remote, config.remoteShort]]);
  const nl = new NetlinkSocket();
  const log = createLogger({ level: "debug", write: (line) => emit({ log: line }) });
  const dp = new FastDatapath({
    localPeer: self,
    port: config.port,
    localIP: () => config.localIP,
    host: kernelFastdpHost(nl),
    log,
    timing: config.timing,
  });
  dp.register({ shortID: () => shorts.get(self)!, peerShortID: (p) => shorts.get(p) });
  await dp.start();
  const fwd = dp.prepareConnection({
    localPeer: self,
    remotePeer: remote,
    remoteNickName: "remote",
    localAddr: { hostname: config.localIP, port: config.port },
    remoteAddr: { hostname: config.remoteIP, port: config.outbound ? config.port : 40000 },
    outbound: config.outbound,
    connUID: BigInt(config.connUID),
    remoteFeatures: {},
    sendControlMessage: (tag, body) => emit({ control: tag, body: hex(body) }),
    onEstablished: () => emit({ event: "established" }),
    onError: (e) => emit({ event: "error", message: e.message }),
  });
  let healthy = false;
  const watch = setInterval(() => {
    if (fwd.healthy() === healthy) return;
    healthy = fwd.healthy();
    emit({ event: "health", healthy });
  }, 20);
  fwd.confirm();
  emit({ event: "ready" });
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let rest = "";
  outer: for await (const chunk of lines) {
    rest += chunk;
    for (let nlAt = rest.indexOf("\n"); nlAt >= 0; nlAt = rest.indexOf("\n")) {
      const msg = JSON.parse(rest.slice(0, nlAt));
      rest = rest.slice(nlAt + 1);
      if (msg.control !== undefined) fwd.controlMessage(msg.control, unhex(msg.body));
      else if (msg.cmd === "shortIDs") {
        shorts.set(self, msg.self);
        shorts.set(remote, msg.remote);
        dp.invalidateRoutes();
        emit({ event: "invalidated" });
      } else if (msg.cmd === "status") emit({ status: dp.diagnostics() });
      else if (msg.cmd === "stop") break outer;
    }
  }
  clearInterval(watch);
  await dp.stop();
  nl.close();
  emit({ event: "stopped" });
}

if (import.meta.main) await main(JSON.parse(Deno.args[0]) as ChildConfig);
