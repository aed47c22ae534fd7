// The whole program under mocks: what it declares, on which host, wired how.
import { parse as parseToml } from "smol-toml";
import { parse } from "yaml";
import { tikvRequiredOpenFiles } from "../lib/clusterConfig";
import { CloudConfig } from "../lib/cloudInit";
import { TOKENS } from "../tencentcloud/bindings";
import { MOCK_LEAF_VALID_FROM } from "./support/mocks";
import { Declared, ProgramRun, byName, isSecret, ofType, runProgram, unwrap, EXISTING_STACK } from "./support/harness";

const TC = TOKENS.terraform;
const T = {
  instance: TC.instance,
  eip: TC.eip,
  ruleSet: TC.securityGroupRuleSet,
  keyPair: TC.keyPair,
  ready: "pulumi-nodejs:dynamic/tikv-cvm:DockerReady",
  dockerProvider: "pulumi:providers:docker",
  volume: "docker:index/volume:Volume",
  image: "docker:index/remoteImage:RemoteImage",
  container: "docker:index/container:Container",
  csr: "tls:index/certRequest:CertRequest",
  signed: "tls:index/locallySignedCert:LocallySignedCert",
  key: "tls:index/privateKey:PrivateKey",
};

/** The CA each host's daemon.json trusts, as written by cloud-init. */
function renderedCaPems(run: ProgramRun): string[] {
  return ofType(run, T.instance).map((i) => {
    const config = parse(Buffer.from(unwrap(i.inputs.userData) as string, "base64").toString("utf8")) as CloudConfig;
    return config.write_files.find((f) => f.path === "/etc/docker/tls/ca.pem")!.content;
  });
}

function countByType(run: ProgramRun): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of run.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return counts;
}

function command(c: Declared): string[] {
  return c.inputs.command as string[];
}

function flag(c: Declared, name: string): string | undefined {
  return command(c)
    .find((a) => a.startsWith(`--${name}=`))
    ?.slice(name.length + 3);
}

