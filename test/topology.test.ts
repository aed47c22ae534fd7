import { parse } from "smol-toml";
import { pdArgs, pdConfigToml, tikvArgs, tikvConfigToml } from "../lib/clusterConfig";
import { cidrContains, parseCidr } from "../lib/ipv4";
import { openFilesWarning, tikvRequiredOpenFiles } from "../lib/clusterConfig";
import {
  MONITORING_TOTAL_MIB,
  MemoryBudget,
  SYSTEM_RESERVE_MIB,
  guestVisibleMiB,
  hostShare,
  localShare,
  planMemory,
  reserveSpaceGB,
  reservedSpaceBytes,
  tikvStartupProblems,
} from "../lib/memoryBudget";
import { planCluster } from "../lib/topology";

describe("planCluster", () => {
  test("three hosts: fixed addresses, PD on every host", () => {
    const plan = planCluster(3, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, false);
    expect(plan.hosts.map((h) => [h.name, h.privateIp, h.pdName, h.tikvName])).toEqual([
      ["tikv-host-1", "10.0.1.11", "pd1", "tikv1"],
      ["tikv-host-2", "10.0.1.12", "pd2", "tikv2"],
      ["tikv-host-3", "10.0.1.13", "pd3", "tikv3"],
    ]);
    expect(plan.initialCluster).toBe("pd1=http://10.0.1.11:2380,pd2=http://10.0.1.12:2380,pd3=http://10.0.1.13:2380");
    expect(plan.pdEndpoints.join(",")).toBe("10.0.1.11:2379,10.0.1.12:2379,10.0.1.13:2379");
  });

  test("five hosts with three PD members: PD on the first three only", () => {
    const plan = planCluster(5, 3, { kind: "subnet", subnetCidr: "172.16.8.0/27", zones: ["ap-guangzhou-3"] }, false);
    expect(plan.hosts.map((h) => h.pdName)).toEqual(["pd1", "pd2", "pd3", undefined, undefined]);
    expect(plan.hosts[4].privateIp).toBe("172.16.8.15");
    expect(plan.tikvAddresses).toHaveLength(5);
    expect(plan.initialCluster.split(",")).toHaveLength(3);
  });

  test("growing the cluster keeps every existing host's plan", () => {
    const three = planCluster(3, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, false);
    const five = planCluster(5, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, false);
    expect(five.hosts.slice(0, 3)).toEqual(three.hosts);
  });

  test("twenty hosts fit a /27 and stay inside it", () => {
    const plan = planCluster(20, 7, { kind: "subnet", subnetCidr: "10.0.1.0/27", zones: ["ap-guangzhou-3"] }, false);
    const subnet = parseCidr("10.0.1.0/27")!;
    for (const h of plan.hosts) expect(cidrContains(subnet, parseCidr(`${h.privateIp}/32`)!)).toBe(true);
    expect(plan.hosts[19].privateIp).toBe("10.0.1.30");
  });
});

describe("addressing and TLS", () => {
  test("with TLS every PD URL is https; TiKV's --pd stays host:port (TLS comes from its config)", () => {
    const plan = planCluster(3, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, true);
    expect(plan.initialCluster).toBe(
      "pd1=https://10.0.1.11:2380,pd2=https://10.0.1.12:2380,pd3=https://10.0.1.13:2380",
    );
    expect(pdArgs(plan.hosts[0], plan)).toContain("--advertise-client-urls=https://10.0.1.11:2379");
    expect(tikvArgs(plan.hosts[0], plan)).toContain("--pd=10.0.1.11:2379,10.0.1.12:2379,10.0.1.13:2379");
  });

  test("listed hosts keep their names and addresses", () => {
    const plan = planCluster(
      3,
      1,
      {
        kind: "listed",
        hosts: [
          { name: "db1", privateIp: "192.168.0.5" },
          { name: "db2", privateIp: "192.168.0.6" },
          { name: "db3", privateIp: "192.168.0.9" },
        ],
      },
      false,
    );
    expect(plan.hosts.map((h) => [h.name, h.pdHost, h.tikvHost])).toEqual([
      ["db1", "192.168.0.5", "192.168.0.5"],
      ["db2", "192.168.0.6", "192.168.0.6"],
      ["db3", "192.168.0.9", "192.168.0.9"],
    ]);
    expect(plan.initialCluster).toBe("pd1=http://192.168.0.5:2380");
  });

  test("on one engine each component is addressed by its container name", () => {
    const plan = planCluster(3, 3, { kind: "containers" }, false);
    expect(plan.initialCluster).toBe("pd1=http://pd1:2380,pd2=http://pd2:2380,pd3=http://pd3:2380");
    expect(plan.tikvAddresses).toEqual(["tikv1:20160", "tikv2:20160", "tikv3:20160"]);
    expect(tikvArgs(plan.hosts[1], plan)).toContain("--advertise-status-addr=tikv2:20180");
  });
});

