/**
 * Test fixture: every `IPallocation` payload of the plain Weave 2.8.1
 * capture (testdata/captures, README), in capture-time order. Each
 * TCP connection is read from its dialler's pcap, as tests/captures_test.ts
 * does; both directions of all three connections are included.
 *
 * @module
 */
import { decodeCapture } from "../tests/captures/pcap.ts";
import { reassembleTcp, type TcpStream, timeAt } from "../tests/captures/tcp_streams.ts";
import { FrameReader } from "../mesh/framing.ts";
import { decodeMessage } from "../mesh/messages.ts";
import { decodeGossipBody } from "../mesh/gossip_envelope.ts";
import { parsePeerName, type PeerName } from "../lib/peer_name.ts";

const CAPTURES = new URL("../testdata/captures/", import.meta.url);
const HOSTS = [
  { nick: "h1", ip: "192.0.2.1" },
  { nick: "h2", ip: "192.0.2.2" },
  { nick: "h3", ip: "192.0.2.3" },
];
const PORT = 6783;

/** The plain scenario's peers (README table). */
export const CAPTURE_PEERS = {
  h1: { name: parsePeerName("02:00:00:00:00:01"), uid: 4021037808612341783n },
  h2: { name: parsePeerName("02:00:00:00:00:02"), uid: 3332465998415520393n },
  h3: { name: parsePeerName("02:00:00:00:00:03"), uid: 9761223760850005223n },
};

/** One captured IPAM payload. */
export interface CapturedIpamPayload {
  time: number;
  /** 4 gossip, 5 unicast (payload starts with the type byte), 6 broadcast. */
  tag: 4 | 5 | 6;
  /** Sending host's nick. */
  from: string;
  /** Unicast source and destination. */
  source?: PeerName;
  destination?: PeerName;
  payload: Uint8Array;
}

function framesOf(stream: TcpStream, outbound: boolean): { time: number; bytes: Uint8Array }[] {
  // 7-byte protocol header + 1-byte flag (0: no encryption in this scenario).
  let offset = 8;
  const reader = new FrameReader({ outbound });
  reader.push(stream.bytes.subarray(offset));
  const frames = [];
  for (let f = reader.next(); f !== null; f = reader.next()) {
    offset += 4 + f.length;
    frames.push({ time: timeAt(stream, offset - 1), bytes: f });
  }
  return frames;
}

let cache: Promise<CapturedIpamPayload[]> | undefined;

/** Loads (once) every IPAM payload of the plain capture, sorted by time. */
export function capturedIpamPayloads(): Promise<CapturedIpamPayload[]> {
  cache ??= load();
  return cache;
}

async function load(): Promise<CapturedIpamPayload[]> {
  const out: CapturedIpamPayload[] = [];
  for (const host of HOSTS) {
    const pcap = await Deno.readFile(new URL(`plain-${host.nick}.pcap`, CAPTURES));
    for (const tcp of reassembleTcp(decodeCapture(pcap))) {
      if (tcp.acceptor.port !== PORT || tcp.dialler.ip !== host.ip) continue;
      const peer = HOSTS.find((h) => h.ip === tcp.acceptor.ip)!;
      for (
        const [stream, outbound, from] of [
          [tcp.outbound, true, host.nick],
          [tcp.inbound, false, peer.nick],
        ] as const
      ) {
        // Frame 0 is the features map.
        for (const frame of framesOf(stream, outbound).slice(1)) {
          const msg = decodeMessage(frame.bytes);
          if (!msg || (msg.tag !== 4 && msg.tag !== 5 && msg.tag !== 6)) continue;
          const tag = msg.tag;
          const unicast = tag === 5 ? decodeGossipBody(5, msg.body) : undefined;
          const g = unicast ??
            (tag === 4 ? decodeGossipBody(4, msg.body) : decodeGossipBody(6, msg.body));
          if (g.channel !== "IPallocation") continue;
          out.push({
            time: frame.time,
            tag,
            from,
            source: unicast?.source,
            destination: unicast?.destination,
            payload: g.payload,
          });
        }
      }
    }
  }
  return out.sort((a, b) => a.time - b.time);
}
