import assert from "node:assert/strict";
import { OwnedBook } from "./_owned.ts";

const a = (n: number) => ({ addr: 0x0a200000 + n, prefix: 12 });

Deno.test("OwnedBook: add, remove, owner index and changes since the last take", () => {
  const book = new OwnedBook();
  book.reset(new Map([["old", { isContainer: true, cidrs: [a(1)] }]]));
  assert.deepEqual(book.takeChanges(false), new Map(), "loading is no change");
  book.add("c1", a(2), true);
  book.add("c1", a(3), true);
  book.add("exp", a(4), false);
  assert.equal(book.owner(a(3).addr), "c1");
  assert.equal(book.owner(a(1).addr), "old");
  assert.equal(book.remove("c1", a(9).addr), false);
  assert.equal(book.remove("old", a(1).addr), true);
  assert.equal(book.owner(a(1).addr), undefined);
  assert.deepEqual(
    book.takeChanges(false),
    new Map([
      ["c1", { isContainer: true, cidrs: [a(2), a(3)] }],
      ["exp", { isContainer: false, cidrs: [a(4)] }],
      ["old", null],
    ]),
  );
  assert.deepEqual(book.takeChanges(false), new Map());
  assert.deepEqual([...book.takeChanges(true).keys()], ["c1", "exp"], "everything on request");
});

Deno.test("OwnedBook: taken changes are copies", () => {
  const book = new OwnedBook();
  book.add("c1", a(1), true);
  const taken = book.takeChanges(false).get("c1")!;
  book.add("c1", a(2), true);
  assert.deepEqual(taken.cidrs, [a(1)]);
  assert.deepEqual(book.get("c1")?.cidrs, [a(1), a(2)]);
});
