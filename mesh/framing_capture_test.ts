/**
 * Checks the TCP layer against real Weave Net 2.8.1 traffic: the decoded
 * dumps in testdata/captures. The password
 * capture cannot be decrypted (the ephemeral private keys were not recorded),
 * so it checks header, flag and framing of the reassembled byte streams; the
 * plain capture checks the small control messages byte for byte.
 */
import assert from "node:assert/strict";
import { SEAL_OVERHEAD } from "./crypto.ts";
import { FrameReader, FrameWriter } from "./framing.ts";
import {
  decodeMessage,
  decodeOverlayControl,
  decodePMTUVerified,
  encodeMessage,
  encodeOverlayControl,
  encodePMTUVerified,
  ProtocolTag,
} from "./messages.ts";
import { decodeProtocolHeader } from "./protocol_header.ts";

const CAPTURES = new URL("../testdata/captures/", import.meta.url);

/** One `-- t=… <dir> <KIND> …` entry of a dump, with the hex lines under it. */
interface DumpEntry {
  direction: string;
  kind: string;
  /** The `len=` value, when the entry line has one. */
  len?: number;
  /** The `tag=` value, when the entry line has one. */
  tag?: number;
  /** Bytes written on the entry line itself (header, flag). */
  inline: Uint8Array;
  /** Bytes of the hex lines under the entry (all of them, in order). */
  block: Uint8Array;
  /** The entry's text, for assertion messages and decoder annotations. */
  text: string;
}

interface Dump {
  entries: DumpEntry[];
  /** `direction h2->h1: 3469 bytes reassembled` per connection, in order. */
  totals: [string, number][];
}

const ENTRY = /^-- t=\S+ (\S+)\s+(PROTOCOL HEADER|ENCRYPTION FLAG|FEATURES|MSG)/;
const HEX_LINE = /^\s+((?:[0-9a-f]{2} )*[0-9a-f]{2})\s*$/;

function unhex(text: string): Uint8Array {
  return Uint8Array.from(text.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function inlineBytes(kind: string, line: string): Uint8Array {
  if (kind === "PROTOCOL HEADER") return unhex(line.split("):")[1].split("=")[0]);
  if (kind !== "ENCRYPTION FLAG") return new Uint8Array();
  const key = line.match(/public key: ([0-9a-f]{64})/);
  if (key) return Uint8Array.of(1, ...unhex(key[1]));
  assert.match(line, /FLAG: 00/);
  return Uint8Array.of(0);
}

function parseDump(text: string, connection: number): Dump {
  const entries: DumpEntry[] = [];
  const totals: [string, number][] = [];
  let hex: string[] = [];
  let inConnection = false;
  const flush = () => {
    if (entries.length > 0) entries[entries.length - 1].block = unhex(hex.join(" "));
    hex = [];
  };
  for (const line of text.split("\n")) {
    const conn = line.match(/^CONNECTION (\d+):/);
    if (conn) inConnection = Number(conn[1]) === connection;
    if (!inConnection) continue;
    const total = line.match(/^\s+direction (\S+): (\d+) bytes reassembled/);
    if (total) totals.push([total[1], Number(total[2])]);
    const head = line.match(ENTRY);
    if (head) {
      flush();
      entries.push({
        direction: head[1],
        kind: head[2],
        len: numberAfter(line, "len="),
        tag: numberAfter(line, "tag="),
        inline: inlineBytes(head[2], line),
        block: new Uint8Array(),
        text: line,
      });
      continue;
    }
    const bytes = line.match(HEX_LINE);
    if (bytes) hex.push(bytes[1]);
    else if (entries.length > 0) entries[entries.length - 1].text += "\n" + line;
  }
  flush();
  return { entries, totals };
}

function numberAfter(line: string, key: string): number | undefined {
  const m = line.match(new RegExp(` ${key}(\\d+)`));
  return m ? Number(m[1]) : undefined;
}

async function readDump(name: string, connection: number): Promise<Dump> {
  return parseDump(await Deno.readTextFile(new URL(name, CAPTURES)), connection);
}

/** Rebuilds one direction's TCP byte stream from the dump entries. */
function rebuildStream(entries: DumpEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (e.kind === "PROTOCOL HEADER" || e.kind === "ENCRYPTION FLAG") {
      parts.push(e.inline);
      continue;
    }
    assert.ok(e.len !== undefined, e.text);
    assert.equal(e.block.length, e.len, e.text);
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, e.len);
    parts.push(prefix, e.block);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) out.set(p, off), off += p.length;
  return out;
}

