import assert from "node:assert/strict";
import { FdOwner } from "./fd_owner.ts";
import { libc, openPath } from "./libc.ts";

const F_GETFD = 1;
const isOpen = (fd: number) => libc().fcntl(fd, F_GETFD, 0) >= 0;

Deno.test("FdOwner closes its descriptor once and reads -1 afterwards", () => {
  const fd = openPath("/dev/null", 0);
  {
    using owner = new FdOwner(fd);
    assert.equal(owner.fd, fd);
    assert.ok(isOpen(fd));
    owner.close();
    assert.equal(owner.fd, -1);
    assert.equal(isOpen(fd), false);
    owner.close(); // idempotent, as is the dispose at the end of the block
  }
  const other = openPath("/dev/null", 0);
  new FdOwner(other)[Symbol.dispose]();
  assert.equal(isOpen(other), false, "dispose closes");
});