/** A PD container's start-script environment value (lib/pdStart.ts). */
function env(c: Declared, name: string): string | undefined {
  return (c.inputs.envs as string[] | undefined)?.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** The provider URN's resource name, e.g. tikv-dev-2-docker. */
function providerName(r: Declared): string {
  return (r.provider ?? "").split("::")[3];
}

/** The recipe's own shape, without monitoring (cluster TLS cannot be turned off in mode cvm). */
const RECIPE = { "tikv-cvm:monitoring": "false" };

describe("3 hosts in the recipe's shape", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(RECIPE);
  });

  test("declares the expected resources", () => {
    expect(countByType(run)).toEqual({
      "tikv-cvm:network:Network": 1,
      "tikv-cvm:pki:Pki": 1,
      "tikv-cvm:pki:ClusterTls": 1,
      "tikv-cvm:host:DockerHost": 3,
      "tikv-cvm:cluster:TikvCluster": 1,
      [TC.vpc]: 1,
      [TC.subnet]: 1,
      [TC.securityGroup]: 1,
      [T.ruleSet]: 1,
      [T.eip]: 3,
      [TC.eipAssociation]: 3,
      [T.instance]: 3,
      // Docker CA, operator and 3 Docker servers; cluster CA, 3 members and the cluster admin.
      [T.key]: 10,
      "tls:index/selfSignedCert:SelfSignedCert": 2,
      [T.csr]: 8,
      [T.signed]: 8,
      [T.ready]: 3,
      // A before and an after gate per member (6) and per host (3).
      "pulumi-nodejs:dynamic/tikv-cvm:RolloutGate": 18,
      "pulumi-nodejs:dynamic/tikv-cvm:StoreDisk": 3,
      "pulumi-nodejs:dynamic/tikv-cvm:PidsLimit": 6,
      // The first deployment's bootstrap permit of each PD member (lib/pdStart.ts).
      "pulumi-nodejs:dynamic/tikv-cvm:BootstrapPermit": 3,
      "pulumi-nodejs:dynamic/tikv-cvm:BuildReport": 6,
      // One guard per member: its delete retires the member through PD (components/memberGuard.ts).
      "pulumi-nodejs:dynamic/tikv-cvm:MemberGuard": 6,
      // Per member: a retired predecessor's data moved aside before it is created (components/retiredMemberData.ts).
      "pulumi-nodejs:dynamic/tikv-cvm:RetiredMemberData": 6,
      // Per host: its clock against the certificates before its members start (components/hostCheck.ts).
      "pulumi-nodejs:dynamic/tikv-cvm:HostCheck": 3,
      [TC.cbsStorage]: 3,
      [TC.cbsStorageAttachment]: 3,
      // Every CVM in one spread placement group; the stores' labels set through PD (lib/placement.ts).
      [TC.placementGroup]: 1,
      "pulumi-nodejs:dynamic/tikv-cvm:PlacementLabels": 1,
      "pulumi:pulumi:StackReference": 1,
      "pulumi:pulumi:Stack": 1,
      [T.dockerProvider]: 3,
      [T.volume]: 6,
      [T.image]: 6,
      [T.container]: 6,
    });
  });

  test("PD members bootstrap from the exact initial cluster through the start script; TiKV lists every PD", () => {
    const initial = "pd1=https://10.0.1.11:2380,pd2=https://10.0.1.12:2380,pd3=https://10.0.1.13:2380";
    for (const i of [1, 2, 3]) {
      const pd = byName(run, `tikv-dev-cluster-pd${i}`);
      expect(pd.inputs.entrypoints).toEqual(["/bin/sh", "/etc/pd/tikv-cvm-start.sh"]);
      expect(flag(pd, "initial-cluster")).toBeUndefined();
      expect(env(pd, "PD_INITIAL_CLUSTER")).toBe(initial);
      expect(env(pd, "PD_JOIN")!.split(",")).toEqual(
        [1, 2, 3].filter((j) => j !== i).map((j) => `https://10.0.1.1${j}:2379`),
      );
      expect(env(pd, "PD_PEER_URL")).toBe(`https://10.0.1.1${i}:2380`);
      expect(flag(pd, "advertise-client-urls")).toBe(`https://10.0.1.1${i}:2379`);
      const tikv = byName(run, `tikv-dev-cluster-tikv${i}`);
      expect(flag(tikv, "pd")).toBe("10.0.1.11:2379,10.0.1.12:2379,10.0.1.13:2379");
      expect(flag(tikv, "advertise-addr")).toBe(`10.0.1.1${i}:20160`);
    }
  });

  test("every image, volume and container names its own host's provider", () => {
    const docker = run.resources.filter((r) => r.type.startsWith("docker:"));
    expect(docker).toHaveLength(18);
    for (const r of docker) {
      const host = /(?:pd|tikv)(\d+)/.exec(r.name.replace("tikv-dev-cluster-", ""))![1];
      expect([r.name, providerName(r)]).toEqual([r.name, `tikv-dev-${host}-docker`]);
    }
  });

  test("data volumes are pd-data and tikv-data, mounted at /data on the same host", () => {
    for (const c of ofType(run, T.container)) {
      const mounts = c.inputs.volumes as { volumeName: string; containerPath: string }[];
      expect(mounts).toEqual([
        { volumeName: c.name.includes("-pd") ? "pd-data" : "tikv-data", containerPath: "/data" },
      ]);
      expect(flag(c, "data-dir")).toBe("/data");
      const volume = ofType(run, T.volume).find((v) => v.name === `${c.name}-data`)!;
      expect(volume.provider).toBe(c.provider);
    }
  });

  // The docker provider reads a container back from Docker and diffs that against the inputs
  // (kreuzwerker/terraform-provider-docker resourceDockerContainerRead): an input written in
  // another form than the read-back shows in every preview. Found by the e2e test's no-op preview.
  test("every container is declared as the Docker provider reads it back", async () => {
    /** Go's time.Duration String() for whole seconds: 1m0s, 10s, 1h0m0s. */
    const goDuration = (seconds: number) => {
      const h = Math.floor(seconds / 3600),
        m = Math.floor((seconds % 3600) / 60),
        s = seconds % 60;
      return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
    };
    const seconds = (text: string) => {
      const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
      if (!match || text === "") throw new Error(`not a duration: ${text}`);
      return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
    };
    // Defaults: PD, TiKV, Prometheus and Grafana.
    const containers = ofType(await runProgram(), T.container);
    expect(containers.length).toBe(8);
    for (const c of containers) {
      const hc = c.inputs.healthcheck as Record<string, unknown>;
      for (const key of ["interval", "timeout", "startPeriod"]) {
        const value = hc[key] as string;
        expect([c.name, key, value]).toEqual([c.name, key, goDuration(seconds(value))]);
      }
      // Docker stores memory-swap as twice the memory unless it is given.
      expect([c.name, c.inputs.memorySwap]).toEqual([c.name, c.inputs.memory]);
    }
  });

  test("containers run on the host network with a high nofile limit, health checks and an image id", () => {
    for (const c of ofType(run, T.container)) {
      expect(c.inputs).toMatchObject({
        networkMode: "host",
        restart: "unless-stopped",
        wait: true,
        logDriver: "json-file",
      });
      expect(c.inputs.ulimits).toEqual([{ name: "nofile", soft: 1_000_000, hard: 1_000_000 }]);
      // TiKV's start-up check (Titan on, as for every new v8.5 cluster).
      expect((c.inputs.ulimits as { soft: number }[])[0].soft).toBeGreaterThanOrEqual(tikvRequiredOpenFiles(true));
      expect((c.inputs.image as string).startsWith("sha256:")).toBe(true);
      const test = (c.inputs.healthcheck as { tests: string[] }).tests;
      expect(test.slice(0, 2)).toEqual(["CMD", "wget"]);
      expect(test[test.length - 1]).toMatch(c.name.includes("-pd") ? /:2379\/pd\/api\/v1\/ping$/ : /:20180\/status$/);
      expect(c.inputs.memory).toBeGreaterThan(0);
    }
    const images = ofType(run, T.image)
      .map((i) => i.inputs.name)
      .sort();
    expect(new Set(images)).toEqual(new Set(["pingcap/pd:v8.5.7", "pingcap/tikv:v8.5.7"]));
  });

  test("TiKV gets its rendered config file uploaded", () => {
    const tikv = byName(run, "tikv-dev-cluster-tikv1");
    const uploads = unwrap(tikv.inputs.uploads) as { file: string; content: string }[];
    expect(uploads[0].file).toBe("/etc/tikv/tikv.toml");
    expect(uploads[0].content).toContain("memory-usage-limit");
    expect(flag(tikv, "config")).toBe("/etc/tikv/tikv.toml");
  });

  test("no security-group rule opens an admin or cluster port to the internet", () => {
    const ruleSet = ofType(run, T.ruleSet)[0];
    const ingresses = ruleSet.inputs.ingresses as {
      action: string;
      cidrBlock: string;
      port: string;
      protocol: string;
    }[];
    const sensitive = [22, 2376, 2379, 2380, 20160, 20180];
    const covers = (port: string, p: number) => {
      if (port === "ALL") return true;
      const [lo, hi] = port.split("-").map(Number);
      return p >= lo && p <= (hi ?? lo);
    };
    for (const rule of ingresses.filter((r) => r.action === "ACCEPT")) {
      expect(rule.cidrBlock).not.toBe("0.0.0.0/0");
      if (rule.cidrBlock !== "10.0.0.0/16") {
        expect(rule.cidrBlock).toBe("5.6.7.0/28");
        expect(["2376", "2379"]).toContain(rule.port);
      }
    }
    expect(
      ingresses.some(
        (r) => r.action === "ACCEPT" && sensitive.some((p) => covers(r.port, p)) && r.cidrBlock === "0.0.0.0/0",
      ),
    ).toBe(false);
    // Without an SSH key there is no SSH rule and no key pair.
    expect(ingresses.some((r) => r.port === "22")).toBe(false);
    expect(ofType(run, T.keyPair)).toHaveLength(0);
    expect(ruleSet.inputs.egresses).toEqual([
      expect.objectContaining({ action: "ACCEPT", cidrBlock: "0.0.0.0/0", port: "ALL" }),
    ]);
  });

  test("hosts get fixed private IPs, no public IP of their own, and the looked-up Ubuntu image", () => {
    const instances = ofType(run, T.instance);
    expect(instances.map((i) => i.inputs.privateIp)).toEqual(["10.0.1.11", "10.0.1.12", "10.0.1.13"]);
    for (const i of instances) {
      expect(i.inputs).toMatchObject({
        allocatePublicIp: false,
        imageId: "img-487zeit5",
        instanceType: "S5.MEDIUM4",
        systemDiskSize: 20,
      });
    }
    expect(run.invokes).toEqual([
      {
        token: TC.getImages,
        args: expect.objectContaining({
          imageTypes: ["PUBLIC_IMAGE"],
          imageNameRegex: "^Ubuntu Server 22\\.04 LTS 64bit$",
        }),
      },
    ]);
  });

  test("user data is secret and decodes to cloud-config with tlsverify, the drop-in and the host's certificates", () => {
    for (const instance of ofType(run, T.instance)) {
      expect(isSecret(instance.inputs.userData)).toBe(true);
      const encoded = unwrap(instance.inputs.userData) as string;
      expect(encoded.length).toBeLessThanOrEqual(16 * 1024);
      const text = Buffer.from(encoded, "base64").toString("utf8");
      const config = parse(text) as CloudConfig;
      const paths = config.write_files.map((f) => f.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          "/etc/docker/tls/ca.pem",
          "/etc/docker/tls/server-cert.pem",
          "/etc/docker/tls/server-key.pem",
          "/etc/docker/daemon.json",
          "/etc/systemd/system/docker.service.d/override.conf",
        ]),
      );
      const daemon = JSON.parse(config.write_files.find((f) => f.path === "/etc/docker/daemon.json")!.content);
      expect(daemon.tlsverify).toBe(true);
      const hostIndex = instance.name.split("-")[2];
      const serverCert = unwrap(byName(run, `tikv-dev-${hostIndex}-docker-server-cert`).inputs) as Record<
        string,
        unknown
      >;
      expect(text).not.toContain(unwrap(byName(run, "tikv-dev-pki-ca").inputs.privateKeyPem) as string);
      expect(serverCert.allowedUses).toEqual(["digital_signature", "key_encipherment", "server_auth"]);
    }
  });

  test("each host has its own data disk in the zone, attached after the CVM, waited for by its id at boot", () => {
    for (const i of [1, 2, 3]) {
      const disk = byName(run, `tikv-dev-${i}-data-disk`);
      expect(disk.inputs).toMatchObject({
        storageName: `tikv-host-${i}-data`,
        storageType: "CLOUD_PREMIUM",
        storageSize: 50,
        availabilityZone: "ap-guangzhou-3",
        encrypt: false,
      });
      expect(run.options.get(disk.name)).toMatchObject({ retainOnDelete: true, protect: false });
      const attach = byName(run, `tikv-dev-${i}-data-disk-attach`);
      expect(attach.inputs).toEqual({ storageId: disk.id, instanceId: `tikv-dev-${i}-cvm-id` });
      expect(run.options.get(attach.name)!.deleteBeforeReplace).toBe(true);
      // The boot config names this host's disk, so a wrong disk is never formatted.
      const text = Buffer.from(unwrap(byName(run, `tikv-dev-${i}-cvm`).inputs.userData) as string, "base64").toString(
        "utf8",
      );
      const unit = (parse(text) as CloudConfig).write_files.find(
        (f) => f.path === "/etc/systemd/system/tikv-data-disk.service",
      )!;
      expect(unit.content).toContain(`Environment=TIKV_DATA_DISK_ID=${disk.id}\n`);
      for (const j of [1, 2, 3].filter((x) => x !== i)) expect(text).not.toContain(`tikv-dev-${j}-data-disk-id`);
      // Readiness waits for the attachment and checks Docker runs on this disk.
      const ready = byName(run, `tikv-dev-${i}-docker-ready`);
      expect(ready.inputs.dataDiskId).toBe(disk.id);
      expect(run.options.get(ready.name)!.dependsOn).toEqual(
        expect.arrayContaining([attach.name, `tikv-dev-${i}-eip-assoc`]),
      );
    }
  });

  test("a CVM is replaced, not patched, when its user data changes, deleted before its successor, after its drain gate", () => {
    for (const i of [1, 2, 3]) {
      const instance = byName(run, `tikv-dev-${i}-cvm`);
      expect(instance.inputs).toMatchObject({ userDataReplaceOnChange: true, disableApiTermination: false });
      expect(run.options.get(instance.name)).toMatchObject({
        deleteBeforeReplace: true,
        dependsOn: [`tikv-dev-cluster-tikv-host-${i}-before`],
      });
    }
  });

  test("containers are keyed to the CVM they run on", () => {
    for (const c of ofType(run, T.container)) {
      const i = c.name.slice(-1);
      expect([c.name, c.inputs.labels]).toEqual([
        c.name,
        [{ label: "tikv-cvm.instance", value: `tikv-dev-${i}-cvm-id` }],
      ]);
    }
  });

  test("each server certificate names the host's EIP, private IP and hostname", () => {
    for (const i of [1, 2, 3]) {
      const csr = byName(run, `tikv-dev-${i}-docker-server-csr`).inputs;
      expect(csr.ipAddresses).toEqual([`198.51.100.1${i}`, `10.0.1.1${i}`]);
      expect(csr.dnsNames).toEqual([`tikv-host-${i}`]);
    }
    for (const key of ofType(run, T.key)) expect(key.inputs).toMatchObject({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const operator = byName(run, "tikv-dev-pki-operator-cert").inputs;
    expect(operator.allowedUses).toEqual(["digital_signature", "key_encipherment", "client_auth"]);
  });

  test("the Docker provider dials the EIP over TLS with the client certificate, after readiness", () => {
    for (const i of [1, 2, 3]) {
      const provider = byName(run, `tikv-dev-${i}-docker`).inputs;
      expect(provider.host).toBe(`tcp://198.51.100.1${i}:2376`);
      for (const k of ["caMaterial", "certMaterial", "keyMaterial"]) expect(provider[k]).toBeTruthy();
      const ready = byName(run, `tikv-dev-${i}-docker-ready`).inputs;
      expect(ready).toMatchObject({
        host: `198.51.100.1${i}`,
        port: 2376,
        timeoutMinutes: 15,
        label: `tikv-host-${i}`,
      });
      expect(isSecret(ready.keyPem)).toBe(true);
    }
  });

  test("outputs: per-host addresses, endpoints, certificates with a secret key, and commands", () => {
    const o = run.outputs;
    expect(o.hosts).toEqual(
      [1, 2, 3].map((i) => ({
        // operatorAddress is the address in every mode; publicIp stays in mode cvm, where it is the EIP.
        name: `tikv-host-${i}`,
        operatorAddress: `198.51.100.1${i}`,
        publicIp: `198.51.100.1${i}`,
        privateIp: `10.0.1.1${i}`,
        dockerHost: `tcp://198.51.100.1${i}:2376`,
      })),
    );
    expect(o.pdEndpoints).toEqual(["https://10.0.1.11:2379", "https://10.0.1.12:2379", "https://10.0.1.13:2379"]);
    expect(o.mode).toBe("cvm");
    expect(o.grafanaUrl).toBeUndefined();
    expect(o.tikvStores).toEqual(["10.0.1.11:20160", "10.0.1.12:20160", "10.0.1.13:20160"]);
    expect(o.caCertPem).toMatch(/BEGIN CERTIFICATE/);
    expect(o.clientCertPem).toMatch(/BEGIN CERTIFICATE/);
    expect(run.secretOutputs.sort()).toEqual(["clientKeyPem", "clientKeys", "clusterAdminKeyPem", "hostRollout"]);
    // What the next deployment compares: each CVM's roll key and the user data it was given.
    const rollout = o.hostRollout as Record<string, { roll: string; terminationProtection: boolean; userData: string }>;
    expect(Object.keys(rollout)).toEqual(["tikv-host-1", "tikv-host-2", "tikv-host-3"]);
    for (const [name, h] of Object.entries(rollout)) {
      expect(h.roll).toMatch(/^[0-9a-f]{16}$/);
      expect(h.terminationProtection).toBe(false);
      expect(h.userData).toBe(unwrap(byName(run, `tikv-dev-${name.split("-")[2]}-cvm`).inputs.userData));
    }
    expect(o.dockerCommands).toEqual(
      [1, 2, 3].map(
        (i) => `DOCKER_HOST=tcp://198.51.100.1${i}:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=~/.tikv-cvm/dev docker ps`,
      ),
    );
    expect(o.pdCtlMembers).toBe(
      "DOCKER_HOST=tcp://198.51.100.11:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=~/.tikv-cvm/dev " +
        "docker exec pd1 /pd-ctl -u https://127.0.0.1:2379 --cacert /etc/tikv-cvm-tls/ca.pem --cert /etc/tikv-cvm-tls/cert.pem --key /etc/tikv-cvm-tls/key.pem member",
    );
    expect(o.pdCtlStores).toMatch(/pd-ctl -u https:\/\/127.0.0.1:2379 .* store$/);
    expect(o.certSetup).toMatch(/--show-secrets clientKeyPem > ~\/.tikv-cvm\/dev\/key.pem/);
    expect(o.certSetup).toMatch(/--show-secrets clusterAdminKeyPem > ~\/.tikv-cvm\/dev\/cluster\/key.pem/);
  });
});

