// What the program renders for real systems, checked by those systems' own tools: cloud-init's
// schema validator, shellcheck, and a real dockerd with the program's daemon.json and certificates.
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CloudConfig, TUNING_SCRIPT_PATH } from "../lib/cloudInit";
import { DaemonJson } from "../lib/dockerDaemon";
import { pingDocker } from "../lib/dockerProbe";
import { dockerReadyProvider } from "../components/dockerReady";
import { bootstrapPermitProvider } from "../components/bootstrapPermit";
import { patchedImageProvider } from "../components/patchedImage";
import { pidsLimitProvider } from "../components/pidsLimit";
import { patchedTag } from "../lib/builds";
import { moveAsideCommand } from "../components/retiredMemberData";
import { runOneShot } from "../lib/dockerApi";
import { RunningDockerd, besideOthers, freePort, startDockerd } from "./support/dockerd";
import { ProgramRun, byName, runProgram, unwrap } from "./support/harness";
import { mockState } from "./support/mocks";
import { Issued, issue, tempDir } from "./support/openssl";
import { certSpec, renderedHosts, writtenFile } from "./support/program";
import { serializeProvider, serializeReadyProvider } from "./support/serialized";
import { tlsDockerArgs } from "./support/tlsDockerd";
import { describeWithTools } from "./support/tools";

/** `docker info` against the TLS engine on 127.0.0.1:port, presenting the given client certificate. */
function dockerInfoOver(caPath: string, cert: { certPath: string; keyPath: string }, port: number) {
  return spawnSync("docker", [...tlsDockerArgs(caPath, cert, port), "info", "--format", "{{.ID}}"], {
    encoding: "utf8",
  });
}

const FIVE_NODES = {
  "tikv-cvm:nodeCount": "5",
  "tikv-cvm:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop",
};

let runs: { label: string; run: ProgramRun }[] = [];
beforeAll(async () => {
  runs = [
    { label: "default", run: await runProgram() },
    { label: "5 nodes", run: await runProgram(FIVE_NODES) },
  ];
});

