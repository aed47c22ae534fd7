// Each mode's pure answers, asked without mocks: how hosts are addressed, what memory a pair
// shares, what the operator runs to fetch credentials. One object per mode, chosen in one place.
import { certSetupCommand } from "../lib/commands";
import { SYSTEM_RESERVE_MIB, MONITORING_TOTAL_MIB, planMemory } from "../lib/memoryBudget";
import { Settings, validateConfig } from "../lib/settings";
import { planCluster } from "../lib/topology";
import { modeOf } from "../modes";
import { keyPairName } from "../modes/cvm";

const NAMES = { stack: "dev", prefix: "tikv-dev", tags: { project: "tikv-cvm", stack: "dev" } };

function settingsOf(values: Record<string, string>, cloud = false): Settings {
  const result = validateConfig({
    values,
    region: cloud ? "ap-guangzhou" : undefined,
    hasSecretId: cloud,
    hasSecretKey: cloud,
    secretKeys: ["dockerCaPem", "dockerCertPem", "dockerKeyPem"].filter((k) => values[k] !== undefined),
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.settings;
}

const pem = (label: string) => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;
const CVM = settingsOf({ availabilityZone: "ap-guangzhou-3", operatorCidrs: JSON.stringify(["5.6.7.0/28"]) }, true);
const LOCAL = settingsOf({ mode: "local", hostMemoryGiB: "12" });
const EXISTING = settingsOf({
  mode: "existing",
  hosts: JSON.stringify(
    [1, 2, 3].map((i) => ({ name: `db${i}`, dockerHost: `tcp://192.0.2.1${i}:2376`, privateIp: `10.9.0.1${i}` })),
  ),
  dockerCaPem: pem("CERTIFICATE"),
  dockerCertPem: pem("CERTIFICATE"),
  dockerKeyPem: pem("EC PRIVATE KEY"),
});

test("the mode object is the one chosen by the config's mode", () => {
  expect([CVM, LOCAL, EXISTING].map((s) => modeOf(s, NAMES).name)).toEqual(["cvm", "local", "existing"]);
});

test("addressing: fixed subnet addresses (cvm), the listed hosts (existing), container names (local)", () => {
  const hostsOf = (s: Settings) =>
    planCluster(3, 3, modeOf(s, NAMES).addressing, true).hosts.map((h) => [h.name, h.pdHost, h.tikvHost]);
  expect(hostsOf(CVM)).toEqual([1, 2, 3].map((i) => [`tikv-host-${i}`, `10.0.1.1${i}`, `10.0.1.1${i}`]));
  expect(hostsOf(EXISTING)).toEqual([1, 2, 3].map((i) => [`db${i}`, `10.9.0.1${i}`, `10.9.0.1${i}`]));
  expect(hostsOf(LOCAL)).toEqual([1, 2, 3].map((i) => [`local-${i}`, `pd${i}`, `tikv${i}`]));
});

test("memory: one host per pair (monitoring on the first) in cvm and existing; one machine split evenly in local", () => {
  for (const settings of [CVM, EXISTING]) {
    const mode = modeOf(settings, NAMES);
    const hosts = planCluster(3, 3, mode.addressing, true).hosts;
    // A 4 GB host is planned with what its guest kernel leaves: 90 % (lib/memoryBudget.ts).
    expect(hosts.map((h) => mode.memoryShare(h))).toEqual([
      {
        totalMiB: 3686,
        reserveMiB: SYSTEM_RESERVE_MIB + MONITORING_TOTAL_MIB,
        runsPd: true,
        monitoringMiB: MONITORING_TOTAL_MIB,
      },
      { totalMiB: 3686, reserveMiB: SYSTEM_RESERVE_MIB, runsPd: true, monitoringMiB: 0 },
      { totalMiB: 3686, reserveMiB: SYSTEM_RESERVE_MIB, runsPd: true, monitoringMiB: 0 },
    ]);
    expect(mode.enginePerHost).toBe(true);
  }
  const local = modeOf(LOCAL, NAMES);
  // One engine for every pair: its memory is not checked host by host.
  expect(local.enginePerHost).toBe(false);
  const hosts = planCluster(3, 3, local.addressing, true).hosts;
  const shares = hosts.map((h) => local.memoryShare(h));
  expect(new Set(shares.map((s) => s.totalMiB)).size).toBe(1);
  // Every container together fits in the machine beside the system and monitoring.
  const containers = hosts.reduce((sum, h) => {
    const b = planMemory(local.memoryShare(h));
    return sum + b.pdContainerMiB + b.tikvContainerMiB;
  }, 0);
  expect(containers).toBeLessThanOrEqual(12 * 1024 - SYSTEM_RESERVE_MIB - MONITORING_TOTAL_MIB);
});

test("operator commands: modes cvm and existing copy Docker client material to ~/.tikv-cvm/<stack> (cvm from outputs, existing from its config)", () => {
  expect(modeOf(CVM, NAMES).certSetup).toBe(certSetupCommand("dev", true));
  expect(modeOf(LOCAL, NAMES).certSetup).toBeUndefined();
  // Issue 22: mode existing's printed commands no longer read an exported DOCKER_CERT_PATH.
  expect(modeOf(EXISTING, NAMES).certSetup).toBe(certSetupCommand("dev", true, "config"));
});

test("key pair names: 1-25 letters, digits or underscores", () => {
  expect(keyPairName("dev")).toBe("tikv_dev");
  expect(keyPairName("my-very-long-stack.name-for-prod")).toMatch(/^[A-Za-z0-9_]{1,25}$/);
});
