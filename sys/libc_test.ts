import assert from "node:assert/strict";
import {
  cString,
  Errno,
  errnoMessage,
  errnoName,
  ExistsError,
  NotFoundError,
  SysError,
  sysError,
} from "./libc.ts";

Deno.test("sysError picks ExistsError for EEXIST and NotFoundError for absent-object errnos", () => {
  assert.ok(sysError("add link", Errno.EEXIST) instanceof ExistsError);
  for (const n of [Errno.ENODEV, Errno.ENOENT, Errno.ESRCH, Errno.EADDRNOTAVAIL, Errno.ENXIO]) {
    const e = sysError("delete thing", n);
    assert.ok(e instanceof NotFoundError && e instanceof SysError, errnoName(n));
  }
  const other = sysError("set MTU", Errno.EINVAL);
  assert.ok(!(other instanceof ExistsError) && !(other instanceof NotFoundError));
});

Deno.test("SysError message names the action, strerror text, errno and kernel detail", () => {
  const e = sysError('add vxlan "vx-1"', Errno.EINVAL, "Unknown device type");
  assert.equal(
    e.message,
    'Cannot add vxlan "vx-1": Invalid argument (errno 22): Unknown device type',
  );
  assert.deepEqual([e.errno, e.code, e.op, e.detail], [
    22,
    "EINVAL",
    'add vxlan "vx-1"',
    "Unknown device type",
  ]);
  assert.equal(new SysError("x", 1).message, "Cannot x: Operation not permitted (errno 1)");
});

Deno.test("errno names and messages fall back for unknown numbers", () => {
  assert.equal(errnoName(17), "EEXIST");
  assert.equal(errnoName(4095), "E4095");
  assert.equal(errnoMessage(19), "No such device");
  // Not in the table: libc strerror answers (glibc text for ECONNREFUSED).
  assert.equal(errnoMessage(111), "Connection refused");
});

Deno.test("cString appends one NUL to the UTF-8 bytes", () => {
  assert.deepEqual(cString("ab"), Uint8Array.of(0x61, 0x62, 0));
  assert.deepEqual(cString(""), Uint8Array.of(0));
});
