/**
 * One host's whole sleeve data plane, for the namespace test (network_router_netns_test.ts):
 * run it inside a host's network namespace (`ip netns exec`), it opens the TAP
 * `vethwe-pcap`, attaches it to the existing bridge `weave`, and wires
 * SleeveOverlay → OverlaySwitch → MeshRouter → NetworkRouter → TapCapture the way the
 * router daemon is expected to, then connects to the given peers. Prints `READY` on stdout once
 * listening; stops on SIGTERM. Not a library module.
 *
 * Usage: `deno run -A _netns_host.ts <peer-name> <nickname> [--password <pw>] [peer-ip ...]`
 *
 * @module
 */
import { createLogger } from "../lib/log.ts";
import { parsePeerName } from "../lib/peer_name.ts";
import { MeshRouter } from "../mesh/router.ts";
import { openTap } from "../sys/tap.ts";
import { NetworkRouter } from "./network_router.ts";
import { OverlaySwitch } from "./overlay_switch.ts";
import { SleeveOverlay } from "./sleeve/sleeve.ts";
import { TapCapture } from "./tap_capture.ts";

const PORT = 6783;

async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`Cannot run ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function main(args: string[]): Promise<void> {
  const [nameText, nickName, ...rest] = args;
  let password: Uint8Array | undefined;
  if (rest[0] === "--password") {
    password = new TextEncoder().encode(rest[1]);
    rest.splice(0, 2);
  }
  const name = parsePeerName(nameText);
  const log = createLogger({ level: "info" });
  // 65521: the largest MTU a TAP takes (65535 minus its Ethernet header).
  const tap = openTap("vethwe-pcap", { mtu: 65521, offload: true });
  await ip("link", "set", "vethwe-pcap", "master", "weave", "up");

  const sleeve = new SleeveOverlay({ localPeer: name, port: PORT, log });
  await sleeve.start();
  const overlay = new OverlaySwitch([{ name: "sleeve", overlay: sleeve }], { log });
  const mesh = new MeshRouter({
    name,
    nickName,
    port: PORT,
    password,
    connLimit: 0,
    discovery: true,
    overlay,
    log,
  });
  const capture = new TapCapture({ tap, log });
  const router = new NetworkRouter({
    mesh: {
      ourName: name,
      unicastNextHop: (dst) => mesh.routes.unicast(dst),
      broadcastNextHops: (origin) => mesh.routes.broadcast(origin),
      peerNick: (peer) => mesh.peers.get(peer)?.nickName,
    },
    overlay,
    inject: (frame) => capture.inject(frame),
    log,
  });
  overlay.setConsumer(router);
  mesh.onPeerGone((peer) => router.onPeerGone(peer));
  mesh.start();
  router.start();
  capture.start((frame) => router.handleCaptured(frame));
  for (const err of mesh.connectionMaker.initiateConnections(rest, false)) log.error(err.message);
  Deno.stdout.writeSync(new TextEncoder().encode("READY\n"));

  const stopped = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGTERM", () => stopped.resolve());
  await stopped.promise;
  mesh.stop();
  router.stop();
  await capture.stop();
  await overlay.stop();
  const s = sleeve.diagnostics();
  log.info(`sleeve: ${JSON.stringify(s)}; router: ${JSON.stringify(router.stats())}`);
}

if (import.meta.main) await main(Deno.args);
