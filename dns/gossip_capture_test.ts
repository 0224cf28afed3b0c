/**
 * Checks the DNS gossip codec against real Weave Net 2.8.1 traffic: every
 * `nameserver` message of the plain three-host capture
 * (testdata/captures, see its README) decodes, re-encodes to the same bytes
 * (with Go's type ids), and merging them in capture order gives the final zone.
 */
import assert from "node:assert/strict";
import { formatIPv4 } from "../lib/cidr.ts";
import { parsePeerName } from "../lib/peer_name.ts";
import { decodeGobItems } from "../mesh/gob/decoder.ts";
import { GobTypeRegistry } from "../mesh/gob/encoder.ts";
import { decodeGossipBody } from "../mesh/gossip_envelope.ts";
import { FrameReader } from "../mesh/framing.ts";
import { decodeMessage } from "../mesh/messages.ts";
import { decodeCapture } from "../tests/captures/pcap.ts";
import { reassembleTcp, type TcpStream, timeAt } from "../tests/captures/tcp_streams.ts";
import { Entries } from "./entry.ts";
import { decodeDnsGossip, encodeDnsGossip } from "./gossip.ts";

const CAPTURES = new URL("../testdata/captures/", import.meta.url);
const HOSTS = [["h1", "192.0.2.1"], ["h2", "192.0.2.2"], ["h3", "192.0.2.3"]];

interface Captured {
  time: number;
  tag: number;
  payload: Uint8Array;
}

/** Nameserver payloads of one direction of a plain (unencrypted) mesh connection. */
function nameserverPayloads(stream: TcpStream, outbound: boolean): Captured[] {
  const reader = new FrameReader({ outbound });
  reader.push(stream.bytes.subarray(8)); // 7-byte protocol header, encryption flag 0
  const out: Captured[] = [];
  let offset = 8;
  for (let f = reader.next(), first = true; f !== null; f = reader.next(), first = false) {
    offset += 4 + f.length;
    const msg = decodeMessage(f);
    if (first || !msg || (msg.tag !== 4 && msg.tag !== 6)) continue;
    const body = decodeGossipBody(msg.tag, msg.body);
    if (body.channel !== "nameserver") continue;
    out.push({ time: timeAt(stream, offset - 1), tag: msg.tag, payload: body.payload });
  }
  return out;
}

async function capturedMessages(): Promise<Captured[]> {
  const all: Captured[] = [];
  for (const [nick, ip] of HOSTS) {
    const pcap = await Deno.readFile(new URL(`plain-${nick}.pcap`, CAPTURES));
    for (const tcp of reassembleTcp(decodeCapture(pcap))) {
      if (tcp.acceptor.port !== 6783 || tcp.dialler.ip !== ip) continue;
      all.push(
        ...nameserverPayloads(tcp.outbound, true),
        ...nameserverPayloads(tcp.inbound, false),
      );
    }
  }
  return all.sort((a, b) => a.time - b.time);
}

const messages = await capturedMessages();

Deno.test("captured nameserver gossip: 12 gossip and 8 broadcast messages", () => {
  assert.equal(messages.filter((m) => m.tag === 4).length, 12);
  assert.equal(messages.filter((m) => m.tag === 6).length, 8);
});

Deno.test("captured nameserver payloads re-encode byte for byte", () => {
  for (const m of messages) {
    const typeId = decodeGobItems(m.payload)[0].typeId;
    const again = encodeDnsGossip(decodeDnsGossip(m.payload), {
      registry: new GobTypeRegistry(typeId),
    });
    assert.deepEqual(again, m.payload);
  }
});

Deno.test("merging the captured nameserver messages in order gives the final zone", () => {
  const zone = new Entries();
  for (const m of messages) zone.merge(decodeDnsGossip(m.payload).entries);
  const h1 = parsePeerName("02:00:00:00:00:01"), h3 = parsePeerName("02:00:00:00:00:03");
  assert.deepEqual(
    zone.all().map((e) => [e.hostname, formatIPv4(e.addr), e.containerID, e.origin, e.version]),
    [
      ["db3.weave.local.", "10.40.0.0", "capc3", h3, 0],
      ["tmp3.weave.local.", "10.32.0.192", "capc3b", h3, 1],
      ["web1.weave.local.", "10.32.0.1", "capc1", h1, 0],
    ],
  );
  assert.deepEqual(zone.all().map((e) => e.tombstone), [0, 1795460289, 0]);
  assert.deepEqual(zone.lookup("TMP3.weave.local."), []);
  assert.deepEqual(zone.lookup("web1.weave.local.").map(formatIPv4), ["10.32.0.1"]);
});
