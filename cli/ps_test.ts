import assert from "node:assert/strict";
import { formatPs } from "./ps.ts";

Deno.test("formatPs prints id, MAC and CIDRs without trailing space", () => {
  assert.equal(
    formatPs([
      { id: "weave:expose", mac: "7a:c4:8b:a1:e6:ad", cidrs: [] },
      { id: "c1", mac: "ce:15:34:a9:b5:6d", cidrs: ["10.2.5.1/24", "10.2.6.1/24"] },
    ]),
    "weave:expose 7a:c4:8b:a1:e6:ad\nc1 ce:15:34:a9:b5:6d 10.2.5.1/24 10.2.6.1/24\n",
  );
  assert.equal(formatPs([]), "");
});
