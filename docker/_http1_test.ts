import assert from "node:assert/strict";
import {
  BufReader,
  copyBody,
  formatHead,
  header,
  HttpSyntaxError,
  MAX_HEAD,
  parseHead,
  readBody,
  requestFraming,
  responseFraming,
  type Sink,
  type Source,
  withHeader,
  withoutHeader,
} from "./_http1.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A source handing out `chunks` one read at a time (a byte stream cut anywhere). */
function source(...chunks: string[]): Source {
  const queue = chunks.map((c) => enc.encode(c));
  return {
    read(p) {
      const next = queue.shift();
      if (!next) return Promise.resolve(null);
      const n = Math.min(p.length, next.length);
      p.set(next.subarray(0, n));
      if (n < next.length) queue.unshift(next.subarray(n));
      return Promise.resolve(n);
    },
  };
}

function sink(): Sink & { text(): string } {
  const parts: Uint8Array[] = [];
  return {
    write: (p) => (parts.push(p.slice()), Promise.resolve(p.length)),
    text: () => parts.map((p) => dec.decode(p)).join(""),
  };
}

Deno.test("BufReader.readHead: a head cut across reads, the rest stays buffered", async () => {
  const r = new BufReader(source("GET / HT", "TP/1.1\r\nHost: x\r", "\n\r\nBODY"));
  const head = parseHead((await r.readHead())!);
  assert.deepEqual(head, { start: "GET / HTTP/1.1", lines: ["Host: x"] });
  assert.equal(dec.decode((await r.readSome())!), "BODY");
  assert.equal(await r.readHead(), null, "a clean end between messages");
});

Deno.test("heads: round trip, header look-up is case-insensitive, set/remove keep the others", () => {
  const text = "HTTP/1.1 200 OK\r\nContent-Type: a\r\nX-A: 1\r\n\r\n";
  const h = parseHead(text);
  assert.equal(dec.decode(formatHead(h)), text);
  assert.equal(header(h, "content-type"), "a");
  assert.deepEqual(withHeader(h, "content-type", "b").lines, ["X-A: 1", "content-type: b"]);
  assert.deepEqual(withoutHeader(h, "X-A").lines, ["Content-Type: a"]);
});

Deno.test("hostile heads: cut, oversized, malformed lines are HttpSyntaxErrors", async () => {
  await assert.rejects(
    () => new BufReader(source("GET / HTTP/1.1\r\nHo")).readHead(),
    HttpSyntaxError,
  );
  const huge = "GET / HTTP/1.1\r\nX: " + "a".repeat(MAX_HEAD + 10);
  await assert.rejects(() => new BufReader(source(huge)).readHead(), /too large/);
  assert.throws(() => parseHead("GET / HTTP/1.1\r\nno colon here\r\n\r\n"), HttpSyntaxError);
  assert.throws(() => parseHead("\r\n\r\n"), HttpSyntaxError);
  assert.throws(
    () => requestFraming(parseHead("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n")),
    /Content-Length/,
  );
});

Deno.test("framing: length, chunked, none for HEAD/204/304, close-delimited otherwise", () => {
  const h = (lines: string[]) => parseHead(["HTTP/1.1 200 OK", ...lines, "", ""].join("\r\n"));
  assert.deepEqual(responseFraming(h(["Content-Length: 5"]), "GET", 200), {
    kind: "length",
    length: 5,
  });
  assert.deepEqual(responseFraming(h(["Transfer-Encoding: chunked"]), "GET", 200), {
    kind: "chunked",
  });
  assert.deepEqual(responseFraming(h(["Content-Length: 5"]), "HEAD", 200), { kind: "none" });
  assert.deepEqual(responseFraming(h([]), "GET", 204), { kind: "none" });
  assert.deepEqual(responseFraming(h([]), "GET", 200), { kind: "close" });
  assert.deepEqual(requestFraming(parseHead("GET / HTTP/1.1\r\n\r\n")), { kind: "none" });
});

Deno.test("copyBody keeps chunked framing byte for byte; readBody decodes it", async () => {
  const chunked = "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  const out = sink();
  const r = new BufReader(source(chunked.slice(0, 7), chunked.slice(7)));
  assert.ok(await copyBody(r, out, { kind: "chunked" }));
  assert.equal(out.text(), chunked.slice(0, -4));
  assert.equal(dec.decode((await r.readSome())!), "NEXT", "the next message is untouched");
  const body = await readBody(new BufReader(source(chunked)), { kind: "chunked" });
  assert.equal(dec.decode(body), "Wikipedia");
});

Deno.test("hostile bodies: bad chunk sizes, early ends and oversized bodies", async () => {
  await assert.rejects(
    () => readBody(new BufReader(source("zz\r\n")), { kind: "chunked" }),
    /chunk size/,
  );
  await assert.rejects(
    () => readBody(new BufReader(source("5\r\nab")), { kind: "chunked" }),
    HttpSyntaxError,
  );
  await assert.rejects(
    () => readBody(new BufReader(source("abc")), { kind: "length", length: 9 }),
    /inside a body/,
  );
  await assert.rejects(
    () => readBody(new BufReader(source("x".repeat(100))), { kind: "length", length: 100 }, 10),
    /larger than 10 bytes/,
  );
  assert.equal(
    await copyBody(new BufReader(source("ab")), sink(), { kind: "length", length: 5 }),
    false,
  );
});
