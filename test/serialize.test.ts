// The readiness resource's provider must survive the engine's function serializer: no error, no
// captured secrets, and no modules beyond what it uses.
import { builtinModules } from "module";
import { serializeProvider, serializeReadyProvider } from "./support/serialized";

test("serializes to a small, self-contained module that only requires https", async () => {
  const serialized = await serializeReadyProvider();
  expect(serialized.containsSecrets).toBe(false);
  const requires = [...serialized.text.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  expect(new Set(requires)).toEqual(new Set(["https"]));
  expect(serialized.text).not.toMatch(/BEGIN [A-Z ]*(KEY|CERTIFICATE)/);
  expect(serialized.text.length).toBeLessThan(16 * 1024);
});

test("the serialized provider loads and still decides diffs as the source does", async () => {
  const provider = (await serializeReadyProvider()).load();
  const olds = { host: "198.51.100.11", port: 2376, instanceId: "ins-1", caPem: "ca" };
  expect(
    await provider.diff!("id", olds, { ...olds, keyPem: "k", certPem: "c", label: "h", timeoutMinutes: 15 }),
  ).toEqual({ changes: false, replaces: [] });
  expect(
    await provider.diff!("id", olds, {
      ...olds,
      instanceId: "ins-2",
      keyPem: "k",
      certPem: "c",
      label: "h",
      timeoutMinutes: 15,
    }),
  ).toEqual({ changes: true, replaces: [] });
  expect(
    await provider.diff!("id", olds, {
      ...olds,
      host: "198.51.100.99",
      keyPem: "k",
      certPem: "c",
      label: "h",
      timeoutMinutes: 15,
    }),
  ).toEqual({ changes: true, replaces: ["host"] });
});

test("the rollout gate's provider serializes too, needing only http and https", async () => {
  const pulumi = await import("@pulumi/pulumi");
  const { rolloutGateProvider } = await import("../components/rollout");
  const sf = await pulumi.runtime.serializeFunction(() => rolloutGateProvider, { allowSecrets: true });
  expect(sf.containsSecrets).toBe(false);
  const requires = [...sf.text.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  expect(new Set(requires)).toEqual(new Set(["http", "https"]));
  expect(sf.text.length).toBeLessThan(32 * 1024);
});

test("the pids-limit provider serializes with Node built-ins only and no secret", async () => {
  const { pidsLimitProvider } = await import("../components/pidsLimit");
  const serialized = await serializeProvider(pidsLimitProvider);
  expect(serialized.containsSecrets).toBe(false);
  const requires = [...serialized.text.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  // Node's own modules only (the serializer may name path as path/posix).
  expect(requires.filter((r) => !builtinModules.includes(r))).toEqual([]);
  const provider = serialized.load();
  expect(
    await provider.diff!(
      "id",
      { containerId: "a", limit: 10 },
      { endpoint: { kind: "environment" }, containerId: "a", limit: 10 },
    ),
  ).toEqual({ changes: false, replaces: [] });
  expect(
    await provider.diff!(
      "id",
      { containerId: "a", limit: 10 },
      { endpoint: { kind: "environment" }, containerId: "b", limit: 10 },
    ),
  ).toEqual({ changes: true, replaces: ["containerId"] });
});

test("the scale-in retirement provider serializes too, needing only http and https", async () => {
  const pulumi = await import("@pulumi/pulumi");
  const { retirementProvider } = await import("../components/rollout");
  const sf = await pulumi.runtime.serializeFunction(() => retirementProvider, { allowSecrets: true });
  expect(sf.containsSecrets).toBe(false);
  const requires = [...sf.text.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  expect(new Set(requires)).toEqual(new Set(["http", "https"]));
  expect(sf.text.length).toBeLessThan(32 * 1024);
});

test("the member guard's, the bootstrap permit's and the retired-store providers serialize with Node built-ins only and no secret", async () => {
  const { memberGuardProvider } = await import("../components/memberGuard");
  const { bootstrapPermitProvider } = await import("../components/bootstrapPermit");
  const { retiredMemberDataProvider } = await import("../components/retiredMemberData");
  for (const provider of [memberGuardProvider, bootstrapPermitProvider, retiredMemberDataProvider] as const) {
    const serialized = await serializeProvider(provider);
    expect(serialized.containsSecrets).toBe(false);
    const requires = [...serialized.text.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(requires.filter((r) => !builtinModules.includes(r))).toEqual([]);
    expect(serialized.text.length).toBeLessThan(48 * 1024);
  }
  const guard = (await serializeProvider(memberGuardProvider)).load();
  const kept = { kind: "tikv" as const, member: "10.0.1.14:20160", pdEndpoints: ["http://x:2379"], timeoutMinutes: 10 };
  expect(await guard.diff!("id", kept, { ...kept })).toEqual({
    changes: false,
    replaces: [],
    deleteBeforeReplace: false,
  });
});
