// Issue 19: application clients (config `clients`). Each gets its own certificate from the cluster
// CA under the one common name PD and TiKV admit for clients, so adding or removing a client
// changes no member; certSetup writes its material (run for real by sh, with jq, against a
// stand-in pulumi CLI); clientCommands runs a client image inside the cluster's network (run for
// real by sh against a stand-in docker CLI that records what it is asked).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLUSTER_CN, PD_ALLOWED_CN, TIKV_ALLOWED_CN, pdConfigToml, tikvConfigToml } from "../lib/clusterConfig";
import { CLIENT_ENV, CLIENT_TLS_DIR } from "../lib/commands";
import { planMemory } from "../lib/memoryBudget";
import { GATEWAY_MIB } from "../lib/pdGateway";
import { validateConfig } from "../lib/settings";
import { BASE_CONFIG, EXISTING_STACK, NOT_CVM, ProgramRun, runProgram, unwrap } from "./support/harness";

const CLIENTS = ["app", "bench-1"];
const withClients = (clients: string[]) => ({ "tikv-cvm:clients": JSON.stringify(clients) });

describe("config: clients", () => {
  const validate = (values: Record<string, string>) =>
    validateConfig({
      values: { availabilityZone: "ap-guangzhou-3", operatorCidrs: JSON.stringify(["5.6.7.0/28"]), ...values },
      region: "ap-guangzhou",
      hasSecretId: true,
      hasSecretKey: true,
    });
  const problems = (values: Record<string, string>) => {
    const r = validate(values);
    return r.ok ? [] : r.problems.map((p) => `${p.key}: ${p.message}`);
  };

  test("a list of names, empty by default", () => {
    const r = validate({});
    expect(r.ok && r.settings.clients).toEqual([]);
    const named = validate({ clients: JSON.stringify(CLIENTS) });
    expect(named.ok && named.settings.clients).toEqual(CLIENTS);
  });

  test.each([["App"], ["1app"], ["a"], ["app_1"], ["app-"], ["x".repeat(33)], ["a b"]])(
    "%s is refused, naming the rule",
    (name) => {
      expect(problems({ clients: JSON.stringify([name]) })).toEqual([
        expect.stringMatching(new RegExp(`^tikv-cvm:clients: "${name}" is not a client name: 2\\.\\.32 lower-case`)),
      ]);
    },
  );

  test("a name listed twice is refused", () => {
    expect(problems({ clients: JSON.stringify(["app", "bench", "app"]) })).toEqual([
      "tikv-cvm:clients: lists app twice; each client has one certificate: remove the second with pulumi config rm --path 'tikv-cvm:clients[2]'",
    ]);
  });

  test("clients without clusterTls are refused (mode local), naming the fix", () => {
    const r = validateConfig({
      values: { mode: "local", hostMemoryGiB: "8", clusterTls: "false", clients: JSON.stringify(["app"]) },
      hasSecretId: false,
      hasSecretKey: false,
    });
    expect(r.ok ? [] : r.problems.map((p) => p.key)).toEqual(["tikv-cvm:clients"]);
    expect(r.ok ? "" : r.problems[0].message).toMatch(/needs clusterTls: true.*pulumi config rm tikv-cvm:clients/);
  });
});

describe("the names PD and TiKV admit", () => {
  test("one fixed client name, listed whether or not clients exist, in TiKV's config; PD admits it only through its gateway", () => {
    expect(TIKV_ALLOWED_CN).toContain(CLUSTER_CN.client);
    expect(PD_ALLOWED_CN).not.toContain(CLUSTER_CN.client);
    const budget = planMemory({ totalMiB: 4096, reserveMiB: 512, runsPd: true, monitoringMiB: 0 });
    expect(pdConfigToml(3, true, budget)).not.toContain(`"${CLUSTER_CN.client}"`);
    expect(tikvConfigToml(budget, 50, true)).toContain(`"${CLUSTER_CN.client}"`);
  });

  test("the Docker operator's name is not among them", () => {
    for (const list of [PD_ALLOWED_CN, TIKV_ALLOWED_CN]) expect(list).not.toContain("operator");
  });
});

