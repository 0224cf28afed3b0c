import assert from "node:assert/strict";
import { renamePs, routerId } from "./docker_container.ts";

Deno.test("renamePs: router ids of Docker containers shown as names; other lines untouched", () => {
  const body = "weave:expose 7a:00:00:00:00:01 10.32.0.9/12\n" +
    "pid:42 aa:bb:cc:dd:ee:ff 10.32.0.1/12\n" +
    "pid:420 aa:bb:cc:dd:ee:00 10.32.0.2/12\n" +
    "c1 aa:bb:cc:dd:ee:01\n";
  assert.equal(
    renamePs(body, new Map([["pid:42", "web1"]])),
    "weave:expose 7a:00:00:00:00:01 10.32.0.9/12\n" +
      "web1 aa:bb:cc:dd:ee:ff 10.32.0.1/12\n" +
      "pid:420 aa:bb:cc:dd:ee:00 10.32.0.2/12\n" +
      "c1 aa:bb:cc:dd:ee:01\n",
  );
});

Deno.test("routerId: pid:<n> for a Docker container, the argument otherwise", () => {
  const docker = {
    id: "x",
    name: "web1",
    hostname: "",
    domainname: "",
    pid: 7,
    running: true,
    networkMode: "",
    labels: {},
    env: [],
    networks: [],
  };
  assert.equal(routerId("web1", { ref: "7", docker }), "pid:7");
  assert.equal(routerId("c1", { ref: "c1" }), "c1");
});
