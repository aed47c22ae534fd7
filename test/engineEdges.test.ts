// The ordering the engine is told about, read from the registrations themselves (harness
// `dependencies`): what each resource waits for before it is created or changed. Each edge here
// is one the deployment relies on and that no resource input alone would reveal.
import { DeclaredDependencies, ProgramRun, byName, ofType, runProgram } from "./support/harness";
import { PORTS } from "../lib/topology";
import { portCovers } from "../policy/rules";

const INSTANCE = "tencentcloud:index/instance:Instance";

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram();
});

function depsOf(name: string): DeclaredDependencies {
  const deps = run.dependencies.get(name);
  if (!deps) throw new Error(`no registration recorded for ${name}`);
  return deps;
}

/** Every resource `name` waits for, directly or through others. */
function waitsFor(name: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...depsOf(name).all];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(run.dependencies.get(next)?.all ?? []));
  }
  return seen;
}

/** The resource of one type named `<host>-<suffix>`, e.g. tikv-dev-1-cvm. */
const hostResource = (host: string, suffix: string) => byName(run, `${host}-${suffix}`);

const hosts = () => ofType(run, INSTANCE).map((i) => i.name.replace(/-cvm$/, ""));

test("the program declares three CVM hosts (the edges below are checked on each)", () => {
  expect(hosts()).toEqual(["tikv-dev-1", "tikv-dev-2", "tikv-dev-3"]);
});

test("each CVM joins the security group, and waits for its rule set: Docker's port is open before readiness dials it", () => {
  const [group] = ofType(run, "tencentcloud:index/securityGroup:SecurityGroup");
  const [rules] = ofType(run, "tencentcloud:index/securityGroupRuleSet:SecurityGroupRuleSet");
  expect(rules.inputs.securityGroupId).toBe(group.id);
  for (const host of hosts()) {
    const cvm = hostResource(host, "cvm");
    expect([cvm.name, cvm.inputs.orderlySecurityGroups]).toEqual([cvm.name, [group.id]]);
    expect([cvm.name, depsOf(cvm.name).byProperty.orderlySecurityGroups]).toEqual([
      cvm.name,
      expect.arrayContaining([group.name, rules.name]),
    ]);
  }
});

test("readiness dials a host only once its EIP is associated and its data disk attached", () => {
  for (const host of hosts()) {
    const ready = `${host}-docker-ready`;
    const waits = waitsFor(ready);
    for (const needed of [`${host}-eip-assoc`, `${host}-data-disk-attach`, `${host}-cvm`]) {
      expect([ready, needed, waits.has(needed)]).toEqual([ready, needed, true]);
    }
  }
});

test("each host's Docker provider waits for that host's readiness, and everything on the host goes through that provider", () => {
  for (const host of hosts()) {
    const provider = hostResource(host, "docker");
    expect(provider.type).toBe("pulumi:providers:docker");
    expect([provider.name, depsOf(provider.name).byProperty.host]).toEqual([
      provider.name,
      expect.arrayContaining([`${host}-docker-ready`]),
    ]);
  }
  // Every Docker resource names one of those providers: none reaches an engine before it answers.
  const dockerResources = run.resources.filter((r) => r.type.startsWith("docker:"));
  expect(dockerResources.length).toBeGreaterThan(0);
  for (const r of dockerResources) {
    const providerName = (r.provider ?? "").split("::")[3];
    expect([r.name, providerName]).toEqual([r.name, expect.stringMatching(/^tikv-dev-\d+-docker$/)]);
    expect([r.name, waitsFor(providerName).has(providerName.replace(/-docker$/, "-docker-ready"))]).toEqual([
      r.name,
      true,
    ]);
  }
});

test("PD's client gateways are open to the VPC and to nothing else", () => {
  const [rules] = ofType(run, "tencentcloud:index/securityGroupRuleSet:SecurityGroupRuleSet");
  const ingresses = rules.inputs.ingresses as { action: string; cidrBlock?: string; port?: string }[];
  const admitting = ingresses.filter((r) => r.action === "ACCEPT" && portCovers(r.port, PORTS.pdClientGateway));
  expect(admitting.map((r) => r.cidrBlock)).toEqual(["10.0.0.0/16"]);
});
