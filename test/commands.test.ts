// The command lines the stack prints (dockerCommands, pdCtlStores, pdCtlMembers, certSetup) and the
// README lines that run them. Oracles: shellcheck and sh parse each rendered line; bash runs each
// README line as written, with stand-ins for `pulumi` (prints the outputs) and `docker` (prints the
// environment and arguments it got), so a README line that cannot run the printed command (e.g.
// word-splitting `$(…)`, where `DOCKER_HOST=…` is taken for a command name) fails here.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { certDir, certSetupCommand, dockerEnv, dockerPsCommand, pdCtlCommand } from "../lib/commands";
import { describeWithTools } from "./support/tools";

const STACK = "dev";
const EIPS = ["198.51.100.11", "198.51.100.12", "198.51.100.13"];

/** Mode cvm's outputs, built as index.ts builds them. */
function cvmOutputs(): Record<string, string | string[]> {
  const envs = EIPS.map((ip) => dockerEnv(certDir(STACK), `tcp://${ip}:2376`));
  const pd = { dockerEnv: envs[0], pdContainer: "pd1", tls: true };
  return {
    dockerCommands: envs.map(dockerPsCommand),
    pdCtlMembers: pdCtlCommand(pd, "member"),
    pdCtlStores: pdCtlCommand(pd, "store"),
    certSetup: certSetupCommand(STACK, true),
  };
}

/** Mode local's: this machine's engine, plain `docker`. */
function localOutputs(): Record<string, string | string[]> {
  const pd = { dockerEnv: "", pdContainer: "tikv-local-pd1", tls: true };
  return { dockerCommands: [dockerPsCommand("")], pdCtlStores: pdCtlCommand(pd, "store") };
}

/** Mode existing's: the listed hosts, with the user's material copied by certSetup to the stack's directory. */
function existingOutputs(): Record<string, string | string[]> {
  const envs = ["192.0.2.11", "192.0.2.12", "192.0.2.13"].map((ip) => dockerEnv(certDir(STACK), `tcp://${ip}:2376`));
  return {
    dockerCommands: envs.map(dockerPsCommand),
    pdCtlStores: pdCtlCommand({ dockerEnv: envs[0], pdContainer: "pd1", tls: true }, "store"),
    certSetup: certSetupCommand(STACK, true, "config"),
  };
}

const commandLines = (outputs: Record<string, string | string[]>): [string, string][] =>
  Object.entries(outputs).flatMap(([name, v]) => (Array.isArray(v) ? v : [v]).map((c): [string, string] => [name, c]));

/** Every line of the README's `sh` blocks that runs a command the stack prints. */
function readmeUsageLines(): string[] {
  const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks
    .flatMap((b) => b.split("\n"))
    .filter((l) => /pulumi stack output\b.*\b(dockerCommands|pdCtlStores|pdCtlMembers|certSetup)\b/.test(l));
}