describe("the program with clients", () => {
  let none: ProgramRun;
  let two: ProgramRun;
  let one: ProgramRun;
  beforeAll(async () => {
    // A second deployment without clients, so the first deployment's own steps (the bootstrap permit) are past.
    none = await runProgram({}, { lastOutputs: (await runProgram({})).outputs });
    two = await runProgram(withClients(CLIENTS), { lastOutputs: none.outputs });
    one = await runProgram(withClients(["bench-1"]), { lastOutputs: two.outputs });
  });

  test("each client: a key and a client-only certificate from the cluster CA, CN tikv-cvm-client, its name as OU", () => {
    for (const client of CLIENTS) {
      const csr = two.resources.find((r) => r.name === `tikv-dev-cluster-tls-client-${client}-csr`);
      expect(unwrap(csr?.inputs.subject)).toEqual({
        commonName: CLUSTER_CN.client,
        organization: "tikv-cvm dev",
        organizationalUnit: client,
      });
      const cert = two.resources.find((r) => r.name === `tikv-dev-cluster-tls-client-${client}-cert`);
      expect(unwrap(cert?.inputs.allowedUses)).toEqual(["digital_signature", "key_encipherment", "client_auth"]);
      // Signed by the cluster CA's key, not the Docker CA's.
      const caKey = two.resources.find((r) => r.name === "tikv-dev-cluster-tls-ca-key");
      const dockerCaKey = two.resources.find((r) => r.name === "tikv-dev-pki-ca-key");
      expect(caKey && dockerCaKey).toBeTruthy();
      expect(JSON.stringify(cert?.inputs.caPrivateKeyPem)).toBe(
        JSON.stringify(two.resources.find((r) => r.name === "tikv-dev-cluster-tls-admin-cert")?.inputs.caPrivateKeyPem),
      );
      // Renewed like every other leaf (lib/certificates.ts).
      expect(unwrap(cert?.inputs.earlyRenewalHours)).toBe(90 * 24);
    }
  });

  test("exported by name: certificates in clear, keys as one secret map", () => {
    expect(Object.keys(two.outputs.clientCerts as object).sort()).toEqual(CLIENTS);
    expect(two.secretOutputs).toContain("clientKeys");
    expect(two.secretOutputs).not.toContain("clientCerts");
    expect(Object.keys(unwrap(two.outputs.clientKeys) as object).sort()).toEqual(CLIENTS);
    expect(Object.keys(two.outputs.clientCommands as object).sort()).toEqual(CLIENTS);
    expect(none.outputs.clientCerts).toEqual({});
  });

  test("adding two clients, then removing one, changes no other resource's inputs: no member restarts", () => {
    const gateway = (r: { name: string }) => /-pd\d+-gateway/.test(r.name);
    // Each host's check re-reads its host with the gateway's cap in the plan: an update in place,
    // which restarts nothing (components/hostCheck.ts); its inputs are compared below.
    const hostCheck = (r: { type: string }) => r.type === "pulumi-nodejs:dynamic/tikv-cvm:HostCheck";
    const key = (run: ProgramRun) =>
      new Map(
        run.resources
          .filter((r) => !/-client-/.test(r.name) && !r.type.startsWith("tikv-cvm:") && !gateway(r) && !hostCheck(r))
          .map((r) => [`${r.type} ${r.name}`, JSON.stringify(r.inputs)]),
      );
    // The first client brings a gateway beside each PD member; a second one or one less leaves them be.
    const gateways = (run: ProgramRun) =>
      new Map(
        run.resources
          .filter((r) => gateway(r) && r.type === "docker:index/container:Container")
          .map((r) => [r.name, JSON.stringify(r.inputs)]),
      );
    expect(gateways(none).size).toBe(0);
    expect([...gateways(two).keys()]).toEqual([1, 2, 3].map((n) => `tikv-dev-cluster-pd${n}-gateway`));
    expect(gateways(one)).toEqual(gateways(two));
    const planned = (run: ProgramRun) =>
      run.resources.filter(hostCheck).map((r) => unwrap(r.inputs.plannedMiB) as number);
    expect(planned(two)).toEqual(planned(none).map((mib) => mib + GATEWAY_MIB));
    expect(planned(one)).toEqual(planned(two));
    const [a, b, c] = [key(none), key(two), key(one)];
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    expect([...c.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, inputs] of a) {
      expect([name, b.get(name)]).toEqual([name, inputs]);
      expect([name, c.get(name)]).toEqual([name, inputs]);
    }
    // The removed client's certificate and key go; the other's stay as they were, under the same
    // resource names (a name that moved would replace the certificate and key).
    const csrFor = (run: ProgramRun, client: string) =>
      run.resources.filter(
        (r) =>
          r.type === "tls:index/certRequest:CertRequest" &&
          (unwrap(r.inputs.subject) as { organizationalUnit?: string }).organizationalUnit === client,
      );
    expect(csrFor(one, "app")).toEqual([]);
    const [kept] = csrFor(one, "bench-1");
    const [before] = csrFor(two, "bench-1");
    expect(kept?.name).toBe(before?.name);
    const prefix = before!.name.replace(/-csr$/, "");
    for (const suffix of ["key", "csr", "cert"]) {
      const n = `${prefix}-${suffix}`;
      const inputs = (run: ProgramRun) => JSON.stringify(run.resources.find((r) => r.name === n)?.inputs);
      expect([n, inputs(one)]).toEqual([n, inputs(two)]);
      expect(inputs(one)).toBeDefined();
    }
  });
});

