// The `certSetup` stack output, run for real by sh in a scratch HOME with a stand-in for the
// pulumi CLI: the files land where the docker CLI (and pd-ctl users) look for them, with the
// contents of the matching stack outputs, and the keys are readable by their owner only, whatever
// the operator's umask and whatever an earlier copy left behind.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProgramRun, runProgram } from "./support/harness";

/**
 * `pulumi stack output [--stack S] [--show-secrets] NAME` as pulumi v3.248 prints one output
 * (pkg/cmd/pulumi/stack/stack_output.go): the value and a newline, or `[secret]` for a secret
 * output without --show-secrets (stack_output_test.go). Outputs are files in $FAKE_OUTPUTS;
 * NAME.secret marks a secret one. Any other use fails loudly.
 */
const FAKE_PULUMI = `#!/bin/sh
[ "$1" = stack ] && [ "$2" = output ] || { echo "fake pulumi: unexpected command: $*" >&2; exit 2; }
shift 2
stack=""; show=0; name=""
while [ $# -gt 0 ]; do
  case "$1" in
    --stack) stack=$2; shift 2 ;;
    --stack=*) stack=\${1#--stack=}; shift ;;
    --show-secrets) show=1; shift ;;
    -*) echo "fake pulumi: unexpected flag $1" >&2; exit 2 ;;
    *) [ -z "$name" ] || { echo "fake pulumi: two output names" >&2; exit 2; }; name=$1; shift ;;
  esac
done
[ "$stack" = "$FAKE_STACK" ] || { echo "fake pulumi: stack '$stack' is not $FAKE_STACK" >&2; exit 2; }
[ -f "$FAKE_OUTPUTS/$name" ] || { echo "fake pulumi: no output $name" >&2; exit 2; }
if [ -f "$FAKE_OUTPUTS/$name.secret" ] && [ "$show" = 0 ]; then echo "[secret]"; else cat "$FAKE_OUTPUTS/$name"; echo; fi
`;

let run: ProgramRun;
let scratch: string;
beforeAll(async () => {
  run = await runProgram();
});
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "cert-setup-"));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Runs certSetup with sh under `umask`, HOME in the scratch dir; returns HOME. */
function runCertSetup(umask: string, before?: (home: string) => void): string {
  const home = path.join(scratch, "home");
  const bin = path.join(scratch, "bin");
  const outputs = path.join(scratch, "outputs");
  for (const d of [home, bin, outputs]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(bin, "pulumi"), FAKE_PULUMI, { mode: 0o755 });
  for (const [name, value] of Object.entries(run.outputs)) {
    if (typeof value !== "string") continue;
    fs.writeFileSync(path.join(outputs, name), value);
    if (run.secretOutputs.includes(name)) fs.writeFileSync(path.join(outputs, `${name}.secret`), "");
  }
  before?.(home);
  const command = run.outputs.certSetup;
  expect(typeof command).toBe("string");
  const result = spawnSync("sh", ["-c", `umask ${umask}; ${command as string}`], {
    encoding: "utf8",
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: home, FAKE_OUTPUTS: outputs, FAKE_STACK: "dev" },
  });
  expect([result.status, result.stderr]).toEqual([0, ""]);
  return home;
}

/** DOCKER_CERT_PATH from the dockerCommands output, with ~ as the scratch HOME. */
function dockerCertPath(home: string): string {
  const commands = run.outputs.dockerCommands as string[];
  const paths = new Set(commands.map((c) => /DOCKER_CERT_PATH=(\S+)/.exec(c)?.[1]));
  expect(paths.size).toBe(1);
  const [p] = [...paths];
  expect(p).toMatch(/^~\//);
  return path.join(home, p!.slice(2));
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const files = (dir: string) => fs.readdirSync(dir).sort();

test("a fresh copy: Docker's three files where DOCKER_CERT_PATH points, the cluster admin's beside them, keys 0600 in 0700 directories", () => {
  const home = runCertSetup("022");
  const dir = dockerCertPath(home);
  // docker/cli reads ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH (cli/flags/options.go).
  expect(files(dir)).toEqual(["ca.pem", "cert.pem", "cluster", "key.pem"]);
  expect(files(path.join(dir, "cluster"))).toEqual(["ca.pem", "cert.pem", "key.pem"]);
  const expected: [string, string][] = [
    ["ca.pem", "caCertPem"],
    ["cert.pem", "clientCertPem"],
    ["key.pem", "clientKeyPem"],
    ["cluster/ca.pem", "clusterCaCertPem"],
    ["cluster/cert.pem", "clusterAdminCertPem"],
    ["cluster/key.pem", "clusterAdminKeyPem"],
  ];
  for (const [file, output] of expected) {
    // What `pulumi stack output` prints: the value, a newline.
    expect([file, fs.readFileSync(path.join(dir, file), "utf8")]).toEqual([file, `${run.outputs[output] as string}\n`]);
  }
  for (const key of ["key.pem", "cluster/key.pem"]) expect([key, mode(path.join(dir, key))]).toEqual([key, 0o600]);
  for (const d of [dir, path.join(dir, "cluster")]) expect([d, mode(d)]).toEqual([d, 0o700]);
});

test("over an earlier copy made world-readable, keys and directories are closed again", () => {
  const home = runCertSetup("022", (h) => {
    // As a copy made by hand under umask 022 would be.
    const dir = path.join(h, ".tikv-cvm", "dev");
    fs.mkdirSync(path.join(dir, "cluster"), { recursive: true, mode: 0o755 });
    for (const f of ["key.pem", "cluster/key.pem"]) fs.writeFileSync(path.join(dir, f), "old key\n", { mode: 0o644 });
    for (const d of [dir, path.join(dir, "cluster")]) fs.chmodSync(d, 0o755);
    for (const f of ["key.pem", "cluster/key.pem"]) fs.chmodSync(path.join(dir, f), 0o644);
  });
  const dir = dockerCertPath(home);
  expect(dir).toBe(path.join(home, ".tikv-cvm", "dev"));
  for (const key of ["key.pem", "cluster/key.pem"]) {
    expect([key, mode(path.join(dir, key))]).toEqual([key, 0o600]);
    expect(fs.readFileSync(path.join(dir, key), "utf8")).not.toContain("old key");
  }
  for (const d of [dir, path.join(dir, "cluster")]) expect([d, mode(d)]).toEqual([d, 0o700]);
});
