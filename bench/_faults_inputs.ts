/**
 * Hostile inputs for the fault campaign, from a seeded generator (a seed replays a run):
 * random bytes, and structure-aware mutations of well-formed messages (bit flips,
 * truncation, inserted and repeated runs, extreme bytes), for each socket a router opens.
 *
 * @module
 */
import { encodeFeatures } from "../mesh/features.ts";
import {
  encodeBroadcastBody,
  encodeGossipBody,
  encodeUnicastBody,
} from "../mesh/gossip_envelope.ts";
import { encodeMessage, encodeOverlayControl, ProtocolTag } from "../mesh/messages.ts";
import { encodeProtocolHeader } from "../mesh/protocol_header.ts";
import { encodeTopology } from "../mesh/topology_codec/codec.ts";
import type { TopologyEntry } from "../mesh/topology_types.ts";
import {
  encodeFrames,
  fragTestFrame,
  heartbeatFrame,
  mtuTestFrame,
} from "../datapath/sleeve/packet.ts";
import type { PeerName } from "../lib/peer_name.ts";

/** Uniform numbers in [0, 1). */
export type Random = () => number;

const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[int(r, xs.length)];

/** `n` random bytes. */
export function randomBytes(r: Random, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => int(r, 256));
}

/**
 * One to three mutations of `bytes` (a copy): flipped bits, a truncation, an inserted random
 * run, a repeated run, or bytes set to 0x00/0xff/0x7f/0x80.
 */
