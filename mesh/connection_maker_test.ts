import assert from "node:assert/strict";
import type { PeerName } from "../lib/peer_name.ts";
import {
  ConnectionMaker,
  type ConnectionMakerOptions,
  ConnectToSelfError,
  formatGoTime,
  INITIAL_INTERVAL_MS,
  type MakerConnection,
  type MakerPeer,
  MAX_CONCURRENT_ATTEMPTS,
  MAX_DIRECT_PEERS,
  MAX_INTERVAL_MS,
  parsePeerAddress,
  prefersToDial,
  RESET_AFTER_MS,
  SCAN_MIN_INTERVAL_MS,
  YIELD_DIAL_MS,
} from "./connection_maker.ts";

const OUR_NAME = 0x020000000001n;
const PORT = 6783;
const START = Date.UTC(2026, 10, 23, 18, 44, 24, 218);

interface Harness {
  maker: ConnectionMaker;
  dials: { address: string; acceptNewPeer: boolean }[];
  clock: { now: number };
  peers: MakerPeer[];
}

/** A maker with a fake clock, fixed randomness and a `dial` that only records. */
function harness(opts: Partial<ConnectionMakerOptions> = {}): Harness {
  const clock = { now: START };
  const dials: Harness["dials"] = [];
  const peers: MakerPeer[] = [];
  const maker = new ConnectionMaker({
    ourName: OUR_NAME,
    port: PORT,
    discovery: true,
    peers: () => peers,
    dial: (address, acceptNewPeer) => dials.push({ address, acceptNewPeer }),
    now: () => clock.now,
    random: () => 0,
    ...opts,
  });
  return { maker, dials, clock, peers };
}

function outbound(address: string, startedAt: number, remoteName?: bigint): MakerConnection {
  return { remoteTCPAddr: address, outbound: true, startedAt, remoteName };
}

/** Parses the `retry: <Go time>` of a failed target back into epoch milliseconds. */
function retryAt(maker: ConnectionMaker, address: string): number | "never" {
  const st = maker.status().find((s) => s.address === address);
  assert.ok(st, `status lists ${address}`);
  assert.equal(st.state, "failed");
  const m =
    /, retry: (never|(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))? \+0000 UTC)$/
      .exec(st.info);
  assert.ok(m, `status info "${st.info}" ends with a Go time`);
  if (m[1] === "never") return "never";
  const [y, mo, d, h, mi, s] = m.slice(2, 8).map(Number);
  const ms = m[8] === undefined ? 0 : Number(m[8].padEnd(3, "0"));
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

/** Advances the clock to `at` and lets the maker re-check its targets. */
function tick(h: Harness, at: number): void {
  h.clock.now = at;
  h.maker.refresh();
}

Deno.test("parsePeerAddress splits host and port, port 0 meaning not given", () => {
  assert.deepEqual(parsePeerAddress("10.0.0.1"), { host: "10.0.0.1", port: 0 });
  assert.deepEqual(parsePeerAddress("10.0.0.1:6783"), { host: "10.0.0.1", port: 6783 });
  assert.deepEqual(parsePeerAddress(" host-1.example:1 "), { host: "host-1.example", port: 1 });
  assert.deepEqual(parsePeerAddress("10.0.0.1:65535"), { host: "10.0.0.1", port: 65535 });
  assert.deepEqual(parsePeerAddress("10.0.0.1:0"), { host: "10.0.0.1", port: 0 });
});

Deno.test("parsePeerAddress refuses bad ports and empty hosts", () => {
  assert.throws(() => parsePeerAddress("10.0.0.1:65536"), RangeError);
  assert.throws(() => parsePeerAddress("10.0.0.1:99999999"), RangeError);
  for (const bad of ["", ":6783", "10.0.0.1:", "10.0.0.1:http", "10.0.0.1:-1", "a:b:c"]) {
    assert.throws(() => parsePeerAddress(bad), SyntaxError, `"${bad}"`);
  }
  assert.throws(() => parsePeerAddress("10.0.0.1:x"), /Cannot parse peer address "10.0.0.1:x"/);
});