describe("5 hosts, 3 PD members, an SSH key and a fixed image", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      {
        ...RECIPE,
        "tikv-cvm:nodeCount": "5",
        "tikv-cvm:pdCount": "3",
        "tikv-cvm:imageId": "img-abcdefgh",
        "tikv-cvm:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop",
      },
      { stack: "staging" },
    );
  });

  test("declares five hosts, three PD members and five stores", () => {
    expect(ofType(run, T.instance)).toHaveLength(5);
    expect(ofType(run, T.container)).toHaveLength(8);
    expect(
      ofType(run, T.volume)
        .map((v) => v.inputs.name)
        .sort(),
    ).toEqual(["pd-data", "pd-data", "pd-data", "tikv-data", "tikv-data", "tikv-data", "tikv-data", "tikv-data"]);
    expect(ofType(run, T.dockerProvider)).toHaveLength(5);
    // Issue 22: "" so the operator's DOCKER_CERT_PATH / DOCKER_CONTEXT never fill them in (lib/dockerProvider.ts).
    for (const p of ofType(run, T.dockerProvider)) {
      expect([p.name, p.inputs.certPath, p.inputs.context]).toEqual([p.name, "", ""]);
    }
  });

  test("the exact --initial-cluster and --pd strings", () => {
    expect(env(byName(run, "tikv-staging-cluster-pd2"), "PD_INITIAL_CLUSTER")).toBe(
      "pd1=https://10.0.1.11:2380,pd2=https://10.0.1.12:2380,pd3=https://10.0.1.13:2380",
    );
    for (const i of [1, 2, 3, 4, 5]) {
      const tikv = byName(run, `tikv-staging-cluster-tikv${i}`);
      expect(flag(tikv, "pd")).toBe("10.0.1.11:2379,10.0.1.12:2379,10.0.1.13:2379");
      expect(providerName(tikv)).toBe(`tikv-staging-${i}-docker`);
    }
    expect(run.resources.some((r) => r.name === "tikv-staging-cluster-pd4")).toBe(false);
  });

  test("uses the configured image without a lookup, and opens SSH to operators only", () => {
    expect(run.invokes).toHaveLength(0);
    for (const i of ofType(run, T.instance)) expect(i.inputs.imageId).toBe("img-abcdefgh");
    const keyPair = ofType(run, T.keyPair);
    expect(keyPair).toHaveLength(1);
    expect(keyPair[0].inputs.keyName).toMatch(/^[A-Za-z0-9_]{1,25}$/);
    for (const i of ofType(run, T.instance)) expect(i.inputs.keyIds).toEqual([keyPair[0].id]);
    const ingresses = ofType(run, T.ruleSet)[0].inputs.ingresses as { port: string; cidrBlock: string }[];
    expect(ingresses.filter((r) => r.port === "22").map((r) => r.cidrBlock)).toEqual(["5.6.7.0/28"]);
  });
});

