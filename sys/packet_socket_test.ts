import assert from "node:assert/strict";
import { netnsSkipReason, randomPrefix } from "../tests/harness/netns.ts";
import { runOk } from "../tests/harness/exec.ts";
import { pollReadable } from "./libc.ts";
import { linkByName } from "./link.ts";
import { NetlinkSocket } from "./netlink/socket.ts";
import { withNetns } from "./netns.ts";
import {
  type BpfInstruction,
  encodeBpf,
  PacketSocket,
  pollReadableManyAsync,
  sockaddrLL,
} from "./packet_socket.ts";

Deno.test("encodeBpf writes struct sock_filter entries", () => {
  const bytes = encodeBpf([
    { code: 0x20, jt: 0, jf: 0, k: 4 },
    { code: 0x15, jt: 1, jf: 2, k: 0xdeadbeef },
  ]);
  assert.deepEqual(
    [...bytes],
    [0x20, 0, 0, 0, 4, 0, 0, 0, 0x15, 0, 1, 2, 0xef, 0xbe, 0xad, 0xde],
  );
  assert.throws(() => encodeBpf([]), RangeError);
  assert.throws(() => encodeBpf([{ code: 0x10000, jt: 0, jf: 0, k: 0 }]), RangeError);
  assert.throws(() => encodeBpf([{ code: 6, jt: 256, jf: 0, k: 0 }]), RangeError);
});

Deno.test("sockaddrLL encodes family, ETH_P_ALL, ifindex and an optional MAC", () => {
  assert.deepEqual(
    [...sockaddrLL(7)],
    [17, 0, 0, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  );
  const withMac = sockaddrLL(0x0102, Uint8Array.of(1, 2, 3, 4, 5, 6, 7));
  assert.deepEqual([...withMac.subarray(4, 8)], [2, 1, 0, 0]);
  assert.equal(withMac[11], 6);
  assert.deepEqual([...withMac.subarray(12, 20)], [1, 2, 3, 4, 5, 6, 0, 0]);
  assert.throws(() => sockaddrLL(0), RangeError);
});

/** Accepts frames whose first byte is zero. */
const FIRST_BYTE_ZERO: BpfInstruction[] = [
  { code: 0x30, jt: 0, jf: 0, k: 0 }, // ldb [0]
  { code: 0x15, jt: 0, jf: 1, k: 0 }, // jeq #0
  { code: 0x06, jt: 0, jf: 0, k: 0xffff },
  { code: 0x06, jt: 0, jf: 0, k: 0 },
];

function frame(firstByte: number, tag: number, length = 100): Uint8Array<ArrayBuffer> {
  const f = new Uint8Array(length);
  f[0] = firstByte;
  f[6] = 0x02; // a unicast, locally administered source
  f[12] = 0x88; // EtherType 0x88b5 (local experimental)
  f[13] = 0xb5;
  f[14] = tag;
  return f;
}

const skip = netnsSkipReason();

Deno.test({
  name: `PacketSocket sends and receives on a veth, filtered, without its own frames${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  fn: async () => {
    const ns = `${randomPrefix()}pkt`;
    await runOk(["ip", "netns", "add", ns]);
    const sockets: PacketSocket[] = [];
    try {
      // No IPv6, so no neighbour discovery or MLD frames appear on the veths.
      for (const key of ["all", "default"]) {
        await runOk([
          "ip",
          "netns",
          "exec",
          ns,
          "sysctl",
          "-qw",
          `net.ipv6.conf.${key}.disable_ipv6=1`,
        ]);
      }
      await runOk(["ip", "-n", ns, "link", "add", "pa", "type", "veth", "peer", "name", "pb"]);
      await runOk(["ip", "-n", ns, "link", "set", "pa", "up"]);
      await runOk(["ip", "-n", ns, "link", "set", "pb", "up"]);
      const [a, b] = withNetns(ns, () => {
        using nl = new NetlinkSocket();
        const a = new PacketSocket({ ifindex: linkByName(nl, "pa").index });
        sockets.push(a);
        const b = new PacketSocket({
          ifindex: linkByName(nl, "pb").index,
          filter: FIRST_BYTE_ZERO,
        });
        sockets.push(b);
        return [a, b];
      });
      const buffer = new Uint8Array(2048);
      assert.deepEqual(await pollReadableManyAsync([a.fd, b.fd], 50), [], "nothing queued");
      a.send(frame(0xff, 1)); // filtered out at b
      a.send(frame(0x00, 2));
      assert.ok(pollReadable(b.fd, 1000));
      assert.deepEqual(await pollReadableManyAsync([a.fd, b.fd], 1000), [b.fd]);
      assert.equal(b.receive(buffer), 100);
      assert.equal(buffer[14], 2, "only the frame the filter accepts arrives");
      assert.equal(b.receive(buffer), undefined);
      assert.equal(a.receive(buffer), undefined, "a does not see its own outgoing frames");
      b.send(frame(0xff, 3, 1514));
      assert.ok(pollReadable(a.fd, 1000));
      assert.equal(
        a.receive(buffer.subarray(0, 64) as Uint8Array<ArrayBuffer>),
        1514,
        "full length reported when truncated",
      );
      assert.throws(() => a.send(new Uint8Array(1600)), /Message too long|EMSGSIZE/);
      a.close();
      a.close();
      assert.equal(a.fd, -1);
      assert.throws(() => a.send(frame(0, 4)), /closed/);
    } finally {
      for (const s of sockets) s.close();
      await runOk(["ip", "netns", "del", ns]);
    }
  },
});