/** `pulumi stack output [--stack S] [--json] [--show-secrets] NAME`, as certSetup.test.ts's, plus --json. */
const FAKE_PULUMI = `#!/bin/sh
if [ "$1" = config ] && [ "$2" = get ]; then echo "config value of $5"; exit 0; fi
[ "$1" = stack ] && [ "$2" = output ] || { echo "fake pulumi: unexpected command: $*" >&2; exit 2; }
shift 2
stack=""; show=0; json=0; name=""
while [ $# -gt 0 ]; do
  case "$1" in
    --stack) stack=$2; shift 2 ;;
    --show-secrets) show=1; shift ;;
    --json) json=1; shift ;;
    -*) echo "fake pulumi: unexpected flag $1" >&2; exit 2 ;;
    *) [ -z "$name" ] || { echo "fake pulumi: two output names" >&2; exit 2; }; name=$1; shift ;;
  esac
done
[ "$stack" = "$FAKE_STACK" ] || { echo "fake pulumi: stack '$stack' is not $FAKE_STACK" >&2; exit 2; }
[ -f "$FAKE_OUTPUTS/$name.json" ] || { echo "fake pulumi: no output $name" >&2; exit 2; }
if [ -f "$FAKE_OUTPUTS/$name.secret" ] && [ "$show" = 0 ]; then
  if [ "$json" = 1 ]; then echo '"[secret]"'; else echo "[secret]"; fi
elif [ "$json" = 1 ]; then cat "$FAKE_OUTPUTS/$name.json"; echo
else cat "$FAKE_OUTPUTS/$name"; echo; fi
`;

/** Records every docker invocation (environment and argv) and plays a container's life. */
const FAKE_DOCKER = `#!/bin/sh
{ printf 'HOST=%s CERTS=%s |' "$DOCKER_HOST" "$DOCKER_CERT_PATH"; for a in "$@"; do printf ' [%s]' "$a"; done; echo; } >> "$FAKE_LOG"
case "$1" in
  create) echo c0ffee ;;
  cp) mkdir -p "$FAKE_COPIED" && cp -R "\${2%/.}/." "$FAKE_COPIED/" ;;
  start) exit "\${FAKE_START_RC:-0}" ;;
  rm) ;;
  *) echo "fake docker: unexpected $1" >&2; exit 2 ;;
esac
`;