describe("defaults: cluster TLS and monitoring on", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram();
  });

  test("PD and TiKV talk https with a per-host certificate from the stack CA", () => {
    const pd = byName(run, "tikv-dev-cluster-pd2");
    expect(env(pd, "PD_INITIAL_CLUSTER")).toBe(
      "pd1=https://10.0.1.11:2380,pd2=https://10.0.1.12:2380,pd3=https://10.0.1.13:2380",
    );
    expect(env(pd, "PD_CA")).toBe("/etc/tikv-cvm-tls/ca.pem");
    for (const c of ofType(run, T.container).filter((x) => /-(pd|tikv)\d$/.test(x.name))) {
      const uploads = unwrap(c.inputs.uploads) as { file: string; content: string }[];
      expect(uploads.map((u) => u.file)).toEqual(
        expect.arrayContaining(["/etc/tikv-cvm-tls/ca.pem", "/etc/tikv-cvm-tls/cert.pem", "/etc/tikv-cvm-tls/key.pem"]),
      );
      // The key makes the whole upload list secret.
      expect(isSecret(c.inputs.uploads)).toBe(true);
      const health = (c.inputs.healthcheck as { tests: string[] }).tests;
      expect(health).toEqual(expect.arrayContaining(["--certificate=/etc/tikv-cvm-tls/cert.pem"]));
      expect(health[health.length - 1]).toMatch(/^https:\/\/127\.0\.0\.1:/);
    }
  });

  test("no PD or TiKV container starts before its own host's clock has passed every cluster certificate's NotBefore", () => {
    const clocks = ofType(run, "pulumi-nodejs:dynamic/tikv-cvm:HostCheck");
    expect(clocks.map((c) => c.name).sort()).toEqual([1, 2, 3].map((i) => `tikv-dev-cluster-tikv-host-${i}-check`));
    for (const clock of clocks) {
      expect(isSecret(clock.inputs.endpoint)).toBe(true);
      // The latest start of every certificate, CAs and leaves (the mocks start leaves after CAs).
      expect(clock.inputs).toMatchObject({
        notBefore: new Date(MOCK_LEAF_VALID_FROM).toISOString(),
        maxWaitMinutes: 10,
        label: clock.name.split("-").slice(3, 6).join("-"),
      });
      // The memory checked against the host's MemTotal is every container cap on its engine.
      const i = clock.name.split("-")[5];
      const onHost = ofType(run, T.container).filter((c) => providerName(c) === `tikv-dev-${i}-docker`);
      expect([clock.name, clock.inputs.plannedMiB]).toEqual([
        clock.name,
        onHost.reduce((sum, c) => sum + Number(c.inputs.memory), 0),
      ]);
    }
    for (const container of ofType(run, T.container).filter((c) => /-(pd|tikv)\d$/.test(c.name))) {
      const host = /(\d)$/.exec(container.name)![1];
      const all = run.dependencies.get(container.name)!.all;
      expect([container.name, all.filter((d) => d.endsWith("-check"))]).toEqual([
        container.name,
        [`tikv-dev-cluster-tikv-host-${host}-check`],
      ]);
    }
  });

  test("a store starts with a config sized for its data disk only once its filesystem fills the disk, read after the disk's resize", () => {
    const checks = ofType(run, "pulumi-nodejs:dynamic/tikv-cvm:StoreDisk");
    expect(checks.map((c) => c.name).sort()).toEqual([1, 2, 3].map((i) => `tikv-dev-cluster-tikv${i}-data-fs`));
    for (const i of [1, 2, 3]) {
      const check = byName(run, `tikv-dev-cluster-tikv${i}-data-fs`);
      expect(isSecret(check.inputs.endpoint)).toBe(true);
      expect(check.inputs).toMatchObject({ store: `tikv${i}`, diskGB: 50, volumeName: "tikv-data" });
      // The size is the disk's own output: the engine reads the filesystem only after a resize is done.
      expect(run.dependencies.get(check.name)!.byProperty.diskGB).toEqual([`tikv-dev-${i}-data-disk`]);
      // Leaders are evicted and the container replaced only after the filesystem has grown.
      for (const waiting of [`tikv-dev-cluster-tikv${i}`, `tikv-dev-cluster-tikv${i}-before`])
        expect([waiting, run.dependencies.get(waiting)!.all]).toEqual([waiting, expect.arrayContaining([check.name])]);
    }
  });

  test("each host certificate serves and dials, naming its private IP, EIP, loopback and names", () => {
    for (const i of [1, 2, 3]) {
      const csr = byName(run, `tikv-dev-cluster-tls-tikv${i}-csr`).inputs;
      expect(csr.ipAddresses).toEqual(["127.0.0.1", `10.0.1.1${i}`, `198.51.100.1${i}`]);
      expect(csr.dnsNames).toEqual(expect.arrayContaining(["localhost", `tikv${i}`, `pd${i}`]));
      expect(byName(run, `tikv-dev-cluster-tls-tikv${i}-cert`).inputs.allowedUses).toEqual([
        "digital_signature",
        "key_encipherment",
        "server_auth",
        "client_auth",
      ]);
    }
  });

  test("rollout gates and pd-ctl carry the certificates", () => {
    const gate = byName(run, "tikv-dev-cluster-tikv1-before").inputs;
    expect(gate.pdEndpoints).toEqual([
      "https://198.51.100.11:2379",
      "https://198.51.100.12:2379",
      "https://198.51.100.13:2379",
    ]);
    expect(isSecret(gate.tls)).toBe(true);
    expect(unwrap(gate.tls)).toMatchObject({ certPem: expect.stringMatching(/BEGIN CERTIFICATE/) });
    expect(run.outputs.pdCtlStores).toMatch(
      /docker exec pd1 \/pd-ctl -u https:\/\/127\.0\.0\.1:2379 --cacert \/etc\/tikv-cvm-tls\/ca\.pem --cert \/etc\/tikv-cvm-tls\/cert\.pem --key \/etc\/tikv-cvm-tls\/key\.pem store$/,
    );
    expect(run.outputs.pdEndpoints).toEqual([
      "https://10.0.1.11:2379",
      "https://10.0.1.12:2379",
      "https://10.0.1.13:2379",
    ]);
  });

  test("Prometheus and Grafana run on the first host, fitted into its memory, both on loopback only", () => {
    const prom = byName(run, "tikv-dev-monitoring-prometheus");
    const grafana = byName(run, "tikv-dev-monitoring-grafana");
    expect(providerName(prom)).toBe("tikv-dev-1-docker");
    expect(providerName(grafana)).toBe("tikv-dev-1-docker");
    expect(command(prom)).toContain("--web.listen-address=127.0.0.1:9090");
    const host1 = Number(byName(run, "tikv-dev-cluster-tikv1").inputs.memory);
    const host2 = Number(byName(run, "tikv-dev-cluster-tikv2").inputs.memory);
    expect(host2 - host1).toBe(Number(prom.inputs.memory) + Number(grafana.inputs.memory));
    const ingresses = ofType(run, T.ruleSet)[0].inputs.ingresses as { port: string; cidrBlock: string }[];
    expect(ingresses.some((r) => r.port === "3000")).toBe(false);
    expect(ingresses.some((r) => r.port === "9090")).toBe(false);
    expect(unwrap(grafana.inputs.envs)).toContain("GF_SERVER_HTTP_ADDR=127.0.0.1");
    expect(run.outputs.grafanaUrl).toBe("http://127.0.0.1:3000");
    expect(run.secretOutputs).toEqual(expect.arrayContaining(["clientKeyPem", "grafanaAdminPassword"]));
  });

  test("Prometheus scrapes every PD and TiKV over TLS with its own client certificate", () => {
    const prom = byName(run, "tikv-dev-monitoring-prometheus");
    const uploads = unwrap(prom.inputs.uploads) as { file: string; content: string }[];
    const config = parse(uploads.find((u) => u.file === "/etc/prometheus/prometheus.yml")!.content) as {
      scrape_configs: {
        job_name: string;
        scheme?: string;
        tls_config?: Record<string, string>;
        static_configs: { targets: string[] }[];
      }[];
    };
    const targets = Object.fromEntries(
      config.scrape_configs.map((j) => [j.job_name, j.static_configs.flatMap((c) => c.targets)]),
    );
    expect(targets).toEqual({
      pd: ["10.0.1.11:2379", "10.0.1.12:2379", "10.0.1.13:2379"],
      tikv: ["10.0.1.11:20180", "10.0.1.12:20180", "10.0.1.13:20180"],
    });
    for (const job of config.scrape_configs)
      expect(job).toMatchObject({ scheme: "https", tls_config: { cert_file: "/etc/prometheus/tls/cert.pem" } });
    expect(byName(run, "tikv-dev-cluster-tls-prometheus-cert").inputs.allowedUses).toEqual([
      "digital_signature",
      "key_encipherment",
      "client_auth",
    ]);
  });

  test("Grafana is provisioned with the Prometheus data source and the dashboard", () => {
    const grafana = byName(run, "tikv-dev-monitoring-grafana");
    const uploads = unwrap(grafana.inputs.uploads) as { file: string; content: string }[];
    const ds = parse(uploads.find((u) => u.file.endsWith("datasources/prometheus.yaml"))!.content) as {
      datasources: { url: string; type: string }[];
    };
    expect(ds.datasources[0]).toMatchObject({ type: "prometheus", url: "http://127.0.0.1:9090" });
    const dashboard = JSON.parse(uploads.find((u) => u.file.endsWith(".json"))!.content) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.map((p) => p.title)).toEqual(
      expect.arrayContaining([
        "Stores up",
        "Regions per store",
        "Leaders per store",
        "Requests per second",
        "Request latency p99",
        "Storage used per store",
        "Memory (RSS) per process",
      ]),
    );
    expect(isSecret(grafana.inputs.envs)).toBe(true);
    expect((unwrap(grafana.inputs.envs) as string[])[0]).toMatch(/^GF_SECURITY_ADMIN_PASSWORD=[0-9a-f]{24}$/);
  });
});

