import assert from "node:assert/strict";
import { BoltFileError, fnv1a64, readBoltBucket, readBoltMeta } from "./boltdb.ts";

const dir = new URL("../testdata/state-boltdb/", import.meta.url);
const h1 = Deno.readFileSync(new URL("h1-weavedata.db", dir));
const h2 = Deno.readFileSync(new URL("h2-weavedata.db", dir));
const PAGE = 4096;

/** Rewrites the checksum of the meta page at `offset` (after a deliberate edit). */
function reseal(bytes: Uint8Array, offset: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset + offset);
  v.setBigUint64(16 + 56, fnv1a64(bytes.subarray(offset + 16, offset + 16 + 56)), true);
}

Deno.test("fnv1a64 matches Go's hash/fnv New64a", () => {
  assert.equal(fnv1a64(new Uint8Array()), 0xcbf29ce484222325n);
  assert.equal(fnv1a64(new TextEncoder().encode("a")), 0xaf63dc4c8601ec8cn);
});

Deno.test("readBoltMeta picks the valid meta page with the higher txid", () => {
  const m1 = readBoltMeta(h1);
  assert.deepEqual(
    { page: m1.page, pageSize: m1.pageSize, root: m1.root, txid: m1.txid },
    { page: 1, pageSize: PAGE, root: 2n, txid: 23n },
  );
  const m2 = readBoltMeta(h2);
  assert.deepEqual({ page: m2.page, root: m2.root, txid: m2.txid }, {
    page: 0,
    root: 4n,
    txid: 16n,
  });
});

Deno.test("readBoltMeta falls back to the older meta page when the newer one is damaged", () => {
  const bytes = h1.slice();
  bytes[PAGE + 16 + 48] ^= 0xff; // txid of meta page 1: checksum no longer matches
  const m = readBoltMeta(bytes);
  assert.equal(m.page, 0);
  assert.equal(m.root, 4n);
  // The previous transaction's tree is complete too.
  assert.deepEqual([...readBoltBucket(bytes, "top")!.keys()].sort(), [
    "directPeers",
    "ownedAddresses",
    "peername",
    "ring",
    "version",
  ]);
});

