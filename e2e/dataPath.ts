// Issue 19: the data path, proven by a real TiKV client. The stack's clientCommands output runs
// the client image (client/, on github.com/tikv/client-go/v2) inside the cluster's network with
// the client's certificate, as a user runs it; keys written before a day-2 step are read back
// after it; certificates the stores must not admit are refused by the stores themselves; the
// workload runs for a few seconds and its figures are kept in a file.
import * as fs from "fs";
import * as path from "path";
import { PORTS } from "../lib/topology";
import { E2EStack } from "./stack";
import { CACHE_DIR, assert, assertEqual, log, run } from "./util";

/** The e2e stacks' one application client (config `clients`). */
export const CLIENT = "e2e-app";
/** The client image made from client/ (e2e/images.ts ensureClientImage). */
export const CLIENT_IMAGE = "tikv-cvm-client:e2e";
/** Keys written per checked set. */
const KEYS = 40;

export class DataPath {
  /** `keepDockerEnv`: mode local's printed commands use the shell's DOCKER_HOST on purpose. */
  constructor(
    private readonly stack: E2EStack,
    private readonly keepDockerEnv = false,
  ) {}

  private async command(client = CLIENT): Promise<string> {
    const outputs = await this.stack.outputs();
    const commands = outputs.clientCommands as Record<string, string> | undefined;
    const command = commands?.[CLIENT];
    assert(typeof command === "string", `${this.stack.name} prints clientCommands.${CLIENT}`);
    // Another client's material through the same command (only the directory differs).
    return client === CLIENT ? command : command.replace(`/clients/${CLIENT}/.`, `/clients/${client}/.`);
  }

