import assert from "node:assert/strict";
import { Errno } from "../../sys/libc.ts";
import { UdpAddr } from "../../sys/udp.ts";
import { DatagramTrain, type SendFailed, type TrainSocket } from "./train.ts";

type Call = { kind: "one" | "train"; bytes: number[]; segment?: number; to: string; df: boolean };

/** A socket that records what it is asked to send and answers from a script. */
class FakeSocket implements TrainSocket {
  calls: Call[] = [];
  /** Result of the next segmented sends (bytes sent when undefined). */
  trainResults: number[] = [];
  oneResults: number[] = [];
  sendTo(buf: Uint8Array, length: number, to: UdpAddr, df: boolean): number {
    this.calls.push({ kind: "one", bytes: [...buf.subarray(0, length)], to: String(to), df });
    return this.oneResults.shift() ?? length;
  }
  sendSegments(buf: Uint8Array, length: number, segment: number, to: UdpAddr, df: boolean) {
    this.calls.push({
      kind: "train",
      bytes: [...buf.subarray(0, length)],
      segment,
      to: String(to),
      df,
    });
    return this.trainResults.shift() ?? length;
  }
}

const A = new UdpAddr("192.0.2.1", 6783);
const B = new UdpAddr("192.0.2.2", 6783);

function datagram(fill: number, length: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

function setUp() {
  const socket = new FakeSocket();
  const failures: [number, number, string, boolean][] = [];
  const onFailed: SendFailed = (r, length, to, df) => failures.push([r, length, String(to), df]);
  return { socket, train: new DatagramTrain(socket), failures, onFailed };
}

Deno.test("DatagramTrain sends a run of equal datagrams, the last shorter, in one call", () => {
  const { socket, train, onFailed, failures } = setUp();
  assert.equal(train.add(datagram(1, 5), 5, A, true, onFailed), true);
  const reused = datagram(2, 5);
  assert.equal(train.add(reused, 5, A, true, onFailed), true);
  reused.fill(9); // the caller reuses its buffer at once
  assert.equal(socket.calls.length, 0, "nothing sent before flush");
  assert.equal(train.add(datagram(3, 2), 2, A, true, onFailed), false, "shorter: train leaves");
  assert.deepEqual(socket.calls, [{
    kind: "train",
    bytes: [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3],
    segment: 5,
    to: "192.0.2.1:6783",
    df: true,
  }]);
  assert.equal(train.pending, 0);
  assert.deepEqual(train.stats(), { carried: 3, trains: 1, refused: 0 });
  assert.deepEqual(failures, []);
});

Deno.test("DatagramTrain keeps order when destination, DF choice or size changes", () => {
  const { socket, train, onFailed } = setUp();
  train.add(datagram(1, 4), 4, A, true, onFailed);
  train.add(datagram(2, 4), 4, B, true, onFailed); // another peer: A's train leaves alone
  train.add(datagram(3, 4), 4, B, false, onFailed); // non-DF
  train.add(datagram(4, 6), 6, B, false, onFailed); // longer than the first
  train.add(datagram(5, 6), 6, new UdpAddr("192.0.2.2", 6783), false, onFailed); // same address
  train.flush();
  train.flush(); // nothing left: no call
  assert.deepEqual(socket.calls.map((c) => [c.kind, c.bytes[0], c.to, c.df, c.bytes.length]), [
    ["one", 1, "192.0.2.1:6783", true, 4],
    ["one", 2, "192.0.2.2:6783", true, 4],
    ["one", 3, "192.0.2.2:6783", false, 4],
    ["train", 4, "192.0.2.2:6783", false, 12],
  ]);
});

Deno.test("DatagramTrain leaves at 64 datagrams or 64 KiB", () => {
  const { socket, train, onFailed } = setUp();
  for (let i = 0; i < 64; i++) train.add(datagram(i, 100), 100, A, true, onFailed);
  assert.equal(socket.calls.length, 1, "the 64th datagram sends the train");
  assert.equal(socket.calls[0].bytes.length, 6400);
  for (let i = 0; i < 46; i++) train.add(datagram(i, 1402), 1402, A, true, onFailed);
  assert.equal(socket.calls.length, 2, "46 × 1402 bytes: no room for one more");
  assert.equal(socket.calls[1].bytes.length, 46 * 1402);
  assert.ok(socket.calls[1].bytes.length <= 65507);
});

Deno.test("DatagramTrain refused: each datagram alone, failures reported as from sendto", () => {
  const { socket, train, onFailed, failures } = setUp();
  socket.trainResults = [-Errno.EAGAIN];
  socket.oneResults = [5, -Errno.EAGAIN];
  train.add(datagram(1, 5), 5, A, false, onFailed);
  train.add(datagram(2, 5), 5, A, false, onFailed);
  train.flush();
  assert.deepEqual(socket.calls.map((c) => [c.kind, c.bytes]), [
    ["train", [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]],
    ["one", [1, 1, 1, 1, 1]],
    ["one", [2, 2, 2, 2, 2]],
  ]);
  assert.deepEqual(failures, [[-Errno.EAGAIN, 5, "192.0.2.1:6783", false]]);
  assert.equal(train.enabled, true, "a full buffer is no reason to stop");
  assert.deepEqual(train.stats(), { carried: 0, trains: 0, refused: 1 });
});

Deno.test("DatagramTrain: too big to pass unfragmented, that size never rides again", () => {
  const { socket, train, onFailed, failures } = setUp();
  socket.trainResults = [-Errno.EMSGSIZE];
  train.add(datagram(1, 3000), 3000, A, false, onFailed);
  train.add(datagram(2, 3000), 3000, A, false, onFailed);
  train.flush();
  assert.equal(socket.calls.length, 3, "refused train, then two alone (fragmented by IP)");
  assert.deepEqual(failures, []);
  train.add(datagram(3, 3000), 3000, A, false, onFailed);
  assert.equal(socket.calls.at(-1)!.kind, "one", "sent at once");
  train.add(datagram(4, 1400), 1400, A, false, onFailed);
  train.add(datagram(5, 1400), 1400, A, false, onFailed);
  train.add(datagram(6, 3000), 3000, A, false, onFailed); // flushes the small ones first
  assert.deepEqual(socket.calls.slice(-2).map((c) => [c.kind, c.bytes[0]]), [
    ["train", 4],
    ["one", 6],
  ]);
  assert.equal(train.enabled, true);
});

Deno.test("DatagramTrain stops for good where the kernel cannot segment", () => {
  for (const errno of [Errno.EIO, Errno.EINVAL, Errno.ENOPROTOOPT, Errno.EOPNOTSUPP]) {
    const { socket, train, onFailed, failures } = setUp();
    socket.trainResults = [-errno];
    socket.oneResults = [-Errno.EMSGSIZE];
    train.add(datagram(1, 8), 8, A, true, onFailed);
    train.add(datagram(2, 8), 8, A, true, onFailed);
    train.flush();
    assert.deepEqual(failures, [[-Errno.EMSGSIZE, 8, "192.0.2.1:6783", true]], "the owner hears");
    assert.equal(train.enabled, false);
    assert.equal(train.add(datagram(3, 8), 8, A, true, onFailed), false, "sent at once");
    assert.deepEqual(socket.calls.map((c) => c.kind), ["train", "one", "one", "one"]);
  }
});

Deno.test("DatagramTrain tells the right owner of a failure after a switch", () => {
  const { socket, train } = setUp();
  const heard: string[] = [];
  const first: SendFailed = () => heard.push("first");
  const second: SendFailed = () => heard.push("second");
  socket.oneResults = [-Errno.ENETUNREACH, -Errno.ENETUNREACH];
  train.add(datagram(1, 4), 4, A, true, first);
  train.add(datagram(2, 4), 4, A, true, second); // another forwarder, same address
  train.flush();
  assert.deepEqual(heard, ["first", "second"]);
});
