// The whole program under mocks: what it declares, on which host, wired how.
import { parse } from "yaml";
import { CloudConfig } from "../lib/cloudInit";
import { TOKENS } from "../tencentcloud/bindings";
import { Declared, ProgramRun, byName, isSecret, ofType, runProgram, unwrap } from "./support/harness";

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

function countByType(run: ProgramRun): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of run.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return counts;
}

function command(c: Declared): string[] {
  return c.inputs.command as string[];
}

function flag(c: Declared, name: string): string | undefined {
  return command(c).find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** The provider URN's resource name, e.g. tikv-dev-2-docker. */
function providerName(r: Declared): string {
  return (r.provider ?? "").split("::")[3];
}

describe("default config (3 hosts)", () => {
  let run: ProgramRun;
  beforeAll(async () => { run = await runProgram(); });

  test("declares the expected resources", () => {
    expect(countByType(run)).toEqual({
      "tikv-cvm:network:Network": 1,
      "tikv-cvm:pki:Pki": 1,
      "tikv-cvm:host:DockerHost": 3,
      "tikv-cvm:cluster:TikvCluster": 1,
      [TC.vpc]: 1,
      [TC.subnet]: 1,
      [TC.securityGroup]: 1,
      [T.ruleSet]: 1,
      [T.eip]: 3,
      [TC.eipAssociation]: 3,
      [T.instance]: 3,
      [T.key]: 5,
      "tls:index/selfSignedCert:SelfSignedCert": 1,
      [T.csr]: 4,
      [T.signed]: 4,
      [T.ready]: 3,
      "pulumi-nodejs:dynamic/tikv-cvm:RolloutGate": 12,
      "pulumi:pulumi:StackReference": 1,
      "pulumi:pulumi:Stack": 1,
      [T.dockerProvider]: 3,
      [T.volume]: 6,
      [T.image]: 6,
      [T.container]: 6,
    });
  });

  test("PD members bootstrap from the exact initial cluster; TiKV lists every PD", () => {
    const initial = "pd1=http://10.0.1.11:2380,pd2=http://10.0.1.12:2380,pd3=http://10.0.1.13:2380";
    for (const i of [1, 2, 3]) {
      const pd = byName(run, `tikv-dev-cluster-pd${i}`);
      expect(flag(pd, "initial-cluster")).toBe(initial);
      expect(flag(pd, "advertise-client-urls")).toBe(`http://10.0.1.1${i}:2379`);
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
      expect(mounts).toEqual([{ volumeName: c.name.includes("-pd") ? "pd-data" : "tikv-data", containerPath: "/data" }]);
      expect(flag(c, "data-dir")).toBe("/data");
      const volume = ofType(run, T.volume).find((v) => v.name === `${c.name}-data`)!;
      expect(volume.provider).toBe(c.provider);
    }
  });

  test("containers run on the host network with a high nofile limit, health checks and an image id", () => {
    for (const c of ofType(run, T.container)) {
      expect(c.inputs).toMatchObject({ networkMode: "host", restart: "unless-stopped", wait: true, logDriver: "json-file" });
      expect(c.inputs.ulimits).toEqual([{ name: "nofile", soft: 1_000_000, hard: 1_000_000 }]);
      // TiKV's start-up check wants at least 82,920 open files.
      expect((c.inputs.ulimits as { soft: number }[])[0].soft).toBeGreaterThanOrEqual(82_920);
      expect((c.inputs.image as string).startsWith("sha256:")).toBe(true);
      const test = (c.inputs.healthcheck as { tests: string[] }).tests;
      expect(test.slice(0, 2)).toEqual(["CMD", "wget"]);
      expect(test[test.length - 1]).toMatch(c.name.includes("-pd") ? /:2379\/pd\/api\/v1\/ping$/ : /:20180\/status$/);
      expect(c.inputs.memory).toBeGreaterThan(0);
    }
    const images = ofType(run, T.image).map((i) => i.inputs.name).sort();
    expect(new Set(images)).toEqual(new Set(["pingcap/pd:v8.5.7", "pingcap/tikv:v8.5.7"]));
  });

  test("TiKV gets its rendered config file uploaded", () => {
    const tikv = byName(run, "tikv-dev-cluster-tikv1");
    const uploads = tikv.inputs.uploads as { file: string; content: string }[];
    expect(uploads[0].file).toBe("/etc/tikv/tikv.toml");
    expect(uploads[0].content).toContain("memory-usage-limit");
    expect(flag(tikv, "config")).toBe("/etc/tikv/tikv.toml");
  });

  test("no security-group rule opens an admin or cluster port to the internet", () => {
    const ruleSet = ofType(run, T.ruleSet)[0];
    const ingresses = ruleSet.inputs.ingresses as { action: string; cidrBlock: string; port: string; protocol: string }[];
    const sensitive = [22, 2376, 2379, 2380, 20160, 20180];
    const covers = (port: string, p: number) => {
      if (port === "ALL") return true;
      const [lo, hi] = port.split("-").map(Number);
      return p >= lo && p <= (hi ?? lo);
    };
    for (const rule of ingresses.filter((r) => r.action === "ACCEPT")) {
      expect(rule.cidrBlock).not.toBe("0.0.0.0/0");
      if (rule.cidrBlock !== "10.0.0.0/16") {
        expect(rule.cidrBlock).toBe("203.0.113.0/28");
        expect(["2376", "2379"]).toContain(rule.port);
      }
    }
    expect(ingresses.some((r) => r.action === "ACCEPT" && sensitive.some((p) => covers(r.port, p)) && r.cidrBlock === "0.0.0.0/0")).toBe(false);
    // Without an SSH key there is no SSH rule and no key pair.
    expect(ingresses.some((r) => r.port === "22")).toBe(false);
    expect(ofType(run, T.keyPair)).toHaveLength(0);
    expect(ruleSet.inputs.egresses).toEqual([expect.objectContaining({ action: "ACCEPT", cidrBlock: "0.0.0.0/0", port: "ALL" })]);
  });

  test("hosts get fixed private IPs, no public IP of their own, and the looked-up Ubuntu image", () => {
    const instances = ofType(run, T.instance);
    expect(instances.map((i) => i.inputs.privateIp)).toEqual(["10.0.1.11", "10.0.1.12", "10.0.1.13"]);
    for (const i of instances) {
      expect(i.inputs).toMatchObject({ allocatePublicIp: false, imageId: "img-487zeit5", instanceType: "S5.MEDIUM4", systemDiskSize: 40 });
    }
    expect(run.invokes).toEqual([{ token: TC.getImages, args: expect.objectContaining({
      imageTypes: ["PUBLIC_IMAGE"], imageNameRegex: "^Ubuntu Server 22\\.04 LTS 64bit$" }) }]);
  });

  test("user data is secret and decodes to cloud-config with tlsverify, the drop-in and the host's certificates", () => {
    for (const instance of ofType(run, T.instance)) {
      expect(isSecret(instance.inputs.userData)).toBe(true);
      const encoded = unwrap(instance.inputs.userData) as string;
      expect(encoded.length).toBeLessThanOrEqual(16 * 1024);
      const text = Buffer.from(encoded, "base64").toString("utf8");
      const config = parse(text) as CloudConfig;
      const paths = config.write_files.map((f) => f.path);
      expect(paths).toEqual(expect.arrayContaining([
        "/etc/docker/tls/ca.pem", "/etc/docker/tls/server-cert.pem", "/etc/docker/tls/server-key.pem",
        "/etc/docker/daemon.json", "/etc/systemd/system/docker.service.d/override.conf",
      ]));
      const daemon = JSON.parse(config.write_files.find((f) => f.path === "/etc/docker/daemon.json")!.content);
      expect(daemon.tlsverify).toBe(true);
      const hostIndex = instance.name.split("-")[2];
      const serverCert = unwrap(byName(run, `tikv-dev-${hostIndex}-docker-server-cert`).inputs) as Record<string, unknown>;
      expect(text).not.toContain(unwrap(byName(run, "tikv-dev-pki-ca").inputs.privateKeyPem) as string);
      expect(serverCert.allowedUses).toEqual(["digital_signature", "key_encipherment", "server_auth"]);
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
      expect(ready).toMatchObject({ host: `198.51.100.1${i}`, port: 2376, timeoutMinutes: 15, label: `tikv-host-${i}` });
      expect(isSecret(ready.keyPem)).toBe(true);
    }
  });

  test("outputs: per-host addresses, endpoints, certificates with a secret key, and commands", () => {
    const o = run.outputs;
    expect(o.hosts).toEqual([1, 2, 3].map((i) => ({
      name: `tikv-host-${i}`, publicIp: `198.51.100.1${i}`, privateIp: `10.0.1.1${i}`, dockerHost: `tcp://198.51.100.1${i}:2376`,
    })));
    expect(o.pdEndpoints).toEqual(["10.0.1.11:2379", "10.0.1.12:2379", "10.0.1.13:2379"]);
    expect(o.tikvStores).toEqual(["10.0.1.11:20160", "10.0.1.12:20160", "10.0.1.13:20160"]);
    expect(o.caCertPem).toMatch(/BEGIN CERTIFICATE/);
    expect(o.clientCertPem).toMatch(/BEGIN CERTIFICATE/);
    expect(run.secretOutputs).toEqual(["clientKeyPem"]);
    expect(o.dockerCommands).toEqual([1, 2, 3].map((i) =>
      `DOCKER_HOST=tcp://198.51.100.1${i}:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=~/.tikv-cvm/dev docker ps`));
    expect(o.pdCtlMembers).toBe("DOCKER_HOST=tcp://198.51.100.11:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=~/.tikv-cvm/dev " +
      "docker exec pd1 /pd-ctl -u http://127.0.0.1:2379 member");
    expect(o.pdCtlStores).toMatch(/pd-ctl -u http:\/\/127.0.0.1:2379 store$/);
    expect(o.certSetup).toMatch(/--show-secrets clientKeyPem > ~\/.tikv-cvm\/dev\/key.pem/);
  });
});

describe("5 hosts, 3 PD members, an SSH key and a fixed image", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({
      "tikv-cvm:nodeCount": "5",
      "tikv-cvm:pdCount": "3",
      "tikv-cvm:imageId": "img-abcdefgh",
      "tikv-cvm:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop",
    }, { stack: "staging" });
  });

  test("declares five hosts, three PD members and five stores", () => {
    expect(ofType(run, T.instance)).toHaveLength(5);
    expect(ofType(run, T.container)).toHaveLength(8);
    expect(ofType(run, T.volume).map((v) => v.inputs.name).sort()).toEqual([
      "pd-data", "pd-data", "pd-data", "tikv-data", "tikv-data", "tikv-data", "tikv-data", "tikv-data"]);
    expect(ofType(run, T.dockerProvider)).toHaveLength(5);
  });

  test("the exact --initial-cluster and --pd strings", () => {
    expect(flag(byName(run, "tikv-staging-cluster-pd2"), "initial-cluster"))
      .toBe("pd1=http://10.0.1.11:2380,pd2=http://10.0.1.12:2380,pd3=http://10.0.1.13:2380");
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
    expect(ingresses.filter((r) => r.port === "22").map((r) => r.cidrBlock)).toEqual(["203.0.113.0/28"]);
  });
});

test("a bad config stops the program with every problem listed", async () => {
  await expect(runProgram({ "tikv-cvm:nodeCount": "2", "tikv-cvm:operatorCidrs": JSON.stringify(["0.0.0.0/0"]) }))
    .rejects.toThrow(/tikv-cvm:nodeCount[\s\S]*tikv-cvm:operatorCidrs/);
});

test("missing credentials are reported with the environment variables to set", async () => {
  await expect(runProgram({}, { env: { TENCENTCLOUD_SECRET_ID: undefined, TENCENTCLOUD_SECRET_KEY: undefined } }))
    .rejects.toThrow(/TENCENTCLOUD_SECRET_ID/);
});
