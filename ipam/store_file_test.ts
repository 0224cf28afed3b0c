import assert from "node:assert/strict";
import { FileStore, ipamStatePath, parseIpamFile, renderIpamFile } from "./store_file.ts";
import {
  decodeIpamState,
  encodeIpamState,
  type IpamState,
  IpamStoreCorruptError,
} from "./store.ts";

function sample(): IpamState {
  return {
    peerName: 0x020000000001n,
    ring: {
      start: 0x0a200000,
      end: 0x0a300000,
      peer: 0x020000000001n,
      entries: [
        { token: 0x0a200000, peer: 0x020000000001n, version: 3, free: 524287 },
        { token: 0x0a280000, peer: 0x020000000002n, version: 101, free: 524288 },
      ],
      seeds: [0x020000000001n, 0x020000000002n],
    },
    owned: new Map([["c1", { isContainer: true, cidrs: [{ addr: 0x0a200001, prefix: 12 }] }]]),
    holds: new Map([[0x0a280000, { from: 0x020000000003n, until: 1234 }]]),
  };
}

Deno.test("FileStore: save then load round-trips the state; a missing file is no state", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new FileStore(ipamStatePath(`${dir}/sub/weave`));
    assert.equal(store.path, `${dir}/sub/weaveipam.json`);
    assert.equal(await store.load(), undefined);
    await store.save(sample());
    assert.deepEqual(await store.load(), sample());
    const { ring: _ring, ...noRing } = sample();
    await store.save(noRing);
    assert.deepEqual(await store.load(), noRing);
    assert.deepEqual([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name), ["weaveipam.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileStore: truncated, edited or foreign files are reported as damaged", async () => {
  const text = await renderIpamFile(sample());
  for (
    const bad of [
      text.slice(0, text.length / 2),
      "",
      "{}",
      text.replace('"free": 524287', '"free": 524288'),
    ]
  ) {
    await assert.rejects(parseIpamFile("/x/ipam.json", bad), IpamStoreCorruptError);
  }
  await assert.rejects(
    parseIpamFile("/x/ipam.json", text.slice(0, 40)),
    /is damaged: not valid JSON/,
  );
  await assert.rejects(
    parseIpamFile("/x/ipam.json", text.replace('"version": 3', '"version": 4')),
    /checksum mismatch/,
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/weaveipam.json`, text.slice(0, 100));
    await assert.rejects(
      new FileStore(`${dir}/weaveipam.json`).load(),
      /weaveipam.json" is damaged/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeIpamState: refuses wrong fields with their path", () => {
  const good = encodeIpamState(sample());
  const cases: [unknown, RegExp][] = [
    [null, /state is not an object/],
    [{ ...good, peerName: "zz" }, /peerName "zz" is not a peer name/],
    [{ ...good, ring: { ...good.ring!, end: 2 ** 33 } }, /ring.end is out of range/],
    [{
      ...good,
      ring: {
        ...good.ring!,
        entries: [{ token: "10.32.0.0", peer: "02:00:00:00:00:01", version: -1, free: 0 }],
      },
    }, /ring.entries\[0\].version is not a uint32/],
    [
      { ...good, owned: { c: { isContainer: true, cidrs: ["10.32.0.1"] } } },
      /owned address "10.32.0.1" is not a CIDR/,
    ],
    [
      { ...good, holds: [{ token: "1.2.3", from: "02:00:00:00:00:01", until: 1 }] },
      /holds\[0\].token "1.2.3"/,
    ],
  ];
  for (const [doc, re] of cases) assert.throws(() => decodeIpamState(doc, "t"), re);
  assert.deepEqual(decodeIpamState(JSON.parse(JSON.stringify(good)), "t"), sample());
});
