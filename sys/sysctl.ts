/**
 * Writing kernel settings under `/proc/sys` with libc, from the calling
 * thread. The `net/` settings belong to the network namespace of the thread
 * that opens the file, so inside {@link withNetns} they are the namespace's
 * (e.g. a pod interface's ARP settings), and outside the caller's own.
 *
 * @module
 */
import { check, closeFd, cString, libc, O_CLOEXEC } from "./libc.ts";

const O_WRONLY = 1;

/**
 * Writes `value` to `/proc/sys/<key>` (`key` as `net/ipv4/conf/eth0/arp_accept`);
 * NotFoundError when the setting does not exist (e.g. IPv6 disabled).
 *
 * @example
 * ```ts ignore
 * withNetns("/run/netns/pod", () => writeSysctl("net/ipv4/conf/eth0/arp_accept", "1"));
 * ```
 */
export function writeSysctl(key: string, value: string): void {
  if (key.includes("..") || key.startsWith("/")) {
    throw new TypeError(`Cannot write sysctl "${key}": want a relative key like net/ipv4/...`);
  }
  const path = `/proc/sys/${key}`;
  const fd = check(`open "${path}"`, libc().open(cString(path), O_WRONLY | O_CLOEXEC, 0));
  try {
    const bytes = new TextEncoder().encode(value);
    check(`write "${value}" to "${path}"`, libc().write(fd, bytes, BigInt(bytes.length)));
  } finally {
    closeFd(fd);
  }
}