Deno.test("parsePeerAddress refuses hosts with NUL, 0xff, spaces or shell characters", () => {
  for (
    const bad of [
      "\0\xff",
      ";rm -rf /",
      "a b",
      "$(reboot)",
      "h`x`",
      "-lead",
      "a..b",
      "[zz]",
      "[::1",
    ]
  ) {
    assert.throws(() => parsePeerAddress(bad), SyntaxError, JSON.stringify(bad));
  }
  assert.throws(() => parsePeerAddress("\0\xff:1"), /"\\u0000ÿ:1": expected a host name/);
  assert.throws(() => parsePeerAddress("a".repeat(64)), SyntaxError, "a label over 63");
  assert.deepEqual(parsePeerAddress("[fe80::1%eth0]:6783"), { host: "[fe80::1%eth0]", port: 6783 });
  assert.deepEqual(parsePeerAddress("my_host.local."), { host: "my_host.local.", port: 0 });
});

Deno.test("ConnectionMaker refuses more than MAX_DIRECT_PEERS direct peers, adding none", () => {
  const h = harness();
  try {
    const many = Array.from(
      { length: MAX_DIRECT_PEERS + 1 },
      (_, i) => `10.1.${i >> 8}.${i & 255}`,
    );
    const errors = h.maker.initiateConnections(many, false);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /^Cannot add 1001 peers: .* the limit is 1000$/);
    assert.deepEqual([h.maker.directPeers(), h.dials], [[], []]);
    assert.deepEqual(h.maker.initiateConnections(many.slice(1), false), []);
    assert.match(h.maker.initiateConnections(["10.9.9.9"], false)[0].message, /limit is 1000/);
    assert.deepEqual(h.maker.initiateConnections(["10.9.9.9"], true), [], "replace starts afresh");
    assert.deepEqual(h.maker.directPeers(), ["10.9.9.9"]);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker dials a direct target once, completing the default port", () => {
  const h = harness();
  try {
    const errors = h.maker.initiateConnections(["10.0.0.2", "10.0.0.3:7000", "bad:port"], false);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /"bad:port"/);
    assert.deepEqual(h.dials, [
      { address: "10.0.0.2:6783", acceptNewPeer: true },
      { address: "10.0.0.3:7000", acceptNewPeer: true },
    ]);
    assert.deepEqual(h.maker.directPeers(), ["10.0.0.2", "10.0.0.3:7000"]);
    // While the attempts are under way nothing is dialled again.
    h.maker.refresh();
    h.maker.initiateConnections(["10.0.0.2"], false);
    tick(h, START + 10 * MAX_INTERVAL_MS);
    assert.equal(h.dials.length, 2);
    assert.deepEqual(
      h.maker.status().map((s) => [s.address, s.state, s.info]),
      [["10.0.0.2:6783", "connecting", ""], ["10.0.0.3:7000", "connecting", ""]],
    );
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker backs off from 2 s by x1.5 up to 6 min with jitter [i/2, 3i/2]", () => {
  for (
    const [label, random, lowEnd] of [["low", () => 0, true], [
      "high",
      () => 0.999999,
      false,
    ]] as const
  ) {
    const h = harness({ random });
    try {
      h.maker.initiateConnections(["10.0.0.2"], false);
      const address = "10.0.0.2:6783";
      let interval = INITIAL_INTERVAL_MS;
      let capped = 0;
      for (let failure = 0; failure < 20; failure++) {
        const abortedAt = h.clock.now;
        h.maker.connectionAborted(address, new Error("connection refused"));
        const at = retryAt(h.maker, address);
        assert.notEqual(at, "never");
        const delay = (at as number) - abortedAt;
        const expected = lowEnd ? interval / 2 : (3 * interval) / 2;
        // The runtime works in whole milliseconds; allow that rounding (0.01 %).
        assert.ok(
          Math.abs(delay - expected) <= Math.max(2, expected * 1e-4),
          `${label} failure ${failure}: delay ${delay}, expected about ${expected}`,
        );
        assert.ok(delay >= interval / 2 - 40 && delay <= (3 * interval) / 2, "in the jitter range");
        // Not dialled a moment before the retry time, dialled at it.
        const before = h.dials.length;
        tick(h, (at as number) - 2);
        assert.equal(h.dials.length, before, `${label} failure ${failure}: not dialled early`);
        tick(h, (at as number) + 1);
        assert.equal(h.dials.length, before + 1, `${label} failure ${failure}: dialled when due`);
        if (interval === MAX_INTERVAL_MS) capped++;
        interval = Math.min(interval * 1.5, MAX_INTERVAL_MS);
      }
      assert.ok(capped > 5, "the interval reached its cap of 6 min");
    } finally {
      h.maker.stop();
    }
  }
});