Deno.test("password capture: reassembled streams split into the dumped ciphertext frames", async () => {
  const dump = await readDump("enc-tcp-messages.txt", 1);
  assert.deepEqual(dump.totals, [["h2->h1", 3469], ["h1->h2", 4022]]);
  for (const [direction, total] of dump.totals) {
    const entries = dump.entries.filter((e) => e.direction === direction);
    const stream = rebuildStream(entries);
    assert.equal(stream.length, total, `${direction} stream length`);
    assert.deepEqual(decodeProtocolHeader(stream), { min: 1, max: 2 });
    assert.equal(stream[7], 0x01, "encryption flag");
    const framed = entries.filter((e) => e.kind === "FEATURES" || e.kind === "MSG");
    // h2 dialled h1, so h2's frames come from the outbound side.
    const reader = new FrameReader({ outbound: direction === "h1->h2" });
    const got: Uint8Array[] = [];
    // Feed in uneven chunks: the framing must not depend on segment boundaries.
    for (let off = 7 + 33, i = 0; off < stream.length; i++) {
      const n = [1, 5, 64, 333, 1500][i % 5];
      reader.push(stream.subarray(off, off + n));
      off += n;
      for (let m = reader.next(); m !== null; m = reader.next()) got.push(m);
    }
    assert.equal(reader.buffered, 0);
    assert.deepEqual(got.map((m) => m.length), framed.map((e) => e.len));
    assert.deepEqual(got, framed.map((e) => e.block));
    assert.ok(got.every((m) => m.length >= SEAL_OVERHEAD));
  }
  const features = dump.entries.filter((e) => e.kind === "FEATURES");
  assert.deepEqual(features.map((e) => [e.direction, e.len]), [["h2->h1", 186], ["h1->h2", 188]]);
  assert.match(features[0].text, /prefix 00 00 00 ba/);
  assert.match(features[1].text, /prefix 00 00 00 bc/);
});

Deno.test("password capture: sealed control messages have the dumped sizes", async () => {
  // Under the overlay switch, sleeve's ConnectionEstablished is `07 00 01` and
  // PMTUVerified(1414) `07 00 03 05 86` (the plain capture shows the same
  // shapes); sealed they are 3 + 16 and 5 + 16 bytes, as dumped.
  const dump = await readDump("enc-tcp-messages.txt", 1);
  const writer = new FrameWriter({ key: new Uint8Array(32), outbound: true });
  const established = encodeMessage(
    ProtocolTag.OverlayControlMsg,
    encodeOverlayControl(0, ProtocolTag.ConnectionEstablished, new Uint8Array()),
  );
  const verified = encodeMessage(
    ProtocolTag.OverlayControlMsg,
    encodeOverlayControl(0, ProtocolTag.PMTUVerified, encodePMTUVerified(1414)),
  );
  for (const plain of [established, verified]) {
    const framed = writer.frame(plain);
    const matching = dump.entries.filter((e) => e.kind === "MSG" && e.len === framed.length - 4);
    assert.ok(matching.length >= 2, `two ${framed.length - 4}-byte messages, one per direction`);
    const prefix = Array.from(framed.subarray(0, 4), (b) => b.toString(16).padStart(2, "0"));
    for (const e of matching) assert.match(e.text, new RegExp(`prefix ${prefix.join(" ")}`));
  }
});

Deno.test("plain capture: control messages decode to the dumped tags, sub-tags and MTU", async () => {
  const dump = await readDump("plain-tcp-messages.txt", 1);
  const small = dump.entries.filter((e) =>
    e.kind === "MSG" && (e.tag === ProtocolTag.OverlayControlMsg || e.tag === 0)
  );
  assert.ok(small.length >= 6);
  let pmtuSeen = 0;
  for (const e of small) {
    const msg = decodeMessage(e.block);
    assert.ok(msg, e.text);
    assert.equal(msg.tag, e.tag, e.text);
    assert.equal(e.block.length, e.len, e.text);
    if (msg.tag === ProtocolTag.Heartbeat) {
      assert.equal(msg.body.length, 0);
      continue;
    }
    const ctl = decodeOverlayControl(msg.body);
    const note = e.text.match(/overlayIndex=(\d+) subTag=(\d+)/);
    assert.ok(note, e.text);
    assert.equal(ctl.index, Number(note[1]));
    assert.equal(ctl.subTag, Number(note[2]));
    if (ctl.subTag === ProtocolTag.PMTUVerified) {
      const mtu = e.text.match(/PMTU (\d+)/);
      assert.ok(mtu, e.text);
      assert.equal(decodePMTUVerified(ctl.payload), Number(mtu[1]));
      pmtuSeen++;
    } else {
      assert.equal(ctl.payload.length, 0);
    }
  }
  assert.ok(pmtuSeen >= 2);
});

Deno.test("plain capture: the stream opens with header, flag 00 and the features prefix", async () => {
  const dump = await readDump("plain-tcp-messages.txt", 1);
  for (const direction of ["h2->h1", "h1->h2"]) {
    const entries = dump.entries.filter((e) => e.direction === direction);
    const header = entries.find((e) => e.kind === "PROTOCOL HEADER");
    const flag = entries.find((e) => e.kind === "ENCRYPTION FLAG");
    const features = entries.find((e) => e.kind === "FEATURES");
    assert.ok(header && flag && features);
    assert.deepEqual(decodeProtocolHeader(header.inline), { min: 1, max: 2 });
    assert.deepEqual(flag.inline, Uint8Array.of(0));
    // Unencrypted features are the gob stream itself: a plain reader returns it whole.
    const reader = new FrameReader({ outbound: direction === "h1->h2" });
    reader.push(rebuildStream([features]));
    assert.deepEqual(reader.next(), features.block);
    assert.equal(features.block[0], 0x0e, "gob typedef message of 14 bytes");
  }
});