Deno.test("readBoltMeta refuses a file with no valid meta page", () => {
  for (
    const [what, bytes] of [
      ["empty", new Uint8Array()],
      ["text", new TextEncoder().encode('{"format":"weave-state-v1"}'.repeat(400))],
      ["zeros", new Uint8Array(3 * PAGE)],
      ["first 60 bytes", h1.slice(0, 60)],
    ] as const
  ) {
    assert.throws(() => readBoltMeta(bytes), (e: Error) => {
      assert.ok(e instanceof BoltFileError, what);
      assert.match(e.message, /^Cannot read BoltDB file: no valid meta page \(page 0: /);
      return true;
    });
  }
});

Deno.test("readBoltMeta refuses another version and a page size that is not a power of two", () => {
  const other = h1.slice();
  new DataView(other.buffer).setUint32(PAGE + 16 + 4, 3, true);
  new DataView(other.buffer).setUint32(16 + 4, 3, true);
  reseal(other, 0);
  reseal(other, PAGE);
  assert.throws(() => readBoltMeta(other), /page 0: version 3, expected 2/);
  const odd = h1.slice();
  new DataView(odd.buffer).setUint32(16 + 8, 4000, true);
  reseal(odd, 0);
  new DataView(odd.buffer).setUint32(PAGE + 16, 0, true); // break meta 1's magic
  assert.throws(() => readBoltMeta(odd), /page size 4000 is not a power of two/);
});

Deno.test("readBoltBucket reads the inline bucket top of both fixtures", () => {
  for (const bytes of [h1, h2]) {
    const top = readBoltBucket(bytes, "top")!;
    assert.deepEqual([...top.keys()], [
      "directPeers",
      "ownedAddresses",
      "peername",
      "ring",
      "version",
    ]);
    assert.deepEqual([...top.get("version")!], [1, 0]);
  }
  assert.equal(readBoltBucket(h1, "other"), undefined);
});

Deno.test("readBoltBucket reports a truncated file, whatever the cut", () => {
  // Both meta pages survive a cut after 2 pages, but the tree they point at does not.
  for (const cut of [2 * PAGE, 2 * PAGE + 100, 3 * PAGE, 5 * PAGE - 1]) {
    const bytes = h1.slice(0, cut);
    let error: unknown;
    let top: Map<string, Uint8Array> | undefined;
    try {
      top = readBoltBucket(bytes, "top");
    } catch (e) {
      error = e;
    }
    if (top) {
      // A cut that keeps the current tree (pages 0-2) is a complete file as far as it is read.
      assert.equal(readBoltMeta(bytes).root, 2n, `cut ${cut}`);
      assert.ok(cut >= 3 * PAGE);
    } else {
      assert.ok(error instanceof BoltFileError, `cut ${cut}: ${error}`);
      assert.match(String(error), /past the end \(truncated file of \d+ bytes\?\)/);
    }
  }
  // Meta page 0 alone (80 bytes) is valid, but its tree is gone.
  assert.throws(() => readBoltBucket(h1.slice(0, 100), "top"), /past the end/);
  // h2's current tree is on page 4: any cut before its end is reported.
  for (const cut of [2 * PAGE, 4 * PAGE, 4 * PAGE + 700, 5 * PAGE - 1]) {
    assert.throws(() => readBoltBucket(h2.slice(0, cut), "top"), BoltFileError, `cut ${cut}`);
  }
});

Deno.test("readBoltBucket refuses damaged pages and elements", () => {
  const cases: [string, (v: DataView) => void, RegExp][] = [
    ["page id", (v) => v.setBigUint64(2 * PAGE, 7n, true), /page 2 \(page 2\) says it is page 7/],
    [
      "page flags",
      (v) => v.setUint16(2 * PAGE + 8, 0x10, true),
      /flags 0x10, expected a branch or leaf/,
    ],
    [
      "key size",
      (v) => v.setUint32(2 * PAGE + 16 + 8, 5000, true),
      /key 0 of page 2 runs outside its page/,
    ],
    [
      "value size",
      (v) => v.setUint32(2 * PAGE + 16 + 12, 9000, true),
      /value 0 of page 2 runs outside/,
    ],
    ["count", (v) => v.setUint16(2 * PAGE + 10, 300, true), /outside its page|too short/],
    [
      "inline flags",
      (v) => v.setUint16(2 * PAGE + 0x33 + 8, 0x01, true),
      /inline bucket "top" has flags 0x1/,
    ],
    [
      "inline value",
      (v) => v.setUint32(2 * PAGE + 0x43 + 12, 0x400, true),
      /inline bucket "top" runs outside/,
    ],
    ["root page", (v) => {
      v.setBigUint64(PAGE + 32, 9n, true);
    }, /points at page 9, outside 2\.\.5/],
  ];
  for (const [what, edit, message] of cases) {
    const bytes = h1.slice();
    edit(new DataView(bytes.buffer));
    if (what === "root page") reseal(bytes, PAGE);
    assert.throws(() => readBoltBucket(bytes, "top"), (e: Error) => {
      assert.ok(e instanceof BoltFileError, `${what}: ${e}`);
      assert.match(e.message, message, what);
      return true;
    });
  }
});

Deno.test("readBoltBucket walks branch pages and a bucket with a root page of its own", () => {
  // Built by hand: page 2 branch → leaf pages 3 and 4 of the root; "top" lives on page 5.
  const bytes = new Uint8Array(6 * PAGE);
  const v = new DataView(bytes.buffer);
  for (const p of [0, 1]) {
    const at = p * PAGE;
    v.setBigUint64(at, BigInt(p), true);
    v.setUint16(at + 8, 0x04, true);
    v.setUint32(at + 16, 0xed0cdaed, true);
    v.setUint32(at + 20, 2, true);
    v.setUint32(at + 24, PAGE, true);
    v.setBigUint64(at + 32, 2n, true);
    v.setBigUint64(at + 56, 6n, true);
    v.setBigUint64(at + 64, BigInt(p), true);
    reseal(bytes, at);
  }
  const enc = new TextEncoder();
  const leaf = (page: number, items: [string, Uint8Array, number][]) => {
    const at = page * PAGE;
    v.setBigUint64(at, BigInt(page), true);
    v.setUint16(at + 8, 0x02, true);
    v.setUint16(at + 10, items.length, true);
    let data = at + 16 + 16 * items.length;
    items.forEach(([k, val, flags], i) => {
      const el = at + 16 + 16 * i;
      const key = enc.encode(k);
      v.setUint32(el, flags, true);
      v.setUint32(el + 4, data - el, true);
      v.setUint32(el + 8, key.length, true);
      v.setUint32(el + 12, val.length, true);
      bytes.set(key, data);
      bytes.set(val, data + key.length);
      data += key.length + val.length;
    });
  };
  v.setBigUint64(2 * PAGE, 2n, true);
  v.setUint16(2 * PAGE + 8, 0x01, true);
  v.setUint16(2 * PAGE + 10, 2, true);
  v.setBigUint64(2 * PAGE + 16 + 8, 3n, true);
  v.setBigUint64(2 * PAGE + 32 + 8, 4n, true);
  const header = new Uint8Array(16);
  new DataView(header.buffer).setBigUint64(0, 5n, true);
  const empty = new Uint8Array(32); // an empty inline bucket: header, then a leaf with no elements
  empty[16 + 8] = 0x02;
  leaf(3, [["aaa", empty, 1]]);
  leaf(4, [["top", header, 1], ["zzz", Uint8Array.of(1), 0]]);
  leaf(5, [["k1", Uint8Array.of(7), 0], ["nested", new Uint8Array(16), 1], [
    "k2",
    enc.encode("v"),
    0,
  ]]);
  const top = readBoltBucket(bytes, "top")!;
  assert.deepEqual([...top].map(([k, val]) => [k, [...val]]), [["k1", [7]], ["k2", [118]]]);
  assert.deepEqual(readBoltBucket(bytes, "aaa"), new Map());
  assert.equal(readBoltBucket(bytes, "zzz"), undefined); // a plain key, not a bucket
  // A branch that points back at itself is refused, not followed for ever.
  v.setBigUint64(2 * PAGE + 16 + 8, 2n, true);
  assert.throws(() => readBoltBucket(bytes, "top"), /tree too deep/);
});
