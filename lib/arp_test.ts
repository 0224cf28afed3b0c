import assert from "node:assert/strict";
import { ARP_FRAME_SIZE, gratuitousArp } from "./arp.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("gratuitousArp is a broadcast ARP request with sender and target IP both the address", () => {
  const frame = gratuitousArp("02:AB:cd:00:00:01", "10.32.0.7");
  assert.equal(frame.length, ARP_FRAME_SIZE);
  assert.equal(
    hex(frame),
    "ffffffffffff" + "02abcd000001" + "0806" + // Ethernet: broadcast from us, ARP
      "0001" + "0800" + "06" + "04" + "0001" + // Ethernet/IPv4, request
      "02abcd000001" + "0a200007" + // sender MAC, IP
      "000000000000" + "0a200007", // target MAC (zero), IP (the same)
  );
});

Deno.test("gratuitousArp refuses malformed or multicast MACs and non-IPv4 addresses", () => {
  for (
    const mac of ["02:00:00:00:00", "02-00-00-00-00-01", "zz:00:00:00:00:01", "01:00:5e:00:00:01"]
  ) {
    assert.throws(() => gratuitousArp(mac, "10.32.0.1"), TypeError, mac);
  }
  for (const ip of ["10.32.0", "10.32.0.256", "fe80::1", ""]) {
    assert.throws(() => gratuitousArp("02:00:00:00:00:01", ip), SyntaxError, ip);
  }
});
