import assert from "node:assert/strict";
import { parseIPv4 } from "../lib/cidr.ts";
import { Entries } from "./entry.ts";
import {
  decodePacket,
  DnsFlag,
  type DnsPacket,
  encodePacket,
  packetLength,
  Rcode,
  rcodeOf,
} from "./packet.ts";
import { answer, maxResponseSize, parseReverseName, type ZoneView } from "./resolver.ts";

const US = 0x020000000001n;
const OPTS = { domain: "weave.local.", ttl: 1, random: () => 0 };

function zone(names: [string, string][], tombstoned: [string, string][] = []): Entries {
  const es = new Entries();
  let n = 0;
  for (const [hostname, ip] of [...names, ...tombstoned]) {
    es.add({ hostname, containerID: `c${n++}`, origin: US, addr: parseIPv4(ip) });
  }
  for (const [hostname] of tombstoned) es.tombstone(US, { hostname }, 100);
  return es;
}

function query(name: string, type = "A", extra: Partial<DnsPacket> = {}): DnsPacket {
  // Through the wire, so the handler sees what the server would decode.
  return decodePacket(encodePacket({
    id: 0x1234,
    flags: DnsFlag.RECURSION_DESIRED,
    questions: [{ name, type }],
    ...extra,
  }));
}

function ask(q: DnsPacket, z: ZoneView, opts = {}): DnsPacket {
  const res = answer(q, z, { ...OPTS, ...opts });
  assert.notEqual(res, "forward");
  return decodePacket(encodePacket(res as DnsPacket));
}

const ZONE = zone(
  [["web.weave.local.", "10.32.0.1"], ["web.weave.local.", "10.32.0.2"], [
    "db.weave.local.",
    "10.40.0.0",
  ]],
  [["gone.weave.local.", "10.32.0.9"]],
);

Deno.test("answer: A for a local name gives every live address, AA and RA set", () => {
  const res = ask(query("web.weave.local"), ZONE);
  assert.equal(res.id, 0x1234);
  assert.equal(res.type, "response");
  assert.equal(rcodeOf(res), Rcode.NOERROR);
  const f = res.flags!;
  assert.ok(f & DnsFlag.AUTHORITATIVE && f & DnsFlag.RECURSION_AVAILABLE);
  assert.ok(f & DnsFlag.RECURSION_DESIRED, "RD copied");
  assert.equal(f & DnsFlag.TRUNCATED, 0);
  assert.deepEqual(res.questions, [{ name: "web.weave.local", type: "A", class: "IN" }]);
  assert.deepEqual(res.answers!.map((a) => [a.name, a.type, a.ttl, a.data]).sort(), [
    ["web.weave.local", "A", 1, "10.32.0.1"],
    ["web.weave.local", "A", 1, "10.32.0.2"],
  ]);
});

Deno.test("answer: shuffles with the injected random source", () => {
  const orders = new Set<string>();
  for (const r of [0, 0.99]) {
    const res = ask(query("web.weave.local"), ZONE, { random: () => r });
    orders.add(res.answers!.map((a) => a.data).join(","));
  }
  assert.equal(orders.size, 2);
});

Deno.test("answer: mixed case and single-label names resolve locally", () => {
  const mixed = ask(query("WeB.WEAVE.local"), ZONE);
  assert.equal(mixed.answers!.length, 2);
  assert.equal(mixed.answers![0].name, "WeB.WEAVE.local", "answer echoes the asked name");
  const single = ask(query("DB"), ZONE);
  assert.deepEqual(single.answers!.map((a) => [a.name, a.data]), [["DB", "10.40.0.0"]]);
  assert.equal(rcodeOf(ask(query("nosuch"), ZONE)), Rcode.NXDOMAIN);
});

Deno.test("answer: unknown and tombstoned local names get NXDOMAIN without AA", () => {
  for (const name of ["nope.weave.local", "gone.weave.local", "weave.local"]) {
    const res = ask(query(name), ZONE);
    assert.equal(rcodeOf(res), Rcode.NXDOMAIN, name);
    assert.equal(res.flags! & DnsFlag.AUTHORITATIVE, 0);
    assert.ok(res.flags! & DnsFlag.RECURSION_AVAILABLE);
    assert.deepEqual(res.answers, []);
  }
});

Deno.test("answer: other types of a known name get an empty NOERROR", () => {
  for (const type of ["AAAA", "MX", "TXT", "ANY"]) {
    const res = ask(query("web.weave.local", type), ZONE);
    assert.equal(rcodeOf(res), Rcode.NOERROR, type);
    assert.deepEqual(res.answers, []);
    assert.ok(res.flags! & DnsFlag.AUTHORITATIVE);
  }
  assert.equal(rcodeOf(ask(query("nope.weave.local", "AAAA"), ZONE)), Rcode.NXDOMAIN);
});