describe("trust domains: the Docker CA opens Docker, the cluster CA only the cluster", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram();
  });
  const signer = (cert: string) => unwrap(byName(run, cert).inputs.caCertPem);
  const dockerCa = () => run.outputs.caCertPem;

  test("daemon.json's CA signs only the Docker servers and the operator", () => {
    const docker = run.resources
      .filter((r) => r.type === T.signed && signer(r.name) === dockerCa())
      .map((r) => r.name)
      .sort();
    expect(docker).toEqual([
      "tikv-dev-1-docker-server-cert",
      "tikv-dev-2-docker-server-cert",
      "tikv-dev-3-docker-server-cert",
      "tikv-dev-pki-operator-cert",
    ]);
    for (const host of renderedCaPems(run)) expect(host).toBe(dockerCa());
  });

  test("PD, TiKV, Prometheus, the gates and the admin get certificates from the other CA", () => {
    const clusterCa = run.outputs.clusterCaCertPem;
    expect(clusterCa).not.toBe(dockerCa());
    const cluster = run.resources
      .filter((r) => r.type === T.signed && signer(r.name) === clusterCa)
      .map((r) => r.name)
      .sort();
    expect(cluster).toEqual([
      "tikv-dev-cluster-tls-admin-cert",
      "tikv-dev-cluster-tls-prometheus-cert",
      "tikv-dev-cluster-tls-tikv1-cert",
      "tikv-dev-cluster-tls-tikv2-cert",
      "tikv-dev-cluster-tls-tikv3-cert",
    ]);
    for (const c of ofType(run, T.container)) {
      const uploads = unwrap(c.inputs.uploads) as { file: string; content: string }[];
      for (const u of uploads.filter((x) => x.file.endsWith("ca.pem")))
        expect([c.name, u.content]).toEqual([c.name, clusterCa]);
    }
    const gate = unwrap(byName(run, "tikv-dev-cluster-pd1-before").inputs.tls) as { caPem: string; certPem: string };
    expect(gate.caPem).toBe(clusterCa);
    expect(gate.certPem).toBe(run.outputs.clusterAdminCertPem);
    expect(gate.certPem).not.toBe(run.outputs.clientCertPem);
  });

  test("PD and TiKV admit exactly the names that need in, fixed so scaling out changes no member", () => {
    const csrCn = (name: string) => (byName(run, name).inputs.subject as { commonName: string }).commonName;
    expect(csrCn("tikv-dev-cluster-tls-tikv2-csr")).toBe("tikv-cvm-member");
    expect(csrCn("tikv-dev-cluster-tls-prometheus-csr")).toBe("tikv-cvm-prometheus");
    expect(csrCn("tikv-dev-cluster-tls-admin-csr")).toBe("tikv-cvm-admin");
    expect(byName(run, "tikv-dev-cluster-tls-admin-cert").inputs.allowedUses).toEqual([
      "digital_signature",
      "key_encipherment",
      "client_auth",
    ]);
    const config = (c: string) =>
      parseToml(
        (unwrap(byName(run, c).inputs.uploads) as { file: string; content: string }[]).find((u) =>
          u.file.endsWith(".toml"),
        )!.content,
      ) as { security: Record<string, unknown> };
    // Application clients share one name (lib/clusterConfig.ts CLUSTER_CN.client), listed by TiKV with
    // no client yet; PD admits clients only through its gateway (lib/pdGateway.ts), never itself.
    expect(config("tikv-dev-cluster-pd1").security["cert-allowed-cn"]).toEqual([
      "tikv-cvm-member",
      "tikv-cvm-prometheus",
      "tikv-cvm-admin",
    ]);
    expect(config("tikv-dev-cluster-tikv3").security["cert-allowed-cn"]).toEqual([
      "tikv-cvm-member",
      "tikv-cvm-prometheus",
      "tikv-cvm-client",
    ]);
  });
});