describeWithTools(["shellcheck", "jq", "bash"], "printed command lines", () => {
  test.each([...commandLines(cvmOutputs()), ...commandLines(localOutputs()), ...commandLines(existingOutputs())])(
    "%s parses as one POSIX sh command: %s",
    (_name, line) => {
      const parsed = spawnSync("sh", ["-n", "-c", line], { encoding: "utf8" });
      expect(parsed.stderr).toBe("");
      expect(parsed.status).toBe(0);
      const lint = spawnSync("shellcheck", ["-s", "sh", "-"], { input: `#!/bin/sh\n${line}\n`, encoding: "utf8" });
      expect(lint.stdout).toBe("");
      expect(lint.status).toBe(0);
    },
  );

  // Issue 22: the operator's shell keeps no DOCKER_* variable for these commands, and one left over
  // from elsewhere does not steer them: each command carries its own host and certificate directory.
  test.each([
    ["cvm", cvmOutputs(), "198.51.100.11"],
    ["existing", existingOutputs(), "192.0.2.11"],
  ])(
    "mode %s's commands name their own host and ~/.tikv-cvm/<stack>, whatever DOCKER_* the shell exports",
    (_m, outputs, ip) => {
      const stub = 'docker() { echo "$DOCKER_HOST $DOCKER_TLS_VERIFY $DOCKER_CERT_PATH $*"; }; ';
      const home = "/home/me";
      for (const env of [
        { PATH: process.env.PATH, HOME: home },
        {
          PATH: process.env.PATH,
          HOME: home,
          DOCKER_CERT_PATH: "/elsewhere",
          DOCKER_HOST: "tcp://203.0.113.9:2376",
          DOCKER_TLS_VERIFY: "",
        },
      ]) {
        const [line] = outputs.dockerCommands as string[];
        const result = spawnSync("sh", ["-c", stub + line], { encoding: "utf8", env });
        expect([result.status, result.stderr]).toEqual([0, ""]);
        expect(result.stdout.trim()).toBe(`tcp://${ip}:2376 1 ${home}/.tikv-cvm/${STACK} ps`);
      }
    },
  );

  test("mode existing's certSetup copies the user's material from the stack's secret config, the key 0600", () => {
    const setup = existingOutputs().certSetup as string;
    expect(setup).toContain(`pulumi config get --stack ${STACK} tikv-cvm:dockerCaPem > ~/.tikv-cvm/${STACK}/ca.pem`);
    expect(setup).toContain(
      `pulumi config get --stack ${STACK} tikv-cvm:dockerCertPem > ~/.tikv-cvm/${STACK}/cert.pem`,
    );
    expect(setup).toContain(
      `(umask 077 && rm -f ~/.tikv-cvm/${STACK}/key.pem && pulumi config get --stack ${STACK} tikv-cvm:dockerKeyPem > ~/.tikv-cvm/${STACK}/key.pem)`,
    );
    // The cluster admin's material is the stack's own, as in mode cvm.
    expect(setup).toContain(`--show-secrets clusterAdminKeyPem > ~/.tikv-cvm/${STACK}/cluster/key.pem`);
    expect(setup).not.toContain("clientKeyPem");
  });

  describe("the README's usage lines, run as written", () => {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "tikv-cvm-commands-"));
      const bin = path.join(dir, "bin");
      const out = path.join(dir, "outputs");
      fs.mkdirSync(bin);
      fs.mkdirSync(out);
      fs.mkdirSync(path.join(dir, "home"));
      for (const [name, value] of Object.entries(cvmOutputs())) {
        fs.writeFileSync(path.join(out, `${name}.txt`), `${Array.isArray(value) ? JSON.stringify(value) : value}\n`);
        fs.writeFileSync(path.join(out, `${name}.json`), `${JSON.stringify(value, null, 2)}\n`);
      }
      for (const pem of [
        "caCertPem",
        "clientCertPem",
        "clientKeyPem",
        "clusterCaCertPem",
        "clusterAdminCertPem",
        "clusterAdminKeyPem",
      ]) {
        fs.writeFileSync(path.join(out, `${pem}.txt`), `PEM ${pem}\n`);
      }
      // `pulumi stack output [--json] [--stack s] [--show-secrets] NAME`: the named output.
      fs.writeFileSync(
        path.join(bin, "pulumi"),
        [
          "#!/bin/sh",
          "json=0; name=",
          'for a in "$@"; do case "$a" in --json) json=1 ;; -*|stack|output) ;; *) name=$a ;; esac; done',
          `if [ "$json" = 1 ]; then cat "${out}/$name.json"; else cat "${out}/$name.txt"; fi`,
        ].join("\n"),
        { mode: 0o755 },
      );
      // `docker`: what it was asked, and where it was pointed.
      fs.writeFileSync(
        path.join(bin, "docker"),
        '#!/bin/sh\necho "docker host=$DOCKER_HOST verify=$DOCKER_TLS_VERIFY certs=$DOCKER_CERT_PATH args=$*"\n',
        { mode: 0o755 },
      );
      env = { PATH: `${bin}:${process.env.PATH}`, HOME: path.join(dir, "home") };
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = (line: string) => spawnSync("bash", ["-c", line], { env, encoding: "utf8" });
    const certs = () => path.join(env.HOME!, ".tikv-cvm", STACK);

    test("the README runs every printed command it documents", () => {
      const lines = readmeUsageLines().join("\n");
      for (const name of ["dockerCommands", "pdCtlStores", "certSetup"]) expect(lines).toContain(name);
    });

    test.each(readmeUsageLines())("%s", (line) => {
      const result = run(line);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      if (line.includes("dockerCommands") && line.startsWith("docker save ")) {
        // "Did it work?": the local image into host 1's engine, `docker load` in place of `docker ps`.
        expect(result.stdout).toBe(`docker host=tcp://${EIPS[0]}:2376 verify=1 certs=${certs()} args=load\n`);
      } else if (line.includes("dockerCommands")) {
        expect(result.stdout).toBe(`docker host=tcp://${EIPS[0]}:2376 verify=1 certs=${certs()} args=ps\n`);
      } else if (/pdCtl(Stores|Members)/.test(line)) {
        expect(result.stdout).toMatch(
          new RegExp(
            `^docker host=tcp://${EIPS[0].replace(/\./g, "\\.")}:2376 verify=1 certs=${certs()} ` +
              "args=exec pd1 /pd-ctl -u https://127.0.0.1:2379 --cacert \\S+ --cert \\S+ --key \\S+ (store|member)\\n$",
          ),
        );
      } else {
        for (const f of ["ca.pem", "cert.pem", "key.pem", "cluster/ca.pem", "cluster/cert.pem", "cluster/key.pem"]) {
          expect(fs.existsSync(path.join(certs(), f))).toBe(true);
        }
        expect(fs.statSync(path.join(certs(), "key.pem")).mode & 0o777).toBe(0o600);
        expect(fs.statSync(path.join(certs(), "cluster", "key.pem")).mode & 0o777).toBe(0o600);
      }
    });
  });
});