export function mutate(r: Random, bytes: Uint8Array): Uint8Array {
  let out: Uint8Array = bytes.slice();
  for (let n = 1 + int(r, 3); n > 0; n--) {
    const at = out.length === 0 ? 0 : int(r, out.length);
    switch (int(r, 5)) {
      case 0:
        if (out.length) out[at] ^= 1 << int(r, 8);
        break;
      case 1:
        out = out.slice(0, at);
        break;
      case 2:
        out = concat(out.subarray(0, at), randomBytes(r, 1 + int(r, 16)), out.subarray(at));
        break;
      case 3: {
        const run = out.subarray(at, at + 1 + int(r, 64));
        out = concat(out.subarray(0, at), run, run, out.subarray(at + run.length));
        break;
      }
      default:
        if (out.length) out[at] = pick(r, [0x00, 0xff, 0x7f, 0x80]);
    }
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Features of a made-up peer (the attacker's intro). */
export function attackerFeatures(r: Random, name: string): Record<string, string> {
  return {
    PeerNameFlavour: "mac",
    Name: name,
    NickName: pick(r, ["evil", "x".repeat(300), "\u0000\u00ff", "a\nINFO: forged"]),
    UID: String(1 + int(r, 2 ** 31)),
    ConnID: String(1 + int(r, 2 ** 31)),
    ShortID: String(int(r, 4096)),
    Trusted: "false",
  };
}

/** Bytes a client sends before (or instead of) a handshake: random, or a mutated valid start. */
export function preHandshakeInput(r: Random): Uint8Array {
  const header = encodeProtocolHeader(1, 2);
  const features = encodeFeatures({
    PeerNameFlavour: "mac",
    Name: "02:00:00:00:ee:01",
    NickName: "x",
    UID: "1",
    ConnID: "2",
  });
  const framed = concat(Uint8Array.of(0, 0, features.length >> 8, features.length & 255), features);
  switch (int(r, 4)) {
    case 0:
      return randomBytes(r, int(r, 300));
    case 1:
      return mutate(r, header);
    case 2:
      return concat(header, Uint8Array.of(int(r, 3)), mutate(r, framed));
    default:
      return mutate(r, concat(header, Uint8Array.of(0), framed));
  }
}

/** A random but well-formed topology update naming `sender` and made-up peers. */
function topology(r: Random, sender: PeerName): Uint8Array {
  const names = [
    sender,
    ...Array.from({ length: int(r, 6) }, () => 0x0e0000000000n + BigInt(int(r, 1e6))),
  ];
  const entries: TopologyEntry[] = names.map((name) => ({
    peer: {
      name,
      nickName: "n",
      uid: BigInt(1 + int(r, 1e9)),
      version: BigInt(int(r, 100)),
      shortID: int(r, 4096),
      hasShortID: r() < 0.9,
    },
    connections: names.filter((n) => n !== name && r() < 0.5).map((n) => ({
      name: n,
      remoteTCPAddr: `127.0.0.${1 + int(r, 250)}:${int(r, 65536)}`,
      outbound: r() < 0.5,
      established: r() < 0.5,
    })),
  }));
  return encodeTopology(entries);
}

/**
 * A message (tag byte and body) for after the handshake: gossip on known and made-up
 * channels, unicast, broadcast, overlay control, heartbeats, unknown tags — mutated in half
 * the cases.
 */
export function meshMessage(r: Random, sender: PeerName, victim: PeerName): Uint8Array {
  const channel = pick(r, ["topology", "IPallocation", "nameserver", `made-up-${int(r, 40)}`]);
  const payload = channel === "topology" ? topology(r, sender) : randomBytes(r, int(r, 2000));
  let message: Uint8Array;
  switch (int(r, 6)) {
    case 0:
      message = encodeMessage(ProtocolTag.Gossip, encodeGossipBody({ channel, sender, payload }));
      break;
    case 1:
      message = encodeMessage(
        ProtocolTag.GossipBroadcast,
        encodeBroadcastBody({ channel, origin: sender, payload }),
      );
      break;
    case 2:
      message = encodeMessage(
        ProtocolTag.GossipUnicast,
        encodeUnicastBody({ channel, source: sender, destination: victim, payload }),
      );
      break;
    case 3:
      message = encodeMessage(
        ProtocolTag.OverlayControlMsg,
        encodeOverlayControl(int(r, 3), int(r, 5), randomBytes(r, int(r, 8))),
      );
      break;
    case 4:
      message = encodeMessage(ProtocolTag.Heartbeat, new Uint8Array());
      break;
    default:
      message = encodeMessage(int(r, 256), randomBytes(r, int(r, 100)));
  }
  return r() < 0.5 ? mutate(r, message) : message;
}

/** A datagram for the sleeve port: frames under a peer's name, mutated, or random. */
export function sleeveDatagram(r: Random, sender: PeerName, victim: PeerName): Uint8Array {
  const ethernet = () => {
    const f = randomBytes(r, 14 + int(r, 200));
    if (r() < 0.3) f[6] |= 1; // a multicast source MAC
    return f;
  };
  const frame = pick(r, [
    () => heartbeatFrame(BigInt(int(r, 2 ** 31))),
    fragTestFrame,
    () => mtuTestFrame(500 + int(r, 1000)),
    ethernet,
    ethernet,
  ])();
  const frames = Array.from({ length: 1 + int(r, 4) }, () => ({
    src: r() < 0.8 ? sender : BigInt(int(r, 2 ** 40)),
    dst: r() < 0.8 ? victim : BigInt(int(r, 2 ** 40)),
    frame,
  }));
  const datagram = encodeFrames(sender, frames);
  switch (int(r, 3)) {
    case 0:
      return datagram;
    case 1:
      return mutate(r, datagram);
    default:
      return randomBytes(r, int(r, 1500));
  }
}

/** One HTTP request line's worth of hostility, for `fetch`. */
export interface HttpProbe {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

/** Bad paths, methods, escapes, huge headers and bodies, junk connect targets. */
export function httpProbe(r: Random): HttpProbe {
  const junk = () =>
    pick(r, ["%ff%00", "%e2%82", "%00", "..%2f..%2fetc%2fpasswd", "%zz", "a".repeat(5000), "%25"]);
  switch (int(r, 7)) {
    case 0:
      return { method: pick(r, ["DELETE", "GET", "PUT"]), path: `/peer/${junk()}` };
    case 1:
      return { method: pick(r, ["GET", "POST", "PATCH", "OPTIONS", "HEAD"]), path: `/${junk()}` };
    case 2:
      return {
        method: "POST",
        path: "/connect",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: Array.from({ length: 1 + int(r, 20) }, () => `peer=${junk()}`).join("&"),
      };
    case 3:
      return { method: "POST", path: "/connect", body: new Uint8Array(1 + int(r, 3 << 20)) };
    case 4:
      return { method: "GET", path: "/status", headers: { "x-junk": "v".repeat(int(r, 60_000)) } };
    case 5:
      return { method: "GET", path: `/report?format=${junk()}{{${junk()}}}` };
    default:
      return { method: pick(r, ["GET", "POST"]), path: `/status/${junk()}` };
  }
}
