// Item: memory and CPU headroom on a 2 vCPU / 4 GB host. Sizing from what the guest kernel leaves,
// PD's Go heap bounded on every member (not only the leader's GC tuner), TiKV first for CPU, and
// Prometheus's disk capped and left out of TiKV's capacity.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse as parseToml } from "smol-toml";
import {
  CPU_SHARES,
  MONITORING_DISK_GB,
  OS_HEADROOM_MIB,
  PROMETHEUS_RETENTION_GB,
  engineCapsMiB,
  guestVisibleMiB,
  hostShare,
  memoryFitProblem,
  planMemory,
  storeReserveBytes,
} from "../lib/memoryBudget";
import { Declared, ProgramRun, byName, ofType, runProgram, unwrap } from "./support/harness";
import { tempDir } from "./support/openssl";
import { describeWithTools } from "./support/tools";

const CONTAINER = "docker:index/container:Container";
const uploaded = (c: Declared, file: string) =>
  (unwrap(c.inputs.uploads) as { file: string; content: string }[]).find((u) => u.file === file)!.content;
const envOf = (c: Declared, name: string) =>
  (unwrap(c.inputs.envs) as string[]).find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);

describe("the figures for a 4 GB CVM", () => {
  test("planned from the 3686 MiB its guest kernel leaves, with room for the OS on what it really reports", () => {
    expect(guestVisibleMiB(4096)).toBe(3686);
    const withMonitoring = hostShare(4, true, true);
    const plain = hostShare(4, true, false);
    const a = planMemory(withMonitoring);
    const b = planMemory(plain);
    expect([a.pdContainerMiB, a.tikvContainerMiB, b.tikvContainerMiB]).toEqual([704, 1536, 2304]);
    expect(engineCapsMiB(withMonitoring, a)).toBe(704 + 1536 + 768);
    expect(engineCapsMiB(plain, b)).toBe(704 + 2304);
    // Both fit a guest that sees the planned 3686 MiB, with more than the OS headroom left.
    expect(memoryFitProblem("h", 3686, engineCapsMiB(withMonitoring, a))).toBeUndefined();
    expect(memoryFitProblem("h", 3686, engineCapsMiB(plain, b))).toBeUndefined();
  });

  test("a host whose kernel sees less than the caps and the OS headroom is refused, naming the figures and the fix", () => {
    expect(memoryFitProblem("tikv-host-1", 3000, 3000 - OS_HEADROOM_MIB)).toBeUndefined();
    expect(memoryFitProblem("tikv-host-1", 3000, 3000 - OS_HEADROOM_MIB + 1)).toMatch(
      /^tikv-host-1: its kernel sees 3000 MiB \(MemTotal\), and the containers planned for it are capped at 2681 MiB together.*Set tikv-cvm:hostMemoryGiB to the host's real size \(at most 3 here\)/,
    );
    // No reading (an engine that reports none) is no verdict.
    expect(memoryFitProblem("h", 0, 99_999)).toBeUndefined();
  });

  test("PD's Go heap limit is 80 % of its container on every member, the leader's server-memory-limit share", () => {
    const budget = planMemory(hostShare(4, true, false));
    expect(budget.pdGoMemLimitMiB).toBe(Math.floor(704 * 0.8));
    expect(budget.pdGoMemLimitMiB).toBe(Math.floor(budget.pdContainerMiB * budget.pdServerMemoryLimit));
    expect(planMemory(hostShare(4, false, false)).pdGoMemLimitMiB).toBe(0);
  });
});

