/**
 * Fixtures shared by the netlink codec tests: hex input and a full vxlan link reply.
 *
 * @module
 */

import { parseMac, stringAttr, u32Attr } from "./attrs.ts";
import {
  AF_UNSPEC,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINKINFO,
  RTM_NEWLINK,
} from "./constants.ts";
import { ifInfoMsg } from "./family_headers.ts";
import { encodeMessage } from "./message.ts";
import { bridgePortAttrs, vxlanData } from "./requests_link.ts";

/** Bytes from hex text; whitespace is ignored. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g)!, (h) => parseInt(h, 16));
}

/** An RTM_NEWLINK reply for a vxlan bridge port with MTU, MAC, master and oper state. */
export function vxlanLinkReply(): Uint8Array {
  return encodeMessage(ifInfoMsg, {
    type: RTM_NEWLINK,
    flags: 0,
    seq: 1,
    pid: 0,
    header: { family: AF_UNSPEC, type: 1, index: 9, flags: 0x1043, change: 0 },
    attrs: [
      stringAttr(3, "vx-1"),
      u32Attr(4, 1376),
      { type: 1, value: parseMac("0a:1b:2c:3d:4e:5f") },
      u32Attr(10, 2),
      { type: 16, value: Uint8Array.of(6) },
      {
        type: IFLA_LINKINFO,
        value: [
          stringAttr(IFLA_INFO_KIND, "vxlan"),
          {
            type: IFLA_INFO_DATA,
            value: vxlanData({ vni: 291, local: "10.0.0.1", port: 6784, learning: false }),
          },
          stringAttr(IFLA_INFO_SLAVE_KIND, "bridge"),
          { type: IFLA_INFO_SLAVE_DATA, value: bridgePortAttrs({ isolated: true, flood: false }) },
        ],
      },
    ],
  });
}