describe.each([
  ["cvm", {}, {}],
  ["existing", EXISTING_STACK.config, EXISTING_STACK.options],
  [
    "local",
    { ...NOT_CVM, "tikv-cvm:mode": "local", "tikv-cvm:hostMemoryGiB": "8" },
    { env: { DOCKER_HOST: undefined, DOCKER_CERT_PATH: undefined } },
  ],
])(
  "mode %s: certSetup writes each client's material, clientCommands runs an image with it",
  (mode, config, options) => {
    let run: ProgramRun;
    let scratch: string;
    beforeAll(async () => {
      run = await runProgram({ ...BASE_CONFIG, ...config, ...withClients(CLIENTS) }, options);
    });
    beforeEach(() => {
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), "clients-"));
    });
    afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

    test("a gateway beside each PD member: on the host's network, or in its member's network namespace", () => {
      for (const n of [1, 2, 3]) {
        const container = (name: string) =>
          run.resources.find((r) => r.type === "docker:index/container:Container" && r.name === name)!;
        const gateway = container(`tikv-dev-cluster-pd${n}-gateway`);
        const pd = container(`tikv-dev-cluster-pd${n}`);
        expect([n, gateway.inputs.networkMode]).toEqual([n, mode === "local" ? `container:${pd.id}` : "host"]);
      }
    });

    function shell(command: string, extraEnv: Record<string, string> = {}) {
      const home = path.join(scratch, "home");
      const bin = path.join(scratch, "bin");
      const outputs = path.join(scratch, "outputs");
      for (const d of [home, bin, outputs]) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(bin, "pulumi"), FAKE_PULUMI, { mode: 0o755 });
      fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
      for (const [name, value] of Object.entries(run.outputs)) {
        const plain = unwrap(value);
        if (typeof plain === "string") fs.writeFileSync(path.join(outputs, name), plain);
        if (plain !== undefined) fs.writeFileSync(path.join(outputs, `${name}.json`), JSON.stringify(plain));
        if (run.secretOutputs.includes(name)) fs.writeFileSync(path.join(outputs, `${name}.secret`), "");
      }
      // The existing stack's certSetup reads the Docker material from config: answer that too.
      const result = spawnSync("sh", ["-c", `umask 022; ${command}`], {
        encoding: "utf8",
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          HOME: home,
          FAKE_OUTPUTS: outputs,
          FAKE_STACK: "dev",
          FAKE_LOG: path.join(scratch, "docker.log"),
          FAKE_COPIED: path.join(scratch, "copied"),
          ...extraEnv,
        },
      });
      return { ...result, home };
    }

    test("certSetup: ca.pem, cert.pem, key.pem per client under clients/<name>, the key 0600", () => {
      const setup = run.outputs.certSetup as string;
      expect(typeof setup).toBe("string");
      const r = shell(setup);
      expect([r.status, r.stderr]).toEqual([0, ""]);
      for (const client of CLIENTS) {
        const dir = path.join(r.home, ".tikv-cvm", "dev", "clients", client);
        expect(fs.readdirSync(dir).sort()).toEqual(["ca.pem", "cert.pem", "key.pem"]);
        expect(fs.readFileSync(path.join(dir, "cert.pem"), "utf8")).toBe(
          `${(run.outputs.clientCerts as Record<string, string>)[client]}\n`,
        );
        expect(fs.readFileSync(path.join(dir, "key.pem"), "utf8")).toBe(
          `${(unwrap(run.outputs.clientKeys) as Record<string, string>)[client]}\n`,
        );
        expect(fs.readFileSync(path.join(dir, "ca.pem"), "utf8")).toBe(`${run.outputs.clusterCaCertPem as string}\n`);
        expect(fs.statSync(path.join(dir, "key.pem")).mode & 0o777).toBe(0o600);
        expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      }
    });

    test("clientCommands: the image and its arguments appended, inside the cluster's network, the key copied as a file", () => {
      const setup = run.outputs.certSetup as string;
      const command = (run.outputs.clientCommands as Record<string, string>)["bench-1"];
      const r = shell(`${setup} && ${command} tikv-cvm-client:dev smoke --keys 5`);
      expect([r.status, r.stderr]).toEqual([0, ""]);
      const log = fs.readFileSync(path.join(scratch, "docker.log"), "utf8").trim().split("\n");
      expect(log.map((l) => /\| \[(\w+)\]/.exec(l)?.[1])).toEqual(["create", "cp", "start", "rm"]);
      const create = log[0];
      const network = mode === "local" ? "tikv-dev" : "host";
      expect(create).toContain(`[--network] [${network}]`);
      const pd =
        mode === "cvm"
          ? "10.0.1.11:2389,10.0.1.12:2389,10.0.1.13:2389"
          : mode === "existing"
            ? "10.9.0.11:2389,10.9.0.12:2389,10.9.0.13:2389"
            : "pd1:2389,pd2:2389,pd3:2389"; // the members' aliases on the cluster's network, the gateways' port
      expect(create).toContain(`[-e] [${CLIENT_ENV.pd}=${pd}]`);
      expect(create).toContain(`[-e] [${CLIENT_ENV.tlsDir}=${CLIENT_TLS_DIR}]`);
      expect(create).toContain("[--cap-drop] [ALL]");
      expect(create).toMatch(/\[tikv-cvm-client:dev\] \[smoke\] \[--keys\] \[5\]$/);
      // The key reaches the container as a file, never on a command line.
      const key = (unwrap(run.outputs.clientKeys) as Record<string, string>)["bench-1"];
      expect(log.join("\n")).not.toContain(key.split("\n")[1]);
      expect(log[1]).toContain(`[c0ffee:${CLIENT_TLS_DIR}]`);
      expect(fs.readFileSync(path.join(scratch, "copied", "key.pem"), "utf8")).toBe(`${key}\n`);
      // Pointed at host 1's engine over TLS (cvm, existing), or at this machine's (local).
      if (mode === "local") expect(log.every((l) => l.startsWith("HOST= CERTS= |"))).toBe(true);
      else expect(log.every((l) => /^HOST=tcp:\/\/\S+:2376 CERTS=\/\S+\/\.tikv-cvm\/dev \|/.test(l))).toBe(true);
    });

    test("clientCommands: the client's exit status comes back, and the container is removed anyway", () => {
      const command = (run.outputs.clientCommands as Record<string, string>).app;
      const setup = run.outputs.certSetup as string;
      const r = shell(`${setup} && ${command} img`, { FAKE_START_RC: "3" });
      expect(r.status).toBe(3);
      const log = fs.readFileSync(path.join(scratch, "docker.log"), "utf8").trim().split("\n");
      expect(log[log.length - 1]).toContain("[rm] [-f] [c0ffee]");
    });
  },
);
