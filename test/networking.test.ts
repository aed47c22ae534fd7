// The one naming and networking rule for containers: plain recipe names on a host of their own,
// prefixed names and one volume per member on a shared engine.
import {
  attachment,
  containerName,
  neighbourAddress,
  neighbourListenAddress,
  servesHostAddresses,
  volumeName,
} from "../lib/networking";
import { ClusterNetworking } from "../lib/networking";

const HOST: ClusterNetworking = { kind: "host" };
const SHARED: ClusterNetworking = { kind: "bridge", network: "tikv-dev", namePrefix: "tikv-dev" };

test("names: the recipe's on a host of its own; the stack's prefix on a shared engine", () => {
  expect(["pd1", "tikv3", "prometheus"].map((m) => containerName(HOST, m))).toEqual(["pd1", "tikv3", "prometheus"]);
  expect(["pd1", "tikv3", "prometheus"].map((m) => containerName(SHARED, m))).toEqual([
    "tikv-dev-pd1",
    "tikv-dev-tikv3",
    "tikv-dev-prometheus",
  ]);
  // One volume of a kind per engine on hosts; one per member where members share an engine.
  expect(volumeName(HOST, "pd2", "pd-data")).toBe("pd-data");
  expect(volumeName(SHARED, "pd2", "pd-data")).toBe("tikv-dev-pd2-data");
  expect(volumeName(SHARED, "grafana", "grafana-data")).toBe("tikv-dev-grafana-data");
});

test("network: the host's own on hosts; the user-defined network with the member's alias, published on loopback, on a shared engine", () => {
  const publish = [{ internal: 2379, external: 2379, ip: "127.0.0.1" }];
  expect(attachment(HOST, "pd1", publish)).toEqual({ networkMode: "host" });
  expect(attachment(SHARED, "pd1", publish)).toEqual({
    networkMode: "bridge",
    networksAdvanced: [{ name: "tikv-dev", aliases: ["pd1"] }],
    ports: publish,
  });
  expect(attachment(SHARED, "tikv1")).toEqual({
    networkMode: "bridge",
    networksAdvanced: [{ name: "tikv-dev", aliases: ["tikv1"] }],
    ports: [],
  });
});

test("neighbours: loopback on the host network; the alias on a bridge, where listening on loopback would shut them out", () => {
  expect([neighbourListenAddress(HOST), neighbourAddress(HOST, "prometheus")]).toEqual(["127.0.0.1", "127.0.0.1"]);
  expect([neighbourListenAddress(SHARED), neighbourAddress(SHARED, "prometheus")]).toEqual(["0.0.0.0", "prometheus"]);
  expect([servesHostAddresses(HOST), servesHostAddresses(SHARED)]).toEqual([true, false]);
});