describe("containers hold only what they need", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({ "tikv-cvm:grafanaPublic": "true" });
  });

  test("every container drops every capability and may not gain privileges", () => {
    const containers = ofType(run, T.container);
    expect(containers).toHaveLength(8);
    for (const c of containers) {
      expect([c.name, c.inputs.capabilities]).toEqual([c.name, { drops: ["ALL"] }]);
      expect([c.name, c.inputs.securityOpts]).toEqual([c.name, ["no-new-privileges:true"]]);
      expect(c.inputs.privileged).toBeUndefined();
    }
  });

  test("every container gets a pids limit through its own host's Docker API, with the key kept secret", () => {
    const limits = ofType(run, "pulumi-nodejs:dynamic/tikv-cvm:PidsLimit");
    const containers = ofType(run, T.container);
    expect(limits.map((l) => l.inputs.containerId).sort()).toEqual(containers.map((c) => c.id).sort());
    for (const l of limits) {
      const container = containers.find((c) => c.id === l.inputs.containerId)!;
      expect([l.name, l.inputs.limit]).toEqual([l.name, /prometheus|grafana/.test(l.name) ? 1024 : 4096]);
      expect(isSecret(l.inputs.endpoint)).toBe(true);
      const endpoint = unwrap(l.inputs.endpoint) as { kind: string; host: string; port: number; certPem: string };
      // The same engine as the container's provider, with the operator's Docker certificate.
      const provider = run.resources.find(
        (r) => r.type === T.dockerProvider && container.provider?.includes(`::${r.name}::`),
      )!;
      expect(`tcp://${endpoint.host}:${endpoint.port}`).toBe(provider.inputs.host);
      expect(endpoint).toMatchObject({ kind: "tls", certPem: run.outputs.clientCertPem });
    }
  });

  test("keys are 0400 for root-run PD and TiKV, 0440 with group 0 for non-root Prometheus and Grafana; certificates 0444", () => {
    for (const c of ofType(run, T.container)) {
      const uploads = unwrap(c.inputs.uploads) as { file: string; content: string; permissions?: string }[];
      const nonRoot = /prometheus|grafana/.test(c.name);
      for (const u of uploads) {
        if (u.content.includes("PRIVATE KEY"))
          expect([c.name, u.file, u.permissions]).toEqual([c.name, u.file, nonRoot ? "0440" : "0400"]);
        if (u.content.includes("BEGIN CERTIFICATE"))
          expect([c.name, u.file, u.permissions]).toEqual([c.name, u.file, "0444"]);
      }
      expect([c.name, c.inputs.groupAdds]).toEqual([c.name, nonRoot ? ["0"] : undefined]);
      expect(c.inputs.user).toBeUndefined();
    }
  });

  test("a public Grafana serves HTTPS with a server-only certificate, opened to operators, and resets its admin password", () => {
    const grafana = byName(run, "tikv-dev-monitoring-grafana");
    const envs = unwrap(grafana.inputs.envs) as string[];
    expect(envs).toEqual(
      expect.arrayContaining(["GF_SERVER_PROTOCOL=https", "GF_SERVER_CERT_KEY=/etc/grafana/tls/key.pem"]),
    );
    expect(envs).not.toContain("GF_SERVER_HTTP_ADDR=127.0.0.1");
    expect(run.outputs.grafanaUrl).toBe("https://198.51.100.11:3000");
    expect(byName(run, "tikv-dev-cluster-tls-grafana-cert").inputs.allowedUses).toEqual([
      "digital_signature",
      "key_encipherment",
      "server_auth",
    ]);
    expect(byName(run, "tikv-dev-cluster-tls-grafana-csr").inputs.ipAddresses).toEqual(["198.51.100.11", "127.0.0.1"]);
    const ingresses = ofType(run, T.ruleSet)[0].inputs.ingresses as { port: string; cidrBlock: string }[];
    expect(ingresses.filter((r) => r.port === "3000").map((r) => r.cidrBlock)).toEqual(["5.6.7.0/28"]);
    expect((grafana.inputs.entrypoints as string[]).join(" ")).toMatch(
      /reset-admin-password --password-from-stdin.*exec \/run\.sh$/,
    );
    expect((grafana.inputs.healthcheck as { tests: string[] }).tests.slice(-1)[0]).toBe(
      "https://127.0.0.1:3000/api/health",
    );
  });
});