Deno.test("answer: PTR for known addresses, forward for unknown, NXDOMAIN for junk", () => {
  const res = ask(query("2.0.32.10.in-addr.arpa", "PTR"), ZONE);
  assert.deepEqual(res.answers!.map((a) => [a.name, a.type, a.data, a.ttl]), [
    ["2.0.32.10.in-addr.arpa", "PTR", "web.weave.local", 1],
  ]);
  assert.ok(res.flags! & DnsFlag.AUTHORITATIVE);
  assert.equal(answer(query("9.0.32.10.in-addr.arpa", "PTR"), ZONE, OPTS), "forward");
  assert.equal(answer(query("1.1.1.1.IN-ADDR.ARPA", "PTR"), ZONE, OPTS), "forward");
  assert.equal(rcodeOf(ask(query("2.0.32.10.in-addr.arpa", "A"), ZONE)), Rcode.NXDOMAIN);
  assert.equal(rcodeOf(ask(query("0.32.10.in-addr.arpa", "PTR"), ZONE)), Rcode.NXDOMAIN);
  assert.equal(rcodeOf(ask(query("x.0.32.10.in-addr.arpa", "PTR"), ZONE)), Rcode.NXDOMAIN);
});

Deno.test("parseReverseName reverses four octets only", () => {
  assert.equal(parseReverseName("1.0.32.10.in-addr.arpa."), 0x0a200001);
  assert.equal(parseReverseName("1.0.32.10.in-addr.arpa"), 0x0a200001);
  assert.equal(parseReverseName("256.0.32.10.in-addr.arpa"), undefined);
  assert.equal(parseReverseName("1.0.32.10.example."), undefined);
});

Deno.test("answer: names outside the domain are forwarded", () => {
  for (const name of ["example.com", "weave.local.example.com", "xweave.local", "."]) {
    assert.equal(answer(query(name), ZONE, OPTS), "forward", name);
  }
  const two = query("example.com", "A", {
    questions: [{ name: "a", type: "A" }, { name: "b", type: "A" }],
  });
  assert.equal(answer(two, ZONE, OPTS), "forward", "single-label rule needs one question");
});

Deno.test("answer: no question gets SERVFAIL; two local questions get NXDOMAIN", () => {
  assert.equal(rcodeOf(ask(query("x", "A", { questions: [] }), ZONE)), Rcode.SERVFAIL);
  const two = query("x", "A", {
    questions: [{ name: "web.weave.local", type: "A" }, { name: "db.weave.local", type: "A" }],
  });
  const res = ask(two, ZONE);
  assert.equal(rcodeOf(res), Rcode.NXDOMAIN);
  assert.equal(res.questions!.length, 1, "only the first question is echoed");
});

const MANY = zone(
  Array.from({ length: 100 }, (_, i) => ["many.weave.local.", `10.32.1.${i}`] as [string, string]),
);

Deno.test("answer: UDP answers over 512 bytes are cut to what fits, with TC", () => {
  const q = query("many.weave.local");
  const res = answer(q, MANY, OPTS) as DnsPacket;
  assert.ok(res.flags! & DnsFlag.TRUNCATED);
  const size = packetLength(res);
  assert.ok(size <= 512, `${size} <= 512`);
  const oneMore = packetLength({ ...res, answers: [...res.answers!, res.answers![0]] });
  assert.ok(oneMore > 512, "as many records as fit");
  assert.equal(maxResponseSize(q), 512);
});

Deno.test("answer: the EDNS size raises the UDP limit; TCP gets everything", () => {
  const edns = query("many.weave.local", "A", {
    additionals: [{ name: ".", type: "OPT", udpPayloadSize: 1232 }],
  });
  assert.equal(maxResponseSize(edns), 1232);
  const big = answer(edns, MANY, OPTS) as DnsPacket;
  assert.ok(big.flags! & DnsFlag.TRUNCATED);
  assert.ok(packetLength(big) <= 1232);
  const small = answer(query("many.weave.local"), MANY, OPTS) as DnsPacket;
  assert.ok(big.answers!.length > 2 * small.answers!.length);
  const tcp = answer(query("many.weave.local"), MANY, { ...OPTS, transport: "tcp" }) as DnsPacket;
  assert.equal(tcp.answers!.length, 100);
  assert.equal(tcp.flags! & DnsFlag.TRUNCATED, 0);
  const tiny = query("x", "A", { additionals: [{ name: ".", type: "OPT", udpPayloadSize: 10 }] });
  assert.equal(maxResponseSize(tiny), 512, "EDNS sizes below 512 count as 512");
});
