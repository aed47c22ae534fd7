import { parse } from "smol-toml";
import { pdArgs, pdConfigToml, tikvArgs, tikvConfigToml } from "../lib/clusterConfig";
import { cidrContains, parseCidr } from "../lib/ipv4";
import { planMemory, reserveSpaceGB } from "../lib/memoryBudget";
import { planCluster } from "../lib/topology";

describe("planCluster", () => {
  test("three hosts: fixed addresses, PD on every host", () => {
    const plan = planCluster(3, 3, "10.0.1.0/24");
    expect(plan.hosts.map((h) => [h.name, h.privateIp, h.pdName, h.tikvName])).toEqual([
      ["tikv-host-1", "10.0.1.11", "pd1", "tikv1"],
      ["tikv-host-2", "10.0.1.12", "pd2", "tikv2"],
      ["tikv-host-3", "10.0.1.13", "pd3", "tikv3"],
    ]);
    expect(plan.initialCluster).toBe("pd1=http://10.0.1.11:2380,pd2=http://10.0.1.12:2380,pd3=http://10.0.1.13:2380");
    expect(plan.pdEndpoints.join(",")).toBe("10.0.1.11:2379,10.0.1.12:2379,10.0.1.13:2379");
  });

  test("five hosts with three PD members: PD on the first three only", () => {
    const plan = planCluster(5, 3, "172.16.8.0/27");
    expect(plan.hosts.map((h) => h.pdName)).toEqual(["pd1", "pd2", "pd3", undefined, undefined]);
    expect(plan.hosts[4].privateIp).toBe("172.16.8.15");
    expect(plan.tikvAddresses).toHaveLength(5);
    expect(plan.initialCluster.split(",")).toHaveLength(3);
  });

  test("growing the cluster keeps every existing host's plan", () => {
    const three = planCluster(3, 3, "10.0.1.0/24");
    const five = planCluster(5, 3, "10.0.1.0/24");
    expect(five.hosts.slice(0, 3)).toEqual(three.hosts);
  });

  test("twenty hosts fit a /27 and stay inside it", () => {
    const plan = planCluster(20, 7, "10.0.1.0/27");
    const subnet = parseCidr("10.0.1.0/27")!;
    for (const h of plan.hosts) expect(cidrContains(subnet, parseCidr(`${h.privateIp}/32`)!)).toBe(true);
    expect(plan.hosts[19].privateIp).toBe("10.0.1.30");
  });
});

describe("PD and TiKV flags", () => {
  const plan = planCluster(5, 3, "10.0.1.0/24");

  test("PD listens everywhere and advertises its private address", () => {
    expect(pdArgs(plan.hosts[1], plan)).toEqual([
      "--name=pd2",
      "--data-dir=/data",
      "--client-urls=http://0.0.0.0:2379",
      "--advertise-client-urls=http://10.0.1.12:2379",
      "--peer-urls=http://0.0.0.0:2380",
      "--advertise-peer-urls=http://10.0.1.12:2380",
      "--initial-cluster=pd1=http://10.0.1.11:2380,pd2=http://10.0.1.12:2380,pd3=http://10.0.1.13:2380",
      "--config=/etc/pd/pd.toml",
    ]);
    expect(() => pdArgs(plan.hosts[4], plan)).toThrow(/runs no PD/);
  });

  test("TiKV exposes its status port and lists every PD endpoint", () => {
    expect(tikvArgs(plan.hosts[4], plan)).toEqual([
      "--addr=0.0.0.0:20160",
      "--advertise-addr=10.0.1.15:20160",
      "--status-addr=0.0.0.0:20180",
      "--advertise-status-addr=10.0.1.15:20180",
      "--data-dir=/data",
      "--pd=10.0.1.11:2379,10.0.1.12:2379,10.0.1.13:2379",
      "--config=/etc/tikv/tikv.toml",
    ]);
  });
});

describe("memory and disk budget", () => {
  test("PD, TiKV and the OS fit in 4 GB", () => {
    const b = planMemory(4, true);
    expect(b.pdContainerMiB + b.tikvContainerMiB).toBeLessThanOrEqual(4096 - 512);
    expect(b.tikvMemoryUsageLimitMiB).toBeLessThan(b.tikvContainerMiB);
    // TiKV refuses to start when block cache and write buffers exceed memory-usage-limit.
    expect(b.tikvBlockCacheMiB + b.tikvRaftEngineMiB).toBeLessThan(b.tikvMemoryUsageLimitMiB);
    expect(b.tikvBlockCacheMiB).toBeGreaterThanOrEqual(512);
  });

  test("every store gets the same limits whether or not its host runs PD", () => {
    const withPd = planMemory(4, true);
    const withoutPd = planMemory(4, false);
    expect(withoutPd.pdContainerMiB).toBe(0);
    expect(withoutPd.tikvContainerMiB).toBe(withPd.tikvContainerMiB);
  });

  test("larger hosts get larger caches", () => {
    expect(planMemory(16, true).tikvBlockCacheMiB).toBeGreaterThan(planMemory(4, true).tikvBlockCacheMiB * 3);
  });

  test("reserve-space is a small share of a 40 GB disk", () => {
    expect(reserveSpaceGB(40)).toBe(2);
    expect(reserveSpaceGB(20)).toBe(1);
    expect(reserveSpaceGB(500)).toBe(5);
  });

  test("the config files parse as TOML with the budget's figures", () => {
    const b = planMemory(4, true);
    const tikv = parse(tikvConfigToml(b, 40)) as Record<string, Record<string, unknown>>;
    expect(tikv["memory-usage-limit"]).toBe(`${b.tikvMemoryUsageLimitMiB}MB`);
    expect(tikv.storage["reserve-space"]).toBe("2GB");
    expect((tikv.storage["block-cache"] as Record<string, unknown>).capacity).toBe(`${b.tikvBlockCacheMiB}MB`);
    expect(tikv["raft-engine"]["memory-limit"]).toBe(`${b.tikvRaftEngineMiB}MB`);
    const pd = parse(pdConfigToml(3)) as Record<string, Record<string, unknown>>;
    expect(pd["pd-server"]["dashboard-address"]).toBe("none");
    expect(pd.replication["max-replicas"]).toBe(3);
  });
});