describe("mode local", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      {
        "tencentcloud:region": undefined,
        "tikv-cvm:availabilityZone": undefined,
        "tikv-cvm:operatorCidrs": undefined,
        "tikv-cvm:mode": "local",
        "tikv-cvm:hostMemoryGiB": "12",
      },
      {
        env: {
          TENCENTCLOUD_SECRET_ID: undefined,
          TENCENTCLOUD_SECRET_KEY: undefined,
          DOCKER_HOST: undefined,
          DOCKER_TLS_VERIFY: undefined,
          DOCKER_CERT_PATH: undefined,
        },
      },
    );
  });

  test("declares no Tencent Cloud resources and one provider for this machine's engine", () => {
    expect(run.resources.filter((r) => r.type.startsWith("tencentcloud:"))).toEqual([]);
    expect(run.invokes).toEqual([]);
    const providers = ofType(run, T.dockerProvider);
    expect(providers).toHaveLength(1);
    // Issue 22: every input given, from DOCKER_HOST (unset here: the default socket) and no TLS.
    expect(providers[0].inputs).toMatchObject({
      host: "unix:///var/run/docker.sock",
      certPath: "",
      context: "",
      caMaterial: "",
      certMaterial: "",
    });
    expect([isSecret(providers[0].inputs.keyMaterial), unwrap(providers[0].inputs.keyMaterial)]).toEqual([true, ""]);
    expect(ofType(run, "docker:index/network:Network").map((n) => n.inputs.name)).toEqual(["tikv-dev"]);
  });

  test("members are addressed by name on the user-defined network; only PD's client port is published, on loopback", () => {
    const pd1 = byName(run, "tikv-dev-cluster-pd1");
    expect(pd1.inputs).toMatchObject({
      name: "tikv-dev-pd1",
      networkMode: "bridge",
      networksAdvanced: [{ name: "tikv-dev", aliases: ["pd1"] }],
    });
    expect(pd1.inputs.ports).toEqual([{ internal: 2379, external: 2379, ip: "127.0.0.1" }]);
    expect(env(pd1, "PD_INITIAL_CLUSTER")).toBe("pd1=https://pd1:2380,pd2=https://pd2:2380,pd3=https://pd3:2380");
    expect(flag(byName(run, "tikv-dev-cluster-tikv2"), "advertise-addr")).toBe("tikv2:20160");
    const published = ofType(run, T.container).flatMap(
      (c) => (c.inputs.ports ?? []) as { ip: string; external: number }[],
    );
    expect(published.map((p) => `${p.ip}:${p.external}`).sort()).toEqual(["127.0.0.1:2379", "127.0.0.1:3000"]);
    expect(ofType(run, T.volume).map((v) => v.inputs.name)).toEqual(
      expect.arrayContaining(["tikv-dev-pd1-data", "tikv-dev-tikv3-data"]),
    );
  });

  test("pids limits go through this machine's engine, found as the docker CLI finds it", () => {
    const limits = ofType(run, "pulumi-nodejs:dynamic/tikv-cvm:PidsLimit");
    expect(limits).toHaveLength(ofType(run, T.container).length);
    for (const l of limits) expect(unwrap(l.inputs.endpoint)).toEqual({ kind: "environment" });
  });

  test("no CVM here: no host gates, no data disks, no instance labels, no hostRollout output", () => {
    expect(
      ofType(run, "pulumi-nodejs:dynamic/tikv-cvm:RolloutGate")
        .map((g) => g.name)
        .filter((n) => n.includes("host")),
    ).toEqual([]);
    for (const c of ofType(run, T.container)) expect([c.name, c.inputs.labels]).toEqual([c.name, undefined]);
    expect(run.outputs.hostRollout).toBeUndefined();
  });

  test("certificates name the containers; outputs point at this machine", () => {
    expect(byName(run, "tikv-dev-cluster-tls-tikv2-csr").inputs.dnsNames).toEqual(
      expect.arrayContaining(["tikv2", "pd2", "localhost"]),
    );
    expect(run.outputs.pdCtlMembers).toMatch(/^docker exec tikv-dev-pd1 \/pd-ctl -u https:\/\/127\.0\.0\.1:2379/);
    expect(run.outputs.grafanaUrl).toBe("http://127.0.0.1:3000");
    expect(run.outputs.certSetup).toBeUndefined();
    // 127.0.0.1 is where the operator reaches PD, not a public address: no output calls it one.
    expect((run.outputs.hosts as Record<string, unknown>[]).map((h) => [h.operatorAddress, h.publicIp])).toEqual(
      [1, 2, 3].map(() => ["127.0.0.1", undefined]),
    );
    const memory = ofType(run, T.container).reduce((sum, c) => sum + Number(c.inputs.memory), 0);
    expect(memory).toBeLessThanOrEqual(12 * 1024 - 640);
  });
});

