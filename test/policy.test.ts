// The CrossGuard rules: the program as declared passes every one; each fails on a bad resource.
import {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import {
  adminPortsOperatorNetworksOnly,
  dockerOverMutualTls,
  operatorSources,
  portCovers,
  resourcePolicies,
  retainedDataVolumes,
  secretUserData,
  stackPolicies,
} from "../policy/rules";
import { TOKENS } from "../tencentcloud/bindings";
import { Declared, ProgramRun, runProgram, unwrap } from "./support/harness";

function args(
  type: string,
  props: Record<string, unknown>,
  opts: Partial<ResourceValidationArgs["opts"]> = {},
): ResourceValidationArgs {
  return {
    type,
    props,
    urn: `urn:pulumi:dev::tikv-cvm::${type}::x`,
    name: "x",
    stackTags: new Map(),
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      additionalSecretOutputs: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      ...opts,
    },
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: () => {
      throw new Error("not applicable");
    },
  } as ResourceValidationArgs;
}

function violations(policy: ResourceValidationPolicy, a: ResourceValidationArgs): string[] {
  const found: string[] = [];
  const validations = ([] as unknown[]).concat(policy.validateResource) as ((
    x: ResourceValidationArgs,
    r: (m: string) => void,
  ) => void)[];
  for (const v of validations) v(a, (m) => found.push(m));
  return found;
}

function fromProgram(run: ProgramRun, r: Declared): ResourceValidationArgs {
  const o = run.options.get(r.name);
  const props = unwrap(r.inputs) as Record<string, unknown>;
  return args(r.type, props, {
    protect: o?.protect ?? false,
    ignoreChanges: o?.ignoreChanges ?? [],
    additionalSecretOutputs: o?.additionalSecretOutputs ?? [],
  });
}

function stack(resources: ResourceValidationArgs[]): StackValidationArgs {
  return {
    resources: resources.map(
      (r) =>
        ({
          type: r.type,
          props: r.props,
          urn: r.urn,
          name: r.name,
          opts: r.opts,
          dependencies: [],
          propertyDependencies: {},
        }) as unknown as PolicyResource,
    ),
    stackTags: new Map(),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: () => {
      throw new Error("not applicable");
    },
  };
}

function stackViolations(policy: StackValidationPolicy, a: StackValidationArgs): string[] {
  const found: string[] = [];
  void policy.validateStack(a, (m: string) => found.push(m));
  return found;
}

/** Every violation of every policy by the program's resources. */
function programViolations(run: ProgramRun): string[] {
  const resources = run.resources.map((r) => fromProgram(run, r));
  return [
    ...run.resources.flatMap((r, i) =>
      resourcePolicies.flatMap((p) => violations(p, resources[i]).map((m) => `${r.name}: ${p.name}: ${m}`)),
    ),
    ...stackPolicies.flatMap((p) => stackViolations(p, stack(resources)).map((m) => `${p.name}: ${m}`)),
  ];
}

test("the program in mode local passes every policy", async () => {
  const run = await runProgram({
    "tencentcloud:region": undefined,
    "tikv-cvm:availabilityZone": undefined,
    "tikv-cvm:operatorCidrs": undefined,
    "tikv-cvm:mode": "local",
    "tikv-cvm:hostMemoryGiB": "12",
  });
  expect(run.resources.filter((r) => r.type === "docker:index/volume:Volume")).toHaveLength(8);
  expect(programViolations(run)).toEqual([]);
});

describe.each(["terraform", "bridged"])("the program on the %s route", (route) => {
  test("passes every policy", async () => {
    const run = await runProgram({
      "tikv-cvm:tencentcloudRoute": route,
      "tikv-cvm:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop",
      "tikv-cvm:grafanaPublic": "true",
    });
    expect(run.resources.some((r) => r.type === TOKENS[route as "terraform" | "bridged"].securityGroupRuleSet)).toBe(
      true,
    );
    expect(programViolations(run)).toEqual([]);
  });
});

test("port specs", () => {
  expect(portCovers("ALL", 22)).toBe(true);
  expect(portCovers("2379-2380", 2380)).toBe(true);
  expect(portCovers("80,443", 443)).toBe(true);
  expect(portCovers("2376", 2379)).toBe(false);
});