describe("the program", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram();
  });

  test("every PD member, not only the leader, runs with GOMEMLIMIT below its container's cap", () => {
    const pds = ofType(run, CONTAINER).filter((c) => /-pd\d$/.test(c.name));
    expect(pds).toHaveLength(3);
    for (const pd of pds) {
      const limit = envOf(pd, "GOMEMLIMIT");
      expect([pd.name, limit]).toEqual([pd.name, "563MiB"]);
      expect(Number(limit!.replace("MiB", ""))).toBeLessThan(Number(pd.inputs.memory));
    }
  });

  test("under contention TiKV gets twice PD's CPU and eight times each monitoring container's", () => {
    const shares = (name: string) => Number(byName(run, name).inputs.cpuShares);
    for (const i of [1, 2, 3]) {
      expect(shares(`tikv-dev-cluster-tikv${i}`)).toBe(2 * shares(`tikv-dev-cluster-pd${i}`));
    }
    expect(shares("tikv-dev-monitoring-prometheus")).toBe(CPU_SHARES.tikv / 8);
    expect(shares("tikv-dev-monitoring-grafana")).toBe(CPU_SHARES.tikv / 8);
  });

  test("Prometheus is capped on disk, and the store beside it leaves that share out of its capacity", () => {
    const prometheus = byName(run, "tikv-dev-monitoring-prometheus");
    expect(prometheus.inputs.command).toContain(`--storage.tsdb.retention.size=${PROMETHEUS_RETENTION_GB}GB`);
    const capacity = (i: number) =>
      (
        parseToml(uploaded(byName(run, `tikv-dev-cluster-tikv${i}`), "/etc/tikv/tikv.toml")) as {
          raftstore?: { capacity?: string };
        }
      ).raftstore?.capacity;
    // dataDiskSize defaults to 50 GB; host 1 runs Prometheus and Grafana.
    expect(capacity(1)).toBe(`${50 - MONITORING_DISK_GB}GB`);
    expect(MONITORING_DISK_GB).toBeGreaterThan(PROMETHEUS_RETENTION_GB);
    expect([capacity(2), capacity(3)]).toEqual([undefined, undefined]);
  });

  test("without monitoring every store has the whole disk", async () => {
    const plain = await runProgram({ "tikv-cvm:monitoring": "false" });
    for (const i of [1, 2, 3]) {
      const toml = parseToml(uploaded(byName(plain, `tikv-dev-cluster-tikv${i}`), "/etc/tikv/tikv.toml"));
      expect((toml as { raftstore?: unknown }).raftstore).toBeUndefined();
    }
  });
});

describeWithTools(["go"], "GOMEMLIMIT as Go reads it", () => {
  test("the runtime takes the program's value as the heap limit (runtime/debug.SetMemoryLimit(-1) reads it back)", () => {
    const dir = tempDir("gomemlimit");
    fs.writeFileSync(
      path.join(dir, "main.go"),
      'package main\n\nimport (\n\t"fmt"\n\t"runtime/debug"\n)\n\nfunc main() { fmt.Print(debug.SetMemoryLimit(-1)) }\n',
    );
    fs.writeFileSync(path.join(dir, "go.mod"), "module gomemlimit\n\ngo 1.21\n");
    const limit = planMemory(hostShare(4, true, false)).pdGoMemLimitMiB;
    const result = spawnSync("go", ["run", "."], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, GOMEMLIMIT: `${limit}MiB`, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
    });
    expect([result.status, result.stderr]).toEqual([0, ""]);
    expect(Number(result.stdout)).toBe(limit * 1024 * 1024);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});

test("a store's reserve, as the alert rules use it, is TiKV's: 5 % of the capacity TiKV is given, at least reserve-space", () => {
  // 50 GB disk: reserve-space 2 GB; 5 % of 50 GiB = 2.5 GiB wins; beside monitoring the capacity is 47 GiB.
  expect(storeReserveBytes(50, false)).toBe(Math.floor(50 * 1024 ** 3 * 0.05));
  expect(storeReserveBytes(50, true)).toBe(Math.floor(47 * 1024 ** 3 * 0.05));
  // 20 GB disk: 5 % is 1 GiB, the 1 GB floor of reserve-space ties.
  expect(storeReserveBytes(20, false)).toBe(1024 ** 3);
});