  /**
   * Runs the client image with args through clientCommands; returns its output, throws on failure.
   * certSetup first, as after any deployment that may have renewed the client's certificate (a CA
   * rotation does).
   */
  async run(args: string[], client = CLIENT): Promise<string> {
    await this.stack.certSetup();
    const r = this.stack.printedResult(
      `${await this.command(client)} ${CLIENT_IMAGE} ${args.join(" ")}`,
      this.keepDockerEnv,
    );
    if (r.status !== 0)
      throw new Error(`client ${args[0]} through clientCommands failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** The README's "Did it work?": put, get, scan, delete. */
  async smoke(figures: Record<string, string | number>, label: string): Promise<void> {
    const started = Date.now();
    const out = await this.run(["smoke", "--keys", "20", "--tag", `smoke-${Date.now()}`]);
    assert(out.includes("OK: RawKV put, get, scan and delete over mutual TLS"), `smoke output:\n${out}`);
    figures[`${label}: smoke check (s)`] = ((Date.now() - started) / 1000).toFixed(1);
    log(`${label}: smoke check passed:\n${out.trim()}`);
  }

  /** Writes a tagged key set (and reads it back at once). */
  async write(tag: string): Promise<void> {
    const out = await this.run(["write", "--keys", String(KEYS), "--tag", tag]);
    assert(out.includes(`put     ${KEYS} keys`), `write output:\n${out}`);
    log(`wrote ${KEYS} keys tagged ${tag} through client-go`);
  }

  /** Reads a tagged key set back, by get and by scan, with every value as written. */
  async check(tag: string, after: string): Promise<void> {
    const out = await this.run(["check", "--keys", String(KEYS), "--tag", tag]);
    assert(out.includes(`OK: key set ${tag} intact`), `check output after ${after}:\n${out}`);
    log(`read back ${KEYS} keys tagged ${tag} after ${after}`);
  }

  /**
   * Certificates the stores must refuse, sent straight to every store (the client's probe): one
   * from the Docker CA (the operator's), and one from the cluster CA with a name not admitted.
   * The client's own certificate is answered by the same probe, so the refusals are the names.
   */
  async refusals(stores: string[], figures: Record<string, string | number>, label: string): Promise<void> {
    const base = path.join(this.stack.home, ".tikv-cvm", this.stack.name);
    const own = path.join(base, "clients", CLIENT);
    const probe = (client: string) =>
      this.command(client).then((c) =>
        this.stack.printedResult(`${c} ${CLIENT_IMAGE} probe ${stores.join(" ")}`, this.keepDockerEnv),
      );
    const answered = await probe(CLIENT);
    assertEqual(answered.status, 0, `the client's own certificate, straight to the stores:\n${answered.stdout}`);

    // What the client's certificate opens of PD (client/pdprobe.go), through every member's gateway:
    // GetMembers answered with the gateways' URLs, a store's call and PD's HTTP API refused by the
    // gateway, and PD itself refusing the certificate on its own port.
    const pd = this.stack.printedResult(
      `${await this.command(CLIENT)} ${CLIENT_IMAGE} pd-probe --pd-port ${PORTS.pdClient}`,
      this.keepDockerEnv,
    );
    const expected = pd.stdout.split("\n").filter((l) => l.startsWith("as expected: "));
    assertEqual(pd.status, 0, `pd-probe through the gateways:\n${pd.stdout}${pd.stderr}`);
    assert(expected.length >= 4 && expected.length % 4 === 0, `pd-probe checked every gateway:\n${pd.stdout}`);
    log(`PD through its gateways (${expected.length / 4}): a client's calls only; PD itself refuses the certificate`);
    for (const line of expected.slice(0, 4)) log(`  ${line}`);

    // The operator's Docker client certificate, beside the cluster CA so only the stores' check decides.
    const docker = path.join(base, "clients", "e2e-docker-ca");
    fs.mkdirSync(docker, { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(own, "ca.pem"), path.join(docker, "ca.pem"));
    fs.copyFileSync(path.join(base, "cert.pem"), path.join(docker, "cert.pem"));
    fs.copyFileSync(path.join(base, "key.pem"), path.join(docker, "key.pem"));

    // A certificate the cluster CA signed for a name PD and TiKV do not admit.
    const stranger = path.join(base, "clients", "e2e-stranger");
    fs.mkdirSync(stranger, { recursive: true, mode: 0o700 });
    const caKey = this.clusterCaKey();
    const caKeyFile = path.join(stranger, "ca-key.pem");
    fs.writeFileSync(caKeyFile, caKey, { mode: 0o600 });
    fs.copyFileSync(path.join(own, "ca.pem"), path.join(stranger, "ca.pem"));
    run("openssl", ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", path.join(stranger, "key.pem")]);
    run("openssl", [
      "req",
      "-new",
      "-key",
      path.join(stranger, "key.pem"),
      "-subj",
      "/O=tikv-cvm e2e/CN=tikv-cvm-stranger",
      "-out",
      path.join(stranger, "csr.pem"),
    ]);
    const ext = path.join(stranger, "ext.cnf");
    fs.writeFileSync(ext, "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n");
    run("openssl", [
      "x509",
      "-req",
      "-in",
      path.join(stranger, "csr.pem"),
      "-CA",
      path.join(stranger, "ca.pem"),
      "-CAkey",
      caKeyFile,
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      ext,
      "-out",
      path.join(stranger, "cert.pem"),
    ]);
    for (const f of ["ca-key.pem", "csr.pem", "ext.cnf", "ca.srl"]) fs.rmSync(path.join(stranger, f), { force: true });

    for (const [client, what] of [
      ["e2e-docker-ca", "a certificate from the Docker CA"],
      ["e2e-stranger", "a cluster-CA certificate with a name not admitted"],
    ] as const) {
      const r = await probe(client);
      // 3: every store refused it (client/probe.go).
      assertEqual(r.status, 3, `${what}, straight to every store: exit ${r.status}\n${r.stdout}${r.stderr}`);
      const refusedLines = r.stdout.split("\n").filter((l) => l.includes(" refused: "));
      assertEqual(refusedLines.length, stores.length, `every store refused ${what}`);
      // Through PD too: the client gets nowhere.
      const viaPd = this.stack.printedResult(
        `${await this.command(client)} ${CLIENT_IMAGE} --connect-timeout 5s check --keys 1 --tag none`,
        this.keepDockerEnv,
      );
      assert(viaPd.status !== 0, `${what} was answered through PD:\n${viaPd.stdout}`);
      log(
        `${what}: refused by ${stores.length} stores (${refusedLines[0]?.replace(/^store \S+ refused: /, "").slice(0, 120)})`,
      );
    }
    figures[`${label}: refused certificates`] = "Docker CA, unadmitted name (every store, and PD)";
    figures[`${label}: client certificate at PD`] =
      "gateways: GetMembers rewritten, AllocID and HTTP API refused; PD itself: refused";
  }

  /** The cluster CA's key from the stack's state, as `pulumi stack export --show-secrets` prints it. */
  private clusterCaKey(): string {
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.stack.envVars };
    const state = JSON.parse(
      run("pulumi", ["stack", "export", "--show-secrets", "--stack", this.stack.name], {
        env,
        cwd: path.join(__dirname, "..", "..", ".."),
      }).stdout,
    ) as { deployment: { resources?: { urn: string; outputs?: Record<string, unknown> }[] } };
    const res = (state.deployment.resources ?? []).find((r) =>
      r.urn.endsWith(`::tikv-${this.stack.name}-cluster-tls-ca-key`),
    );
    let pem = res?.outputs?.privateKeyPem as unknown;
    if (pem && typeof pem === "object" && "plaintext" in pem)
      pem = JSON.parse(String((pem as { plaintext: string }).plaintext));
    assert(typeof pem === "string" && pem.includes("PRIVATE KEY"), "the cluster CA key in the exported state");
    return pem;
  }

  /** A short YCSB-style run; its figures go into the report and a file. */
  async workload(figures: Record<string, string | number>, label: string, seconds = 5): Promise<void> {
    const out = await this.run(["bench", "--duration", `${seconds}s`, "--records", "500", "--threads", "4"]);
    const line = out.split("\n").find((l) => l.startsWith("RESULT "));
    assert(line, `the workload printed its figures:\n${out}`);
    const result = JSON.parse(line.slice("RESULT ".length)) as {
      ops_per_sec: number;
      errors: number;
      ops: number;
      latency_ms: Record<string, { p50: number; p99: number }>;
    };
    assertEqual(result.errors, 0, "workload errors");
    assert(result.ops > 0, "the workload ran operations");
    const file = path.join(CACHE_DIR, "run", `workload-${this.stack.name}.txt`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, out);
    const lat = (op: string) =>
      result.latency_ms[op] ? `${op} p50 ${result.latency_ms[op].p50} ms, p99 ${result.latency_ms[op].p99} ms` : "";
    figures[`${label}: workload (${seconds} s, 4 threads, raw 50/50)`] =
      `${result.ops_per_sec.toFixed(0)} ops/s; ${lat("read")}; ${lat("update")} (${file})`;
    log(`${label}: workload:\n${out.trim()}`);
  }
}