describe("PD and TiKV flags", () => {
  const plan = planCluster(5, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, false);

  test("PD listens everywhere and advertises its private address", () => {
    expect(pdArgs(plan.hosts[1], plan)).toEqual([
      "--name=pd2",
      "--data-dir=/data",
      "--client-urls=http://0.0.0.0:2379",
      "--advertise-client-urls=http://10.0.1.12:2379",
      "--peer-urls=http://0.0.0.0:2380",
      "--advertise-peer-urls=http://10.0.1.12:2380",
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
  /** Every budget the program can produce: host sizes, with and without PD and monitoring, and mode local. */
  const budgets: { label: string; budget: MemoryBudget; hostMiB: number; reserveMiB: number }[] = [];
  for (const gib of [4, 6, 8, 16, 32, 64, 512]) {
    for (const [runsPd, runsMonitoring] of [
      [true, true],
      [true, false],
      [false, false],
    ]) {
      budgets.push({
        label: `${gib} GiB pd=${runsPd} monitoring=${runsMonitoring}`,
        budget: planMemory(hostShare(gib, runsPd, runsMonitoring)),
        hostMiB: gib * 1024,
        reserveMiB: SYSTEM_RESERVE_MIB + (runsMonitoring ? MONITORING_TOTAL_MIB : 0),
      });
    }
  }

  test("TiKV's own start-up rule holds for every budget: block cache + write-buffer-limit <= memory-usage-limit <= container", () => {
    for (const { label, budget } of budgets) expect([label, tikvStartupProblems(budget)]).toEqual([label, []]);
  });

  test("the rule is TiKV's: it rejects what TiKV rejects, and ignores raft-engine's memory", () => {
    const ok = planMemory(hostShare(4, true, false));
    expect(
      tikvStartupProblems({ ...ok, tikvWriteBufferLimitMiB: ok.tikvMemoryUsageLimitMiB - ok.tikvBlockCacheMiB + 1 }),
    ).toHaveLength(1);
    expect(tikvStartupProblems({ ...ok, tikvMemoryUsageLimitMiB: ok.tikvContainerMiB + 1 })).toHaveLength(1);
    expect(tikvStartupProblems({ ...ok, tikvRaftEngineMiB: ok.tikvContainerMiB * 10 })).toEqual([]);
  });

  test("write buffers are capped and PD's heap has a target: nothing is left to TiKV's or Go's defaults", () => {
    for (const { label, budget } of budgets) {
      expect([label, budget.tikvWriteBufferLimitMiB > 0]).toEqual([label, true]);
      expect([label, budget.pdServerMemoryLimit > 0 && budget.pdServerMemoryLimit < 1]).toEqual([label, true]);
    }
  });

  test("the worst case fits what the guest kernel leaves: container limits plus the reserve, and TiKV's big consumers inside its own limit", () => {
    for (const { label, budget, hostMiB, reserveMiB } of budgets) {
      expect([label, budget.pdContainerMiB + budget.tikvContainerMiB + reserveMiB <= guestVisibleMiB(hostMiB)]).toEqual(
        [label, true],
      );
      const tikvCaches = budget.tikvBlockCacheMiB + budget.tikvWriteBufferLimitMiB + budget.tikvRaftEngineMiB;
      expect([label, tikvCaches <= budget.tikvMemoryUsageLimitMiB]).toEqual([label, true]);
    }
  });

  test("every store gets the same limits whether or not its host runs PD", () => {
    const withPd = planMemory(hostShare(4, true, false));
    const withoutPd = planMemory(hostShare(4, false, false));
    expect(withoutPd.pdContainerMiB).toBe(0);
    expect(withoutPd.tikvContainerMiB).toBe(withPd.tikvContainerMiB);
  });

  test("larger hosts get larger caches", () => {
    expect(planMemory(hostShare(16, true, false)).tikvBlockCacheMiB).toBeGreaterThan(
      planMemory(hostShare(4, true, false)).tikvBlockCacheMiB * 3,
    );
  });

  test("the monitoring host keeps room for Prometheus and Grafana, out of TiKV's share", () => {
    const plain = planMemory(hostShare(4, true, false));
    const withMonitoring = planMemory(hostShare(4, true, true));
    expect(plain.tikvContainerMiB - withMonitoring.tikvContainerMiB).toBe(MONITORING_TOTAL_MIB);
    expect(withMonitoring.pdContainerMiB + withMonitoring.tikvContainerMiB + MONITORING_TOTAL_MIB).toBeLessThanOrEqual(
      4096 - 512,
    );
  });

  test("on one machine (mode local) the pairs share what is left evenly", () => {
    const b = planMemory(localShare(16, 3, true, true));
    expect(3 * (b.pdContainerMiB + b.tikvContainerMiB) + MONITORING_TOTAL_MIB).toBeLessThanOrEqual(16 * 1024);
    expect(() => planMemory(localShare(4, 5, true, true))).toThrow(/left for TiKV/);
  });

  test("reserve-space: TiKV keeps the larger of the setting and 5 % of the disk, and pre-allocates a fifth", () => {
    const GB = 1e9;
    for (const disk of [20, 40, 100, 500]) {
      const { reserved, preallocated } = reservedSpaceBytes(disk * GB, reserveSpaceGB(disk) * GB);
      // The setting never asks for more than 5 GB, nor for more than 5 % of a disk under 100 GB.
      expect(reserved).toBe(Math.max(disk * GB * 0.05, reserveSpaceGB(disk) * GB));
      expect(reserved).toBeLessThanOrEqual(Math.max(5 * GB, disk * GB * 0.05));
      expect(preallocated).toBe(Math.floor(reserved / 5));
    }
    // TiKV's own default, 5 GB, on the 40 GB system disk: 5 GB kept, 1 GB pre-allocated.
    expect(reservedSpaceBytes(40 * GB, 5 * GB)).toEqual({ reserved: 5 * GB, preallocated: 1 * GB });
    expect(reservedSpaceBytes(40 * GB, 0)).toEqual({ reserved: 0, preallocated: 0 });
  });

  test("TiKV's open-files check: 123,880 with Titan (on for every new v8.5 cluster), 82,920 without", () => {
    expect(tikvRequiredOpenFiles(true)).toBe(123_880);
    expect(tikvRequiredOpenFiles(false)).toBe(82_920);
  });

  test("a nofileLimit below that check is warned about, naming the key, what TiKV does and the fix", () => {
    expect(openFilesWarning(1_000_000)).toBeUndefined();
    expect(openFilesWarning(tikvRequiredOpenFiles(true))).toBeUndefined();
    const warning = openFilesWarning(tikvRequiredOpenFiles(true) - 1) ?? "";
    expect(warning).toContain("tikv-cvm:nofileLimit is 123879, below the 123880 open files");
    expect(warning).toContain("tikv-server exits");
    expect(warning).toContain("pulumi config rm tikv-cvm:nofileLimit");
  });

  test("the TiKV config caps write buffers and PD's config sets a heap target", () => {
    const b = planMemory(hostShare(4, true, false));
    expect(
      (parse(tikvConfigToml(b, 40, false)) as Record<string, Record<string, unknown>>).rocksdb["write-buffer-limit"],
    ).toBe(`${b.tikvWriteBufferLimitMiB}MB`);
    expect(
      (parse(pdConfigToml(3, false, b)) as Record<string, Record<string, unknown>>)["pd-server"]["server-memory-limit"],
    ).toBe(b.pdServerMemoryLimit);
  });

  test("with TLS, PD and TiKV name their certificates, with PD's own key names", () => {
    const b = planMemory(hostShare(4, true, false));
    const tikv = parse(tikvConfigToml(b, 40, true)) as Record<string, Record<string, unknown>>;
    const pd = parse(pdConfigToml(3, true, b)) as Record<string, Record<string, unknown>>;
    // cert-allowed-cn: PD admits the members, Prometheus and the admin (clients come through the
    // gateways, as members); TiKV the members, Prometheus and clients.
    expect(tikv.security).toEqual({
      "ca-path": "/etc/tikv-cvm-tls/ca.pem",
      "cert-path": "/etc/tikv-cvm-tls/cert.pem",
      "key-path": "/etc/tikv-cvm-tls/key.pem",
      "cert-allowed-cn": ["tikv-cvm-member", "tikv-cvm-prometheus", "tikv-cvm-client"],
    });
    expect(pd.security).toEqual({
      "cacert-path": "/etc/tikv-cvm-tls/ca.pem",
      "cert-path": "/etc/tikv-cvm-tls/cert.pem",
      "key-path": "/etc/tikv-cvm-tls/key.pem",
      "cert-allowed-cn": ["tikv-cvm-member", "tikv-cvm-prometheus", "tikv-cvm-admin"],
    });
    // PD checks client names on 2379 only when it lists two or more (tikv/pd server/config/config.go).
    expect((pd.security["cert-allowed-cn"] as string[]).length).toBeGreaterThan(1);
    expect(parse(tikvConfigToml(b, 40, false)).security).toBeUndefined();
  });

  test("the config files parse as TOML with the budget's figures", () => {
    const b = planMemory(hostShare(4, true, false));
    const tikv = parse(tikvConfigToml(b, 40, false)) as Record<string, Record<string, unknown>>;
    expect(tikv["memory-usage-limit"]).toBe(`${b.tikvMemoryUsageLimitMiB}MB`);
    expect(tikv.storage["reserve-space"]).toBe(`${reserveSpaceGB(40)}GB`);
    expect((tikv.storage["block-cache"] as Record<string, unknown>).capacity).toBe(`${b.tikvBlockCacheMiB}MB`);
    expect(tikv["raft-engine"]["memory-limit"]).toBe(`${b.tikvRaftEngineMiB}MB`);
    const pd = parse(pdConfigToml(3, false, b)) as Record<string, Record<string, unknown>>;
    expect(pd["pd-server"]["dashboard-address"]).toBe("none");
    expect(pd.replication["max-replicas"]).toBe(3);
  });
});