describe("mode existing", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(EXISTING_STACK.config, EXISTING_STACK.options);
  });

  test("deploys only the cluster, on each listed host through its own provider, after a readiness check", () => {
    expect(run.resources.filter((r) => r.type.startsWith("tencentcloud:"))).toEqual([]);
    const providers = ofType(run, T.dockerProvider);
    expect(providers.map((p) => p.inputs.host)).toEqual([
      "tcp://192.0.2.11:2376",
      "tcp://192.0.2.12:2376",
      "tcp://192.0.2.13:2376",
    ]);
    expect(isSecret(providers[0].inputs.keyMaterial)).toBe(true);
    // Issue 22: "" so the operator's DOCKER_CERT_PATH / DOCKER_CONTEXT never fill them in (lib/dockerProvider.ts).
    for (const p of providers) expect([p.name, p.inputs.certPath, p.inputs.context]).toEqual([p.name, "", ""]);
    // Issue 22: the printed commands take certSetup's directory, not an exported DOCKER_CERT_PATH.
    expect(run.outputs.dockerCommands).toEqual(
      [1, 2, 3].map(
        (i) => `DOCKER_HOST=tcp://192.0.2.1${i}:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=~/.tikv-cvm/dev docker ps`,
      ),
    );
    expect(run.outputs.certSetup).toMatch(
      /pulumi config get --stack dev tikv-cvm:dockerKeyPem > ~\/.tikv-cvm\/dev\/key.pem/,
    );
    expect(ofType(run, T.ready).map((r) => r.inputs.host)).toEqual(["192.0.2.11", "192.0.2.12", "192.0.2.13"]);
    expect(flag(byName(run, "tikv-dev-cluster-tikv3"), "pd")).toBe("10.9.0.11:2379,10.9.0.12:2379,10.9.0.13:2379");
    expect(providerName(byName(run, "tikv-dev-cluster-tikv3"))).toBe("tikv-dev-3-docker");
    // Your hosts' disks are yours to grow: no store waits for a filesystem the program did not make.
    expect(ofType(run, "pulumi-nodejs:dynamic/tikv-cvm:StoreDisk")).toEqual([]);
  });

  test("component certificates name the listed addresses", () => {
    expect(byName(run, "tikv-dev-cluster-tls-tikv1-csr").inputs.ipAddresses).toEqual([
      "127.0.0.1",
      "10.9.0.11",
      "192.0.2.11",
    ]);
    expect(run.outputs.hosts).toEqual(
      [1, 2, 3].map((i) => ({
        name: `db${i}`,
        operatorAddress: `192.0.2.1${i}`,
        privateIp: `10.9.0.1${i}`,
        dockerHost: `tcp://192.0.2.1${i}:2376`,
      })),
    );
  });
});

// Runs that throw go last: a failed run's stack registration is still pending when the next starts.
test("Tencent Cloud credentials in the stack config must be secrets", async () => {
  const run = await runProgram(
    { "tencentcloud:secretId": "AKID-x", "tencentcloud:secretKey": "encrypted-key", "tikv-cvm:monitoring": "false" },
    { secretKeys: ["tencentcloud:secretId", "tencentcloud:secretKey"] },
  );
  expect(run.outputs.mode).toBe("cvm");
  await expect(runProgram({ "tencentcloud:secretKey": "plain-key" })).rejects.toThrow(
    /tencentcloud:secretKey: is stored in plaintext[\s\S]*--secret/,
  );
});

test("a bad config stops the program with every problem listed", async () => {
  await expect(
    runProgram({ "tikv-cvm:nodeCount": "2", "tikv-cvm:operatorCidrs": JSON.stringify(["0.0.0.0/0"]) }),
  ).rejects.toThrow(/tikv-cvm:nodeCount[\s\S]*tikv-cvm:operatorCidrs/);
});

test("missing credentials are reported with the environment variables to set", async () => {
  await expect(
    runProgram({}, { env: { TENCENTCLOUD_SECRET_ID: undefined, TENCENTCLOUD_SECRET_KEY: undefined } }),
  ).rejects.toThrow(/TENCENTCLOUD_SECRET_ID/);
});

describe("alertWebhookUrl: Alertmanager beside Prometheus sends alerts out", () => {
  const HOOK = "https://hooks.example.com/services/T000/B000/secret-token";
  let run: ProgramRun;
  let plain: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({ "tikv-cvm:alertWebhookUrl": HOOK }, { secretKeys: ["tikv-cvm:alertWebhookUrl"] });
    plain = await runProgram();
  });
  const uploads = (r: ProgramRun, c: string) =>
    unwrap(byName(r, c).inputs.uploads) as { file: string; content: string; permissions?: string }[];

  test("on host 1 beside Prometheus, on loopback, its gossip port closed, the webhook URL kept secret", () => {
    const am = byName(run, "tikv-dev-monitoring-alertmanager");
    expect(providerName(am)).toBe(providerName(byName(run, "tikv-dev-monitoring-prometheus")));
    expect(command(am)).toEqual(
      expect.arrayContaining(["--web.listen-address=127.0.0.1:9093", "--cluster.listen-address="]),
    );
    expect(byName(run, "tikv-dev-monitoring-alertmanager-image").inputs.name).toMatch(
      /^prom\/alertmanager:v\d+\.\d+\.\d+$/,
    );
    expect(isSecret(am.inputs.uploads)).toBe(true);
    const config = uploads(run, "tikv-dev-monitoring-alertmanager").find((u) => u.file.endsWith("alertmanager.yml"))!;
    expect(config.permissions).toBe("0440");
    expect(parse(config.content).receivers[0].webhook_configs[0].url).toBe(HOOK);
    expect([am.inputs.capabilities, am.inputs.groupAdds]).toEqual([{ drops: ["ALL"] }, ["0"]]);
    // The URL appears in no other input of any resource.
    for (const r of run.resources.filter((x) => x.name !== am.name))
      expect([r.name, JSON.stringify(unwrap(r.inputs)).includes("secret-token")]).toEqual([r.name, false]);
  });

  test("Prometheus posts to it; without the key there is no Alertmanager and no alerting target", () => {
    const promYml = (r: ProgramRun) =>
      parse(uploads(r, "tikv-dev-monitoring-prometheus").find((u) => u.file.endsWith("prometheus.yml"))!.content);
    expect(promYml(run).alerting.alertmanagers[0].static_configs[0].targets).toEqual(["127.0.0.1:9093"]);
    expect(promYml(plain).alerting).toBeUndefined();
    expect(plain.resources.filter((r) => /alertmanager/.test(r.name))).toEqual([]);
  });

  test("its memory comes out of Prometheus's: host 1's plan is the same with or without it", () => {
    const memory = (r: ProgramRun, c: string) => Number(byName(r, c).inputs.memory);
    const monitoring = (r: ProgramRun) =>
      ofType(r, T.container)
        .filter((c) => c.name.startsWith("tikv-dev-monitoring-"))
        .reduce((sum, c) => sum + Number(c.inputs.memory), 0);
    expect(memory(run, "tikv-dev-monitoring-alertmanager")).toBe(64);
    expect(memory(run, "tikv-dev-monitoring-prometheus")).toBe(memory(plain, "tikv-dev-monitoring-prometheus") - 64);
    expect(monitoring(run)).toBe(monitoring(plain));
    const planned = (r: ProgramRun) => byName(r, "tikv-dev-cluster-tikv-host-1-check").inputs.plannedMiB;
    expect(planned(run)).toBe(planned(plain));
    expect(
      ofType(run, "pulumi-nodejs:dynamic/tikv-cvm:PidsLimit").find((l) => l.name.includes("alertmanager"))?.inputs
        .limit,
    ).toBe(512);
  });
});