describeWithTools(["cloud-init"], "cloud-init schema", () => {
  test("every host's user data passes `cloud-init schema` with no errors or deprecations", () => {
    const dir = tempDir("cloud-init");
    let checked = 0;
    for (const { label, run } of runs) {
      for (const host of renderedHosts(run)) {
        const file = path.join(dir, `${host.name}.yaml`);
        fs.writeFileSync(file, host.cloudConfigText);
        const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
        const output = `${result.stdout}\n${result.stderr}`;
        expect([label, host.name, result.status, output]).toEqual([
          label,
          host.name,
          0,
          expect.stringContaining("Valid cloud-config"),
        ]);
        expect(output).not.toMatch(/deprecat/i);
        checked++;
      }
    }
    expect(checked).toBe(8);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("cloud-init's own ntp module renders Ubuntu's chrony.conf with Tencent Cloud's servers, stepping the clock at boot", () => {
    const host = renderedHosts(runs[0].run)[0];
    const ntp = (parse(host.cloudConfigText) as CloudConfig).ntp;
    const dir = tempDir("cloud-init-ntp");
    const out = path.join(dir, "chrony.conf");
    // cc_ntp.write_ntp_config_template with the distro template cloud-init ships for Ubuntu.
    const script = [
      "import json, sys",
      "from cloudinit.config import cc_ntp",
      "cfg = json.loads(sys.argv[1])",
      "cc_ntp.write_ntp_config_template('ubuntu', service_name='chrony', servers=cfg['servers'], pools=[],",
      "    path=sys.argv[2], template_fn='/etc/cloud/templates/chrony.conf.ubuntu.tmpl')",
    ].join("\n");
    // cloud-init's own interpreter (its script's shebang), which has its modules.
    const bin = execFileSync("sh", ["-c", "command -v cloud-init"], { encoding: "utf8" }).trim();
    const python = fs
      .readFileSync(bin, "utf8")
      .split("\n")[0]
      .replace(/^#!\s*/, "");
    const result = spawnSync(python, ["-c", script, JSON.stringify(ntp), out], { encoding: "utf8" });
    expect([result.status, result.stderr]).toEqual([0, ""]);
    const conf = fs.readFileSync(out, "utf8");
    const servers = conf.split("\n").filter((l) => /^(server|pool) /.test(l));
    expect(servers).toEqual([1, 2, 3, 4, 5].map((i) => `server time${i}.tencentyun.com iburst`));
    expect(conf).toMatch(/^makestep 1 3$/m);
    expect(ntp).toMatchObject({ enabled: true, ntp_client: "chrony" });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the validator does reject a broken cloud-config (the check can fail)", () => {
    const dir = tempDir("cloud-init-bad");
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, "#cloud-config\npackages: docker.io\nwrite_files:\n  - content: x\n");
    const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    // The validator ran and named the errors, rather than failing to start.
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toMatch(
      /schema errors: .*packages.*write_files\.0: 'path' is a required property/s,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

/** Quotes one argument for sh, as cloud-init's runcmd list form is exec'd without a shell. */
function shQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

describeWithTools(["shellcheck"], "shellcheck", () => {
  test("runcmd and every script the user data writes pass shellcheck", () => {
    const dir = tempDir("shellcheck");
    const config = renderedHosts(runs[0].run)[0].cloudConfig;
    const scripts: Record<string, string> = {
      "runcmd.sh": `#!/bin/sh\nset -eu\n${config.runcmd.map((c) => c.map(shQuote).join(" ")).join("\n")}\n`,
    };
    for (const f of config.write_files.filter((w) => w.content.startsWith("#!"))) {
      scripts[path.basename(f.path)] = f.content;
    }
    expect(Object.keys(scripts)).toContain(path.basename(TUNING_SCRIPT_PATH));
    for (const [name, content] of Object.entries(scripts)) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, content);
      const result = spawnSync("shellcheck", ["--severity=style", file], { encoding: "utf8" });
      expect([name, result.status, result.stdout]).toEqual([name, 0, ""]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the CI entry point passes shellcheck too", () => {
    const result = spawnSync("shellcheck", [path.join(__dirname, "..", ".ci", "run")], { encoding: "utf8" });
    expect([result.status, result.stdout]).toEqual([0, ""]);
  });

  test("shellcheck does flag a sloppy script (the check can fail)", () => {
    const dir = tempDir("shellcheck-bad");
    const file = path.join(dir, "bad.sh");
    fs.writeFileSync(file, "#!/bin/sh\nfor f in $(ls /tmp); do echo $f; done\n");
    const result = spawnSync("shellcheck", ["-f", "gcc", file], { encoding: "utf8" });
    expect([result.error, result.status]).toEqual([undefined, 1]);
    expect(result.stdout).toMatch(/\[SC2045\]/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describeWithTools(["dockerd", "docker", "openssl", "curl"], "a real dockerd with the program's daemon.json", () => {
  const dir = tempDir("dockerd");
  let daemon: RunningDockerd | undefined;
  let port = 0;
  let ca: Issued;
  let client: Issued;
  let rendered: DaemonJson;
  let serverSpecIps: string[] = [];
  /** The daemon's TLS endpoint as mode cvm / existing reach it, with the operator's certificate. */
  const tlsEndpoint = () => ({
    kind: "tls" as const,
    host: "127.0.0.1",
    port,
    caPem: ca.certPem,
    certPem: client.certPem,
    keyPem: client.keyPem,
  });

  /** The rendered daemon.json with only its file paths and TCP address moved into `dir`. */
  function remapped(server: Issued): Record<string, unknown> {
    const tcp = rendered.hosts.filter((h) => h.startsWith("tcp://"));
    expect(tcp).toEqual(["tcp://0.0.0.0:2376"]);
    return {
      ...rendered,
      tlscacert: ca.certPath,
      tlscert: server.certPath,
      tlskey: server.keyPath,
      hosts: rendered.hosts.map((h) =>
        h.startsWith("tcp://") ? `tcp://127.0.0.1:${port}` : `unix://${dir}/docker.sock`,
      ),
      ...besideOthers(dir),
    };
  }

  /** The docker CLI against the test daemon, with the operator's certificate. */
  function dockerCli(args: string[], input?: Buffer) {
    return spawnSync("docker", [...tlsDockerArgs(ca.certPath, client, port), ...args], { encoding: "utf8", input });
  }

  let imported = false;
  /** A one-binary image (no image can be pulled here): /bin/busybox in an empty root, imported once. */
  function busyboxImage(): void {
    if (imported) return;
    const work = tempDir("busybox");
    fs.mkdirSync(path.join(work, "rootfs", "bin"), { recursive: true });
    fs.copyFileSync("/bin/busybox", path.join(work, "rootfs", "bin", "busybox"));
    execFileSync("tar", ["-C", path.join(work, "rootfs"), "-cf", path.join(work, "rootfs.tar"), "."]);
    expect(dockerCli(["import", path.join(work, "rootfs.tar"), "tikv-cvm-test/busybox:1"]).status).toBe(0);
    fs.rmSync(work, { recursive: true, force: true });
    imported = true;
  }

  beforeAll(async () => {
    const run = runs[0].run;
    const host = renderedHosts(run)[0];
    rendered = JSON.parse(writtenFile(host.cloudConfig, "/etc/docker/daemon.json")) as DaemonJson;
    const caSpec = certSpec(run, "tikv-dev-pki-ca", "ca");
    ca = issue(dir, "ca", caSpec);
    client = issue(dir, "client", certSpec(run, "tikv-dev-pki-operator", "leaf"), ca);
    const serverSpec = certSpec(run, "tikv-dev-1-docker-server", "leaf");
    serverSpecIps = serverSpec.ipAddresses ?? [];
    // The program names the EIP; here the address dialled is loopback, so it takes the EIP's place.
    const eip = run.outputs.hosts as { publicIp: string }[];
    const server = issue(
      dir,
      "server",
      {
        ...serverSpec,
        ipAddresses: serverSpecIps.map((ip) => (ip === eip[0].publicIp ? "127.0.0.1" : ip)),
      },
      ca,
    );
    port = await freePort();
    daemon = await startDockerd(dir, remapped(server), port);
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the program's readiness provider succeeds with the operator's client certificate", async () => {
    const result = await dockerReadyProvider.create({
      host: "127.0.0.1",
      port,
      instanceId: "ins-test",
      caPem: ca.certPem,
      certPem: client.certPem,
      keyPem: client.keyPem,
      label: "tikv-host-1",
      origin: "cvm",
      timeoutMinutes: 0.25,
    });
    expect(result.id).toBe(`127.0.0.1:${port}`);
    expect(JSON.stringify(result.outs)).not.toContain("PRIVATE KEY");
  });

  test("the provider, serialized as the engine does it, probes the real daemon", async () => {
    const provider = (await serializeReadyProvider()).load();
    const result = await provider.create({
      host: "127.0.0.1",
      port,
      instanceId: "ins-test",
      caPem: ca.certPem,
      certPem: client.certPem,
      keyPem: client.keyPem,
      label: "tikv-host-1",
      origin: "cvm",
      timeoutMinutes: 0.25,
    });
    expect(result.outs).toEqual({ host: "127.0.0.1", port, instanceId: "ins-test", caPem: ca.certPem });
  });

  test("a client without a certificate is refused", async () => {
    await expect(
      pingDocker({ host: "127.0.0.1", port, caPem: ca.certPem, certPem: "", keyPem: "" }, 3000),
    ).rejects.toThrow();
    const curl = spawnSync("curl", ["-sS", "--cacert", ca.certPath, `https://127.0.0.1:${port}/_ping`], {
      encoding: "utf8",
    });
    // Refused by the TLS handshake: curl ran (no spawn error) and reports the daemon's alert, exit
    // 35 (CURLE_SSL_CONNECT_ERROR) or, when TLS 1.3 delivers the alert on the first read, 56.
    expect(curl.error).toBeUndefined();
    expect([35, 56]).toContain(curl.status);
    expect(curl.stderr).toMatch(/certificate required|handshake failure|bad certificate/i);
  });

  test("a client whose certificate comes from another CA is refused", async () => {
    const otherDir = tempDir("other-ca");
    const run = runs[0].run;
    const otherCa = issue(otherDir, "ca", certSpec(run, "tikv-dev-pki-ca", "ca"));
    const intruder = issue(otherDir, "client", certSpec(run, "tikv-dev-pki-operator", "leaf"), otherCa);
    await expect(
      pingDocker(
        { host: "127.0.0.1", port, caPem: ca.certPem, certPem: intruder.certPem, keyPem: intruder.keyPem },
        3000,
      ),
    ).rejects.toThrow();
    fs.rmSync(otherDir, { recursive: true, force: true });
  });

  test("docker volume create and ls work over the TLS endpoint with the client certificate", () => {
    const docker = (...args: string[]) =>
      execFileSync("docker", [...tlsDockerArgs(ca.certPath, client, port), ...args], { encoding: "utf8" });
    expect(docker("volume", "create", "tikv-data").trim()).toBe("tikv-data");
    expect(docker("volume", "ls", "--format", "{{.Name}}").split("\n")).toContain("tikv-data");
  });

  /**
   * Every client certificate the program issues, made by openssl to its spec and signed by the CA
   * the program signs it with (read from its caCertPem input): the Docker CA, or the cluster CA,
   * itself made to the program's spec.
   */
  function programClientCerts(): { name: string; cert: Issued }[] {
    const run = runs[0].run;
    // Each CA resource by the certificate the mocks gave it, which its signees receive as caCertPem.
    const caNames = new Map(
      run.resources
        .filter((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert")
        .map((r) => [mockState(r.type, r.name, r.inputs).certPem as string, r.name]),
    );
    const made = new Map<string, Issued>([["tikv-dev-pki-ca", ca]]);
    const dirFor = tempDir("program-certs");
    const signed = run.resources.filter(
      (r) =>
        r.type === "tls:index/locallySignedCert:LocallySignedCert" &&
        (r.inputs.allowedUses as string[]).includes("client_auth"),
    );
    return signed.map((r) => {
      const prefix = r.name.replace(/-cert$/, "");
      const caName = caNames.get(unwrap(r.inputs.caCertPem) as string)!;
      if (!made.has(caName)) made.set(caName, issue(dirFor, caName, certSpec(run, caName, "ca")));
      return { name: prefix, cert: issue(dirFor, prefix, certSpec(run, prefix, "leaf"), made.get(caName)) };
    });
  }

  test("the Docker API accepts the operator's certificate and refuses every PD/TiKV, Prometheus and admin certificate", async () => {
    const certs = programClientCerts();
    // The operator, three PD/TiKV members, Prometheus and the cluster admin.
    expect(certs.map((c) => c.name).sort()).toEqual([
      "tikv-dev-cluster-tls-admin",
      "tikv-dev-cluster-tls-prometheus",
      "tikv-dev-cluster-tls-tikv1",
      "tikv-dev-cluster-tls-tikv2",
      "tikv-dev-cluster-tls-tikv3",
      "tikv-dev-pki-operator",
    ]);
    const dockerInfo = (cert: Issued) => dockerInfoOver(ca.certPath, cert, port);
    for (const { name, cert } of certs) {
      const result = dockerInfo(cert);
      const accepted = result.status === 0;
      expect([name, accepted]).toEqual([name, name === "tikv-dev-pki-operator"]);
      if (!accepted) {
        await expect(
          pingDocker({ host: "127.0.0.1", port, caPem: ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem }, 3000),
        ).rejects.toThrow();
      }
    }
  });

  // The one Docker-CA credential on a host: its server certificate and key travel in the user data,
  // which the metadata service (169.254.0.23) serves without a token to every process there, PD,
  // TiKV, Prometheus and Grafana included (host networking). It must not be a client credential.
  test("a host's Docker server certificate, readable by its containers from the metadata service, does not open Docker", async () => {
    const run = runs[0].run;
    const stolen = renderedHosts(run).map((host, i) => {
      const written = (file: string) => writtenFile(host.cloudConfig, file);
      // What a container reads from the user data: the key it would present, and the certificate's spec.
      expect(written("/etc/docker/tls/server-key.pem")).toContain("PRIVATE KEY");
      return issue(dir, `stolen-server-${i}`, certSpec(run, `tikv-dev-${i + 1}-docker-server`, "leaf"), ca);
    });
    expect(stolen).toHaveLength(3);
    for (const cert of stolen) {
      const info = dockerInfoOver(ca.certPath, cert, port);
      // Refused in the handshake: an alert or, as TLS 1.3 may deliver it, a reset.
      expect([info.error, info.status]).toEqual([undefined, 1]);
      expect(info.stderr).toMatch(/tls|certificate|connection reset/i);
      await expect(
        pingDocker({ host: "127.0.0.1", port, caPem: ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem }, 3000),
      ).rejects.toThrow();
      // The daemon was up and serving meanwhile: the operator still gets in.
      expect(dockerCli(["info", "--format", "{{.ID}}"]).status).toBe(0);
    }
  });

  test("a daemon with TLS on but no client verification is refused by mode existing's readiness check", async () => {
    const otherDir = tempDir("tls-only");
    const server = issue(
      otherDir,
      "server",
      { ...certSpec(runs[0].run, "tikv-dev-1-docker-server", "leaf"), ipAddresses: ["127.0.0.1"] },
      ca,
    );
    const otherPort = await freePort();
    const tlsOnly = await startDockerd(
      otherDir,
      {
        ...remapped(server),
        tlsverify: false,
        hosts: [`tcp://127.0.0.1:${otherPort}`, `unix://${otherDir}/docker.sock`],
        "data-root": `${otherDir}/root`,
        "exec-root": `${otherDir}/exec`,
        pidfile: `${otherDir}/docker.pid`,
      },
      otherPort,
    );
    try {
      // It really serves anonymous clients...
      const curl = spawnSync("curl", ["-sS", "--cacert", ca.certPath, `https://127.0.0.1:${otherPort}/_ping`], {
        encoding: "utf8",
      });
      expect([curl.status, curl.stdout]).toEqual([0, "OK"]);
      // ...and the readiness check says so, and how to fix daemon.json, at once.
      const started = Date.now();
      await expect(
        dockerReadyProvider.create({
          host: "127.0.0.1",
          port: otherPort,
          instanceId: "db1",
          caPem: ca.certPem,
          certPem: client.certPem,
          keyPem: client.keyPem,
          label: "db1",
          origin: "existing",
          timeoutMinutes: 1,
        }),
      ).rejects.toThrow(/without a certificate[\s\S]*"tlsverify": true/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await tlsOnly.stop();
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  }, 60_000);

  test("a server certificate that lacks the dialled address is rejected by the probe", async () => {
    // The program's own SANs (EIP and private IP) without the loopback stand-in.
    const otherDir = tempDir("wrong-san");
    const server = issue(
      otherDir,
      "server",
      { ...certSpec(runs[0].run, "tikv-dev-1-docker-server", "leaf"), ipAddresses: serverSpecIps },
      ca,
    );
    const otherPort = await freePort();
    const second = await startDockerd(
      otherDir,
      {
        ...remapped(server),
        hosts: [`tcp://127.0.0.1:${otherPort}`, `unix://${otherDir}/docker.sock`],
        "data-root": `${otherDir}/root`,
        "exec-root": `${otherDir}/exec`,
        pidfile: `${otherDir}/docker.pid`,
      },
      otherPort,
    );
    try {
      await expect(
        pingDocker(
          { host: "127.0.0.1", port: otherPort, caPem: ca.certPem, certPem: client.certPem, keyPem: client.keyPem },
          3000,
        ),
      ).rejects.toThrow(/127.0.0.1/);
    } finally {
      await second.stop();
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  }, 60_000);

  test("CPU weights and memory caps: the engine keeps what the program declares (the provider reads them back)", () => {
    const run = runs[0].run;
    busyboxImage();
    for (const name of ["tikv-dev-cluster-tikv1", "tikv-dev-cluster-pd1"]) {
      const inputs = byName(run, name).inputs as { cpuShares: number; memory: number };
      const created = dockerCli([
        "create",
        "--network",
        "none",
        "--cpu-shares",
        String(inputs.cpuShares),
        "--memory",
        `${inputs.memory}m`,
        "--memory-swap",
        `${inputs.memory}m`,
        "tikv-cvm-test/busybox:1",
        "/bin/busybox",
        "true",
      ]);
      expect([name, created.status, created.stderr]).toEqual([name, 0, ""]);
      const id = created.stdout.trim();
      const inspected = dockerCli(["inspect", "--format", "{{.HostConfig.CpuShares}} {{.HostConfig.Memory}}", id]);
      dockerCli(["rm", "-f", id]);
      // Docker drops a weight the kernel cannot apply (with a warning); the provider would then read 0 back.
      expect([name, inspected.stdout.trim()]).toEqual([name, `${inputs.cpuShares} ${inputs.memory * 1024 * 1024}`]);
    }
  }, 60_000);

  /**
   * The program's container hardening, run for real: a tiny busybox image stands in for PD (root)
   * and Prometheus (nobody); the key is uploaded the way the Docker provider does it, a tar entry
   * with no owner (so root:root) and the program's mode, through the archive API.
   */
  test("hardened containers: no capabilities, no privilege gain, and each process reads its own key and no other user can", () => {
    const run = runs[0].run;
    const docker = dockerCli;
    const work = tempDir("hardening");
    busyboxImage();

    interface Spec {
      capabilities?: { drops: string[] };
      securityOpts?: string[];
      groupAdds?: string[];
      uploads: unknown;
    }
    const spec = (name: string) => {
      const inputs = unwrap(byName(run, name).inputs) as unknown as Spec;
      const uploads = inputs.uploads as { file: string; content: string; permissions?: string }[];
      return { ...inputs, key: uploads.find((u) => u.content.includes("PRIVATE KEY"))! };
    };
    /** Creates the container from the program's spec, uploads its key, runs `script`, returns its output. */
    const runAs = (
      name: string,
      user: string,
      script: string,
      groupAdds?: string[],
    ): { status: number | null; out: string } => {
      const s = spec(name);
      const flags = [
        ...(s.capabilities?.drops ?? []).flatMap((c) => ["--cap-drop", c]),
        ...(s.securityOpts ?? []).flatMap((o) => ["--security-opt", o]),
        ...(groupAdds ?? s.groupAdds ?? []).flatMap((g) => ["--group-add", g]),
      ];
      const created = docker([
        "create",
        "--network",
        "none",
        "--user",
        user,
        ...flags,
        "tikv-cvm-test/busybox:1",
        "/bin/busybox",
        "sh",
        "-c",
        script,
      ]);
      expect(created.status).toBe(0);
      const id = created.stdout.trim();
      // The provider's upload: one tar entry named by the absolute path, no owner, the program's mode.
      const stage = path.join(work, name);
      fs.mkdirSync(path.dirname(path.join(stage, s.key.file)), { recursive: true });
      fs.writeFileSync(path.join(stage, s.key.file), s.key.content);
      const tarball = execFileSync("tar", [
        "-C",
        stage,
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        `--mode=${s.key.permissions}`,
        "-cf",
        "-",
        s.key.file.slice(1),
      ]);
      expect(docker(["cp", "-", `${id}:/`], tarball).status).toBe(0);
      const started = docker(["start", "-a", id]);
      docker(["rm", "-f", id]);
      return { status: started.status, out: `${started.stdout}${started.stderr}`.trim() };
    };
    const pdKey = spec("tikv-dev-cluster-pd1").key.file;
    const promKey = spec("tikv-dev-monitoring-prometheus").key.file;
    const read = (file: string) =>
      `/bin/busybox stat -c '%a %u:%g' ${file} && /bin/busybox cat ${file} >/dev/null && echo read`;

    // PD runs as root with every capability dropped: it reads its 0400 key, and its effective set is empty.
    const pd = runAs(
      "tikv-dev-cluster-pd1",
      "0",
      `${read(pdKey)}; /bin/busybox grep -E '^(CapEff|NoNewPrivs)' /proc/self/status`,
    );
    expect(pd.out).toMatch(/^400 0:0\nread\nCapEff:\s+0000000000000000\nNoNewPrivs:\s+1$/);
    // Prometheus runs as nobody with group 0 added: it reads its 0440 key...
    expect(runAs("tikv-dev-monitoring-prometheus", "65534:65534", read(promKey)).out).toBe("440 0:0\nread");
    // ...which no other user in the container can, and nobody without that group cannot either.
    const denied = runAs("tikv-dev-monitoring-prometheus", "65534:65534", read(promKey), []);
    expect([denied.status, denied.out]).toEqual([1, expect.stringMatching(/Permission denied/)]);
    fs.rmSync(work, { recursive: true, force: true });
  }, 120_000);

  test("tikvPatch: the patched image is built on the engine through the Engine API from the base, with the binary in place, once", async () => {
    busyboxImage();
    const endpoint = tlsEndpoint();
    const baseImageId = dockerCli(["image", "inspect", "tikv-cvm-test/busybox:1", "--format", "{{.Id}}"]).stdout.trim();
    // The "binary": /bin/busybox goes in as /tikv-server, over the base's own /bin/busybox.
    const binaryFile = "/bin/busybox";
    const sha256 = crypto.createHash("sha256").update(fs.readFileSync(binaryFile)).digest("hex");
    const inputs = {
      endpoint,
      baseImageId,
      binaryFile,
      sha256,
      target: "/tikv-server",
      tag: patchedTag("tikv", "tikv-cvm-test/busybox:1", sha256),
    };
    const created = await patchedImageProvider.create(inputs);
    const inspected = JSON.parse(dockerCli(["image", "inspect", inputs.tag]).stdout)[0] as {
      Id: string;
      Config: { Labels: Record<string, string> };
    };
    expect(created.outs?.imageId).toBe(inspected.Id);
    expect(inspected.Config.Labels["org.tikv-cvm.patch.sha256"]).toBe(sha256);
    // busybox dispatches on its name, so it cannot run as /tikv-server: compare the bytes instead.
    const inPatched = (...args: string[]) =>
      dockerCli(["run", "--rm", "--network", "none", inputs.tag, "/bin/busybox", ...args]);
    const ran = inPatched("sh", "-c", "/bin/busybox cmp /bin/busybox /tikv-server && echo same");
    expect([ran.status, ran.stdout.trim()]).toEqual([0, "same"]);
    const mode = inPatched("stat", "-c", "%a", "/tikv-server");
    expect(mode.stdout.trim()).toBe("755");
    // Again (an interrupted run): the same image, not a second build.
    expect((await patchedImageProvider.create(inputs)).outs?.imageId).toBe(inspected.Id);
    // A binary that changed since the plan is refused, not built.
    await expect(
      patchedImageProvider.create({ ...inputs, sha256: "0".repeat(64), tag: "tikv-cvm-test/other:1" }),
    ).rejects.toThrow(/changed since the deployment was planned/);
    dockerCli(["image", "rm", inputs.tag]);
  }, 120_000);

  test("pids limit: set through the Engine API on the TLS endpoint and on this machine's socket, read back, enforced", async () => {
    busyboxImage();
    const created = dockerCli([
      "run",
      "-d",
      "--network",
      "none",
      "tikv-cvm-test/busybox:1",
      "/bin/busybox",
      "sleep",
      "60",
    ]);
    expect(created.status).toBe(0);
    const id = created.stdout.trim();
    const limitOf = () => JSON.parse(dockerCli(["inspect", id]).stdout)[0].HostConfig.PidsLimit as number | null;
    try {
      expect(limitOf() ?? 0).toBe(0);
      const endpoint = tlsEndpoint();
      const result = await pidsLimitProvider.create({ endpoint, containerId: id, limit: 12 });
      expect(result.outs).toEqual({ containerId: id, limit: 12 });
      expect(limitOf()).toBe(12);
      // Mode local: the engine found as the docker CLI finds it.
      const saved = process.env.DOCKER_HOST;
      process.env.DOCKER_HOST = `unix://${dir}/docker.sock`;
      try {
        await pidsLimitProvider.update!(
          id,
          { containerId: id, limit: 12 },
          { endpoint: { kind: "environment" }, containerId: id, limit: 10 },
        );
      } finally {
        if (saved === undefined) delete process.env.DOCKER_HOST;
        else process.env.DOCKER_HOST = saved;
      }
      expect(limitOf()).toBe(10);
      // The kernel enforces it: 20 more processes do not fit in 10.
      const forks = dockerCli([
        "exec",
        id,
        "/bin/busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do /bin/busybox sleep 5 & done; echo forked",
      ]);
      expect(`${forks.stdout}${forks.stderr}`).toMatch(/can't fork|Resource temporarily unavailable/);
      // As the engine runs it: serialized, loaded back, then called.
      const serialized = (await serializeProvider(pidsLimitProvider)).load();
      await serialized.update!(id, { containerId: id, limit: 10 }, { endpoint, containerId: id, limit: 11 });
      expect(limitOf()).toBe(11);
      // A refusal names the container.
      await expect(pidsLimitProvider.create({ endpoint, containerId: "no-such-container", limit: 12 })).rejects.toThrow(
        /no-such-container/,
      );
    } finally {
      dockerCli(["rm", "-f", id]);
    }
  }, 60_000);

  // Issue 18: the one-shot containers (the PD bootstrap permit, a retired store's data moved
  // aside) through the real Engine API, with no network and no capability, as the providers run them.
  test("a one-shot container writes on a named volume and is removed; a failing one is reported and removed too", async () => {
    const work = tempDir("busybox-sh");
    fs.mkdirSync(path.join(work, "rootfs", "bin"), { recursive: true });
    fs.copyFileSync("/bin/busybox", path.join(work, "rootfs", "bin", "busybox"));
    for (const applet of ["sh", "touch", "mkdir", "mv", "ls"])
      fs.symlinkSync("busybox", path.join(work, "rootfs", "bin", applet));
    execFileSync("tar", ["-C", path.join(work, "rootfs"), "-cf", path.join(work, "rootfs.tar"), "."]);
    expect(dockerCli(["import", path.join(work, "rootfs.tar"), "tikv-cvm-test/busybox-sh:1"]).status).toBe(0);
    fs.rmSync(work, { recursive: true, force: true });
    const endpoint = tlsEndpoint();
    const ls = (volume: string, dirPath = "/d") =>
      dockerCli([
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        `${volume}:/d`,
        "tikv-cvm-test/busybox-sh:1",
        "/bin/ls",
        "-A",
        dirPath,
      ])
        .stdout.trim()
        .split("\n")
        .filter(Boolean);
    try {
      const permit = await bootstrapPermitProvider.create({
        endpoint,
        image: "tikv-cvm-test/busybox-sh:1",
        volumeName: "pd-data-test",
        name: "pd1-bootstrap-permit",
        dataDir: "/data",
        bootstrap: true,
      });
      expect(permit.outs?.outcome).toBe("permit written");
      expect(ls("pd-data-test")).toEqual(["tikv-cvm-bootstrap-permit"]);
      expect(
        dockerCli(["ps", "-a", "--filter", "name=pd1-bootstrap-permit", "--format", "{{.Names}}"]).stdout.trim(),
      ).toBe("");

      dockerCli([
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "tikv-data-test:/d",
        "tikv-cvm-test/busybox-sh:1",
        "/bin/mkdir",
        "-p",
        "/d/db",
      ]);
      await runOneShot(
        endpoint,
        {
          name: "tikv4-retired-data",
          image: "tikv-cvm-test/busybox-sh:1",
          entrypoint: ["/bin/sh"],
          cmd: moveAsideCommand("/data", "retired-store-4-20261207000000"),
          binds: ["tikv-data-test:/data"],
        },
        30_000,
      );
      expect(ls("tikv-data-test")).toEqual(["retired-store-4-20261207000000"]);
      expect(ls("tikv-data-test", "/d/retired-store-4-20261207000000")).toEqual(["db"]);

      await expect(
        runOneShot(
          endpoint,
          {
            name: "fails",
            image: "tikv-cvm-test/busybox-sh:1",
            entrypoint: ["/bin/sh"],
            cmd: ["-c", "exit 3"],
            binds: [],
          },
          30_000,
        ),
      ).rejects.toThrow(/fails exited with 3/);
      expect(dockerCli(["ps", "-a", "--filter", "name=fails", "--format", "{{.Names}}"]).stdout.trim()).toBe("");
    } finally {
      dockerCli(["volume", "rm", "-f", "pd-data-test", "tikv-data-test"]);
    }
  }, 60_000);
});