Deno.test("ConnectionMaker resets the backoff when a connection that lived a minute ends", () => {
  const h = harness();
  try {
    const address = "10.0.0.2:6783";
    h.maker.initiateConnections(["10.0.0.2"], false);
    for (let i = 0; i < 3; i++) {
      h.maker.connectionAborted(address, new Error("refused"));
      tick(h, retryAt(h.maker, address) as number + 1);
    }
    assert.equal(h.dials.length, 4);
    const conn = outbound(address, h.clock.now, 0x020000000002n);
    h.maker.connectionCreated(conn);
    assert.deepEqual(h.maker.status(), [], "a connected target has no status line");
    tick(h, h.clock.now + RESET_AFTER_MS + 1_000);
    h.maker.connectionTerminated(conn, new Error("EOF"));
    assert.equal(h.dials.length, 5, "redialled at once");
    const abortedAt = h.clock.now;
    h.maker.connectionAborted(address, new Error("refused"));
    assert.equal(
      retryAt(h.maker, address),
      abortedAt + INITIAL_INTERVAL_MS / 2,
      "interval back to 2 s",
    );
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker backs off when a short-lived connection ends", () => {
  const h = harness();
  try {
    const address = "10.0.0.2:6783";
    h.maker.initiateConnections(["10.0.0.2"], false);
    const conn = outbound(address, h.clock.now, 0x020000000002n);
    h.maker.connectionCreated(conn);
    tick(h, h.clock.now + 5_000);
    h.maker.connectionTerminated(conn, new Error("EOF"));
    assert.equal(h.dials.length, 1, "not redialled at once");
    assert.equal(retryAt(h.maker, address), h.clock.now + INITIAL_INTERVAL_MS / 2);
    assert.match(h.maker.status()[0].info, /^EOF, retry: /);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker never retries a target that turned out to be ourselves", () => {
  const h = harness();
  try {
    const address = "10.0.0.1:6783";
    h.maker.initiateConnections([address], false);
    h.maker.connectionTerminated(outbound(address, h.clock.now), new ConnectToSelfError());
    assert.equal(retryAt(h.maker, address), "never");
    assert.equal(h.maker.status()[0].info, "cannot connect to ourself, retry: never");
    tick(h, h.clock.now + 24 * 3600_000);
    assert.equal(h.dials.length, 1);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker skips a portless peer while an inbound connection from its IP exists", () => {
  const h = harness();
  try {
    const inbound: MakerConnection = {
      remoteTCPAddr: "10.0.0.2:51234",
      outbound: false,
      remoteName: 0x020000000002n,
      startedAt: START,
    };
    h.maker.connectionCreated(inbound);
    h.maker.initiateConnections(["10.0.0.2"], false);
    assert.equal(h.dials.length, 0);
    assert.deepEqual(h.maker.status(), []);
    h.maker.initiateConnections(["10.0.0.2:6783"], false);
    assert.deepEqual(h.dials, [{ address: "10.0.0.2:6783", acceptNewPeer: true }], "with a port");
    h.maker.forgetConnections(["10.0.0.2:6783"]);
    h.maker.connectionAborted("10.0.0.2:6783", new Error("refused"));
    h.maker.connectionTerminated(inbound, new Error("EOF"));
    assert.deepEqual(h.dials.map((d) => d.address), ["10.0.0.2:6783", "10.0.0.2:6783"]);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker discovers targets from other peers' connection lists", () => {
  const h = harness();
  try {
    const b = 0x020000000002n, e = 0x020000000005n;
    // c is left to dial us first (see prefersToDial), d is ours to dial.
    const c = peerWho(false), d = peerWho(true);
    h.maker.connectionCreated(outbound("10.0.0.2:6783", START, b));
    h.peers.push(
      {
        name: OUR_NAME,
        connections: [{ name: 0x0200000000ffn, remoteTCPAddr: "10.0.0.99:6783", outbound: true }],
      },
      {
        name: b,
        connections: [
          { name: OUR_NAME, remoteTCPAddr: "10.0.0.1:6783", outbound: true },
          { name: c, remoteTCPAddr: "10.0.0.3:6783", outbound: true },
          { name: d, remoteTCPAddr: "10.0.0.4:40123", outbound: false },
        ],
      },
      { name: e, connections: [{ name: b, remoteTCPAddr: "10.0.0.2:7777", outbound: true }] },
    );
    h.maker.refresh();
    // c is dialled only if it has not dialled us after YIELD_DIAL_MS × [1/2, 3/2]
    // (random() is 0 here).
    assert.deepEqual(h.dials, [{ address: "10.0.0.4:6783", acceptNewPeer: false }]);
    tick(h, START + YIELD_DIAL_MS / 2 - 1);
    assert.equal(h.dials.length, 1);
    tick(h, START + YIELD_DIAL_MS / 2);
    assert.deepEqual(h.dials.slice(1), [{ address: "10.0.0.3:6783", acceptNewPeer: false }]);
    // Once the peers stop listing them, failed discovered targets are dropped.
    h.maker.connectionAborted("10.0.0.3:6783", new Error("refused"));
    h.maker.connectionAborted("10.0.0.4:6783", new Error("refused"));
    assert.equal(h.maker.status().length, 2);
    h.peers.splice(0);
    h.maker.refresh();
    assert.deepEqual(h.maker.status(), []);
  } finally {
    h.maker.stop();
  }
});

/** The first name from 02:00:00:00:10:00 on (after `after`) that we do, or do not, dial first. */
function peerWho(weDialFirst: boolean, after = 0x020000000fffn): PeerName {
  let name = after + 1n;
  while (prefersToDial(OUR_NAME, name) !== weDialFirst) name++;
  return name;
}

/** `count` peers we dial first, each listed with an outbound connection at 10.0.<i>.<j>. */
function listedPeers(count: number, first = 0): MakerPeer[] {
  let name = 0x020000000fffn;
  for (let k = 0; k < first; k++) name = peerWho(true, name);
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    name = peerWho(true, name);
    return {
      name: 0x020000100000n + BigInt(i), // who lists it
      connections: [{
        name,
        remoteTCPAddr: `10.0.${i >> 8}.${i & 0xff}:6783`,
        outbound: true,
      }],
    };
  });
}

Deno.test("prefersToDial: exactly one of two peers dials first, each about half the time", () => {
  const names = Array.from({ length: 64 }, (_, i) => 0x020000000000n + BigInt(i * 37 + 1));
  for (const a of names) {
    let first = 0;
    for (const b of names) {
      if (a === b) continue;
      assert.notEqual(prefersToDial(a, b), prefersToDial(b, a), `${a} and ${b}`);
      if (prefersToDial(a, b)) first++;
    }
    assert.ok(first >= 10 && first <= 53, `${a} dials first to ${first} of 63`);
  }
});

Deno.test("ConnectionMaker keeps at most MAX_CONCURRENT_ATTEMPTS attempts under way", () => {
  const h = harness();
  try {
    h.peers.push(...listedPeers(30));
    h.maker.refresh();
    assert.equal(h.dials.length, MAX_CONCURRENT_ATTEMPTS, "the first batch");
    assert.equal(new Set(h.dials.map((d) => d.address)).size, MAX_CONCURRENT_ATTEMPTS);
    // Each way an attempt can end frees its slot for the next target, at once.
    const [created, aborted, ended] = h.dials.map((d) => d.address);
    const conn = outbound(created, h.clock.now, 0x0200000000f1n);
    h.maker.connectionCreated(conn);
    assert.equal(h.dials.length, MAX_CONCURRENT_ATTEMPTS + 1, "after a connection is made");
    h.maker.connectionAborted(aborted, new Error("refused"));
    assert.equal(h.dials.length, MAX_CONCURRENT_ATTEMPTS + 2, "after a failed dial");
    h.maker.connectionTerminated(outbound(ended, h.clock.now), new Error("Multiple connections"));
    assert.equal(h.dials.length, MAX_CONCURRENT_ATTEMPTS + 3, "after a refused connection");
    // A connection that ends later had given its slot back already: no extra dial.
    h.maker.connectionTerminated(conn, new Error("EOF"));
    assert.equal(h.dials.length, MAX_CONCURRENT_ATTEMPTS + 3);
    const attempting = h.maker.status().filter((s) => s.state === "connecting").length;
    assert.equal(attempting, MAX_CONCURRENT_ATTEMPTS);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker halves the attempts at once on a handshake timeout, regrows on success", () => {
  const h = harness();
  const timeout = new Error("Cannot perform handshake: handshake timed out after 10000 ms");
  try {
    h.peers.push(...listedPeers(60));
    h.maker.refresh();
    const inFlight = () => h.maker.status().filter((s) => s.state === "connecting").length;
    assert.equal(inFlight(), 8);
    const pending = [...h.dials.map((d) => d.address)];
    // Three timeouts: 8 → 4 → 2 → 1 at once; no new dial until below the cap.
    for (const address of pending.splice(0, 3)) {
      h.maker.connectionTerminated(outbound(address, h.clock.now), timeout);
    }
    assert.equal(h.dials.length, 8, "5 still under way, cap 1: nothing new");
    assert.equal(inFlight(), 5);
    // Successes: the cap grows by one per `cap` successes (1 → 2 → 3 → 3.33 ...).
    const connect = (address: string) =>
      h.maker.connectionCreated(outbound(address, h.clock.now, 0x0200000000f0n));
    for (const address of pending.splice(0, 5)) connect(address);
    assert.equal(inFlight(), 3, "cap back at 3 after 5 successes");
    assert.equal(h.dials.length, 11);
    // A refused dial or an ended connection is no sign of slowness: the cap stays.
    h.maker.connectionAborted(h.dials[8].address, new Error("connection refused"));
    assert.equal(inFlight(), 3);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker dials discovered targets in random order, direct ones first", () => {
  const orders = new Set<string>();
  for (let seed = 0; seed < 6; seed++) {
    let x = seed / 6;
    const h = harness({ random: () => (x = (x * 9301 + 0.49297) % 1), maxAttempts: 3 });
    try {
      h.peers.push(...listedPeers(10));
      h.maker.initiateConnections(["10.9.9.9"], false);
      assert.equal(h.dials[0].address, "10.9.9.9:6783", "the direct peer first");
      assert.equal(h.dials.length, 3);
      orders.add(h.dials.slice(1).map((d) => d.address).join());
    } finally {
      h.maker.stop();
    }
  }
  assert.ok(orders.size >= 4, `different routers dial in different orders (${orders.size})`);
});

Deno.test("ConnectionMaker waits for a peer that prefers to dial, and drops the target when it does", () => {
  const h = harness({ random: () => 0.5 });
  try {
    const theirs = peerWho(false);
    h.peers.push({
      name: 0x020000000002n,
      connections: [{ name: theirs, remoteTCPAddr: "10.0.0.3:6783", outbound: true }],
    });
    h.maker.refresh();
    assert.equal(h.dials.length, 0, "not at once");
    tick(h, START + YIELD_DIAL_MS - 1);
    assert.equal(h.dials.length, 0, "not before YIELD_DIAL_MS × 1 (random 0.5)");
    // They dial us in the meantime: nothing left to do.
    const inbound: MakerConnection = {
      remoteTCPAddr: "10.0.0.3:40000",
      outbound: false,
      remoteName: theirs,
      startedAt: h.clock.now,
    };
    h.maker.connectionCreated(inbound);
    tick(h, START + 10 * YIELD_DIAL_MS);
    assert.equal(h.dials.length, 0);
    assert.deepEqual(h.maker.status(), []);
    // The connection ends: we dial them now (no more waiting), as any discovered target.
    h.maker.connectionTerminated(inbound, new Error("EOF"));
    tick(h, h.clock.now + YIELD_DIAL_MS / 2);
    assert.equal(h.dials.length, 0, "a new target waits again");
    tick(h, h.clock.now + YIELD_DIAL_MS);
    assert.deepEqual(h.dials, [{ address: "10.0.0.3:6783", acceptNewPeer: false }]);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker.requestRefresh reads the topology at most once per interval", async () => {
  const h = harness();
  try {
    h.maker.refresh(); // reads the (empty) topology at START
    h.peers.push(...listedPeers(1));
    h.maker.requestRefresh();
    assert.equal(h.dials.length, 0, "not synchronously");
    // Something else makes the maker look at its targets before the interval is over:
    // it still does not read the topology.
    h.clock.now = START + SCAN_MIN_INTERVAL_MS - 1;
    h.maker.connectionAborted("10.255.0.1:6783", new Error("unrelated"));
    assert.equal(h.dials.length, 0, "topology not read within the interval");
    h.clock.now = START + SCAN_MIN_INTERVAL_MS;
    await new Promise((r) => setTimeout(r, 5)); // the timer was set for 1 ms from then
    assert.deepEqual(h.dials.map((d) => d.address), ["10.0.0.0:6783"], "read once due");
    // Many requests in a burst: one read, at the next turn.
    h.clock.now += SCAN_MIN_INTERVAL_MS;
    h.peers.push(...listedPeers(2, 1));
    for (let i = 0; i < 50; i++) h.maker.requestRefresh();
    assert.equal(h.dials.length, 1);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(h.dials.length, 3);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker re-reads a peer's list only when its version moves, forgets gone peers", () => {
  const h = harness({ random: () => 0 });
  try {
    const x = peerWho(true), y = peerWho(true, x);
    const lister: MakerPeer = {
      name: 0x020000000002n,
      version: 1n,
      uid: 9n,
      connections: [{ name: x, remoteTCPAddr: "10.0.1.1:6783", outbound: true }],
    };
    h.peers.push(lister);
    h.maker.refresh();
    assert.deepEqual(h.dials.map((d) => d.address), ["10.0.1.1:6783"]);
    // Same version: the list is taken as unchanged (not even looked at).
    lister.connections = [{ name: y, remoteTCPAddr: "10.0.1.2:6783", outbound: true }];
    h.maker.requestRefresh();
    tick(h, h.clock.now + SCAN_MIN_INTERVAL_MS);
    assert.equal(h.dials.length, 1);
    // A new version: read again; x is no longer listed, y is.
    lister.version = 2n;
    h.maker.connectionAborted("10.0.1.1:6783", new Error("refused"));
    tick(h, h.clock.now + SCAN_MIN_INTERVAL_MS);
    assert.deepEqual(h.dials.map((d) => d.address), ["10.0.1.1:6783", "10.0.1.2:6783"]);
    assert.deepEqual(h.maker.status().map((s) => s.address), ["10.0.1.2:6783"], "x dropped");
    // The lister leaves the table: what it listed goes with it.
    h.peers.splice(0);
    h.maker.connectionAborted("10.0.1.2:6783", new Error("refused"));
    tick(h, h.clock.now + SCAN_MIN_INTERVAL_MS);
    assert.deepEqual(h.maker.status(), []);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker without discovery dials only direct targets", () => {
  const h = harness({ discovery: false });
  try {
    h.peers.push({
      name: 0x020000000002n,
      connections: [{ name: 0x020000000003n, remoteTCPAddr: "10.0.0.3:6783", outbound: true }],
    });
    h.maker.refresh();
    assert.equal(h.dials.length, 0);
    h.maker.initiateConnections(["10.0.0.2"], false);
    assert.deepEqual(h.dials.map((d) => d.address), ["10.0.0.2:6783"]);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker forgets and replaces direct peers", () => {
  const h = harness();
  try {
    h.maker.initiateConnections(["10.0.0.2", "10.0.0.3"], false);
    h.maker.initiateConnections(["10.0.0.4"], true);
    assert.deepEqual(h.maker.directPeers(), ["10.0.0.4"]);
    h.maker.initiateConnections(["10.0.0.5"], false);
    h.maker.forgetConnections(["10.0.0.5", "10.0.0.9"]);
    assert.deepEqual(h.maker.directPeers(), ["10.0.0.4"]);
    for (const a of ["10.0.0.2:6783", "10.0.0.3:6783", "10.0.0.5:6783"]) {
      h.maker.connectionAborted(a, new Error("refused"));
    }
    assert.deepEqual(h.maker.status().map((s) => s.address), ["10.0.0.4:6783"]);
    tick(h, h.clock.now + MAX_INTERVAL_MS * 2);
    assert.deepEqual(
      h.dials.map((d) => d.address),
      ["10.0.0.2:6783", "10.0.0.3:6783", "10.0.0.4:6783", "10.0.0.5:6783"],
      "forgotten targets are not dialled again",
    );
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker status: connecting, failed with Go retry time, then retrying", () => {
  const h = harness();
  try {
    const address = "10.0.0.2:6783";
    h.maker.initiateConnections(["10.0.0.2"], false);
    assert.deepEqual(h.maker.status(), [{ address, state: "connecting", info: "" }]);
    h.maker.connectionAborted(address, new Error("dial tcp :0->10.0.0.2:6783: connect: refused"));
    assert.deepEqual(h.maker.status(), [{
      address,
      state: "failed",
      info: `dial tcp :0->10.0.0.2:6783: connect: refused, retry: ${
        formatGoTime(new Date(START + 1_000))
      }`,
    }]);
    tick(h, START + 1_000);
    assert.deepEqual(h.maker.status(), [{
      address,
      state: "retrying",
      info: "dial tcp :0->10.0.0.2:6783: connect: refused",
    }]);
  } finally {
    h.maker.stop();
  }
});

Deno.test("ConnectionMaker.stop stops dialling", () => {
  const h = harness();
  h.maker.stop();
  h.maker.initiateConnections(["10.0.0.2"], false);
  h.maker.refresh();
  assert.equal(h.dials.length, 0);
});

Deno.test("formatGoTime prints Go's time.Time.String in UTC, fraction trimmed", () => {
  const at = (ms: number) => new Date(Date.UTC(2026, 10, 23, 18, 44, 24, ms));
  assert.equal(formatGoTime(at(218)), "2026-11-23 18:44:24.218 +0000 UTC");
  assert.equal(formatGoTime(at(210)), "2026-11-23 18:44:24.21 +0000 UTC");
  assert.equal(formatGoTime(at(200)), "2026-11-23 18:44:24.2 +0000 UTC");
  assert.equal(formatGoTime(at(5)), "2026-11-23 18:44:24.005 +0000 UTC");
  assert.equal(formatGoTime(at(0)), "2026-11-23 18:44:24 +0000 UTC");
  assert.equal(
    formatGoTime(new Date(Date.UTC(2027, 0, 2, 3, 4, 5))),
    "2027-01-02 03:04:05 +0000 UTC",
  );
  const shape = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{0,2}[1-9])? \+0000 UTC$/;
  for (let ms = 0; ms < 1000; ms += 37) assert.match(formatGoTime(at(ms)), shape);
});