describe("admin-ports-operator-networks-only: the operatorCidrs rules, on what the security group admits", () => {
  const vpc = args(TOKENS.terraform.vpc, { cidrBlock: "10.0.0.0/16" });
  const cluster = [
    { action: "ACCEPT", cidrBlock: "10.0.0.0/16", protocol: "TCP", port: "2379-2380" },
    { action: "ACCEPT", cidrBlock: "10.0.0.0/16", protocol: "TCP", port: "20160" },
    { action: "DROP", cidrBlock: "0.0.0.0/0", protocol: "ALL", port: "ALL" },
  ];
  const check = (ingresses: unknown[], type: string = TOKENS.terraform.securityGroupRuleSet) =>
    stackViolations(
      adminPortsOperatorNetworksOnly,
      stack([vpc, args(type, { securityGroupId: "sg", ingresses: [...cluster, ...ingresses] })]),
    );
  const operator = (cidrBlock: string, port = "2376") => ({ action: "ACCEPT", cidrBlock, protocol: "TCP", port });

  test("passes narrow operator networks, the VPC's cluster rules, DROP rules and unrelated public ports", () => {
    expect(
      check([
        operator("5.6.7.8/32"),
        operator("9.9.9.0/24", "3000"),
        { action: "ACCEPT", cidrBlock: "0.0.0.0/0", protocol: "TCP", port: "443" },
      ]),
    ).toEqual([]);
  });

  const cases: { label: string; rules: unknown[]; match: RegExp }[] = [
    { label: "the whole internet", rules: [operator("0.0.0.0/0")], match: /whole internet/ },
    { label: "PD's client gateway to the internet", rules: [operator("0.0.0.0/0", "2389")], match: /whole internet/ },
    {
      label: "the internet in two halves",
      rules: [operator("0.0.0.0/1"), operator("128.0.0.0/1")],
      match: /wider than a \/8/,
    },
    { label: "a /7", rules: [operator("8.0.0.0/7")], match: /wider than a \/8/ },
    { label: "two /8s", rules: [operator("8.0.0.0/8"), operator("9.0.0.0/8", "3000")], match: /together cover/ },
    { label: "a range inside the VPC", rules: [operator("10.0.5.0/24")], match: /overlaps the VPC 10\.0\.0\.0\/16/ },
    { label: "the VPC opening the Docker API", rules: [operator("10.0.0.0/16", "2376")], match: /overlaps the VPC/ },
    { label: "loopback", rules: [operator("127.0.0.1/32")], match: /loopback/ },
    { label: "link-local", rules: [operator("169.254.0.0/16")], match: /link-local/ },
    { label: "multicast", rules: [operator("224.0.0.0/8")], match: /multicast/ },
    { label: "reserved", rules: [operator("240.0.0.0/8")], match: /reserved/ },
    { label: "host bits", rules: [operator("5.6.7.8/24")], match: /write it as 5\.6\.7\.0\/24/ },
    {
      label: "a documentation range (the stack files' placeholder)",
      rules: [operator("203.0.113.10/32")],
      match: /documentation \(TEST-NET-3, RFC 5737\)/,
    },
    { label: "a range covering 2380", rules: [operator("0.0.0.0/0", "2379-2380")], match: /whole internet/ },
    {
      label: "ALL ports on the bridged route",
      rules: [{ action: "ACCEPT", cidrBlock: "0.0.0.0/0", protocol: "ALL", port: "ALL" }],
      match: /whole internet/,
    },
    {
      label: "IPv6 everywhere",
      rules: [{ action: "ACCEPT", ipv6CidrBlock: "::/0", protocol: "TCP", port: "22" }],
      match: /not an IPv4 network/,
    },
  ];
  test.each(cases)("fails $label", ({ rules, match }) => {
    const found = check(rules);
    expect(found.length).toBeGreaterThan(0);
    expect(found.join("\n")).toMatch(match);
  });

  test("a VPC whose CIDR cannot be parsed does not switch the overlap rule off", () => {
    // 010.0.0.0/16 is 10.0.0.0/16 to inet_aton: the VPC range must still be kept out.
    const oddVpc = args(TOKENS.terraform.vpc, { cidrBlock: "010.0.0.0/16" });
    const found = stackViolations(
      adminPortsOperatorNetworksOnly,
      stack([
        oddVpc,
        args(TOKENS.terraform.securityGroupRuleSet, { securityGroupId: "sg", ingresses: [operator("10.0.0.0/8")] }),
      ]),
    );
    expect(found.join("\n")).toMatch(/010\.0\.0\.0\/16/);
  });

  test("every VPC of the stack is kept out, not only when there is exactly one", () => {
    const second = args(TOKENS.terraform.vpc, { cidrBlock: "172.16.0.0/16" });
    const found = stackViolations(
      adminPortsOperatorNetworksOnly,
      stack([
        vpc,
        second,
        args(TOKENS.terraform.securityGroupRuleSet, {
          securityGroupId: "sg",
          ingresses: [...cluster, operator("172.16.0.0/12")],
        }),
      ]),
    );
    expect(found.join("\n")).toMatch(/overlaps the VPC 172\.16\.0\.0\/16/);
    expect(found.join("\n")).not.toMatch(/"10\.0\.0\.0\/16"/);
  });

  test("a rule naming an IPv6 network beside its IPv4 one is judged on both", () => {
    expect(
      check([{ action: "ACCEPT", cidrBlock: "5.6.7.8/32", ipv6CidrBlock: "::/0", protocol: "TCP", port: "2376" }]).join(
        "\n",
      ),
    ).toMatch(/"::\/0"/);
  });

  test.each([
    "tencentcloud:index/securityGroupRule:SecurityGroupRule",
    "tencentcloud:Security/groupRule:GroupRule",
    "tencentcloud:index/securityGroupLiteRule:SecurityGroupLiteRule",
    "tencentcloud:Security/groupLiteRule:GroupLiteRule",
  ])("a rule declared outside the rule set (%s) is refused: the rules above could not judge it", (type) => {
    const single = args(type, {
      securityGroupId: "sg",
      type: "ingress",
      cidrIp: "0.0.0.0/0",
      ipProtocol: "tcp",
      portRange: "2376",
      policy: "accept",
      ingress: ["ACCEPT#0.0.0.0/0#2376#TCP"],
    });
    const found = stackViolations(adminPortsOperatorNetworksOnly, stack([vpc, single]));
    expect(found.join("\n")).toMatch(/outside the security group's rule set/);
  });

  test("which sources count as operator networks", () => {
    expect(
      operatorSources(
        [
          ...cluster,
          operator("5.6.7.8/32"),
          { action: "ACCEPT", cidrBlock: "0.0.0.0/0", protocol: "UDP", port: "2376" },
        ],
        ["10.0.0.0/16"],
      ),
    ).toEqual(["5.6.7.8/32"]);
  });
});

describe("docker-provider-client-certificate", () => {
  test("fails a TCP provider without client material", () => {
    expect(
      violations(dockerOverMutualTls, args("pulumi:providers:docker", { host: "tcp://203.0.113.5:2376" })),
    ).toHaveLength(1);
    expect(
      violations(
        dockerOverMutualTls,
        args("pulumi:providers:docker", { host: "tcp://203.0.113.5:2376", caMaterial: "ca", certMaterial: "c" }),
      ),
    ).toHaveLength(1);
  });
  test("passes full material, and a local unix socket", () => {
    expect(
      violations(
        dockerOverMutualTls,
        args("pulumi:providers:docker", { host: "tcp://h:2376", caMaterial: "a", certMaterial: "b", keyMaterial: "c" }),
      ),
    ).toEqual([]);
    expect(
      violations(dockerOverMutualTls, args("pulumi:providers:docker", { host: "unix:///var/run/docker.sock" })),
    ).toEqual([]);
  });
});

describe("cvm-user-data-secret", () => {
  test("fails user data not declared secret", () => {
    expect(violations(secretUserData, args(TOKENS.terraform.instance, { userData: "I2Nsb3Vk" }))).toHaveLength(2);
    // The provider's Read fills userDataRaw from userData: listing only userData leaves it in clear.
    expect(
      violations(
        secretUserData,
        args(TOKENS.terraform.instance, { userData: "I2Nsb3Vk" }, { additionalSecretOutputs: ["userData"] }),
      )[0],
    ).toMatch(/userDataRaw/);
    expect(
      violations(
        secretUserData,
        args(TOKENS.bridged.instance, { userDataRaw: "#cloud-config" }, { additionalSecretOutputs: ["userData"] }),
      ),
    ).toHaveLength(1);
  });
  test("passes secret user data and instances without any", () => {
    expect(
      violations(
        secretUserData,
        args(
          TOKENS.terraform.instance,
          { userData: "I2Nsb3Vk" },
          { additionalSecretOutputs: ["userData", "userDataRaw"] },
        ),
      ),
    ).toEqual([]);
    expect(violations(secretUserData, args(TOKENS.terraform.instance, { instanceType: "S5.MEDIUM4" }))).toEqual([]);
  });
});

describe("data-volume-retain-on-delete", () => {
  test("fails a data volume that is not retained", () => {
    expect(violations(retainedDataVolumes, args("docker:index/volume:Volume", { name: "tikv-data" }))).toHaveLength(1);
    expect(
      violations(retainedDataVolumes, args("docker:index/volume:Volume", { name: "tikv-local-pd2-data" })),
    ).toHaveLength(1);
    expect(
      violations(
        retainedDataVolumes,
        args(
          "docker:index/volume:Volume",
          { name: "pd-data", labels: [{ label: "tikv-cvm.retain-on-delete", value: "true" }] },
          { retainOnDelete: false } as never,
        ),
      ),
    ).toHaveLength(1);
  });
  test("passes retained data volumes and ignores other volumes", () => {
    expect(
      violations(
        retainedDataVolumes,
        args("docker:index/volume:Volume", {
          name: "pd-data",
          labels: [{ label: "tikv-cvm.retain-on-delete", value: "true" }],
        }),
      ),
    ).toEqual([]);
    expect(violations(retainedDataVolumes, args("docker:index/volume:Volume", { name: "scratch" }))).toEqual([]);
  });
});
