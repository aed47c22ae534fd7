// What the program renders for a CVM, read from one evaluation under mocks in mode cvm (run in a
// process of its own, like bench/evaluate.ts): the daemon.json cloud-init writes, and the
// specs (key algorithm and curve, subject, key usages) of the Docker CA, a Docker server
// certificate and the operator's client certificate. The test hosts are made from these, so
// they are shaped as the program's CVMs are. Prints JSON (a RenderedSpecs) on stdout.
// Usage: node bin/e2e/e2e/render.js
import * as path from "path";
import { parse } from "yaml";
import { mockState, resetMockState, FAKE_IMAGE_ID } from "../test/support/mocks";
import type { CertSpec } from "../test/support/openssl";
import { unwrap } from "../test/support/secrets";

export interface RenderedSpecs {
  /** /etc/docker/daemon.json from host 1's cloud-config. */
  readonly daemonJson: Record<string, unknown>;
  readonly ca: CertSpec;
  /** Host 1's Docker server certificate; its addresses are the mocks', to be replaced. */
  readonly server: CertSpec;
  readonly client: CertSpec;
}

interface Registration {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

async function main(): Promise<void> {
  process.env.TENCENTCLOUD_SECRET_ID = "e2e";
  process.env.TENCENTCLOUD_SECRET_KEY = "e2e";
  const pulumi = await import("@pulumi/pulumi");
  resetMockState();
  const registered: Registration[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const state =
          args.type === "pulumi:pulumi:StackReference"
            ? { ...args.inputs, outputs: {} }
            : mockState(args.type, args.name, args.inputs);
        registered.push({ type: args.type, name: args.name, inputs: unwrap(args.inputs) as Record<string, unknown> });
        return { id: `${args.name}-id`, state };
      },
      call: () => ({
        images: [{ imageId: FAKE_IMAGE_ID, imageName: "Ubuntu Server 22.04 LTS 64bit", createdTime: "2026-01-01" }],
      }),
    },
    "tikv-cvm",
    "e2e",
    false,
    "organization",
  );
  pulumi.runtime.setAllConfig({
    "tencentcloud:region": "ap-guangzhou",
    "tikv-cvm:availabilityZone": "ap-guangzhou-3",
    "tikv-cvm:operatorCidrs": JSON.stringify(["5.6.7.0/28"]),
  });
  // index.ts exports the program as an async function returning the stack's outputs.
  const loaded = (await import(path.join(__dirname, "..", "index"))) as {
    default: () => Promise<Record<string, unknown>>;
  };
  const program = await loaded.default();
  for (const value of Object.values(program)) {
    const output = pulumi.output(value) as unknown as { apply(f: (v: unknown) => void): void };
    await new Promise<void>((resolve) => output.apply(() => resolve()));
  }
  await pulumi.runtime.disconnect();

  const one = (predicate: (r: Registration) => boolean, what: string): Registration => {
    const found = registered.filter(predicate);
    if (found.length !== 1)
      throw new Error(`expected one ${what}, found ${found.map((r) => r.name).join(", ") || "none"}`);
    return found[0];
  };
  const instance = registered.find((r) => r.type.startsWith("tencentcloud:") && r.name.endsWith("-1-cvm"));
  if (!instance) throw new Error("no CVM for host 1");
  const cloudConfig = parse(Buffer.from(String(instance.inputs.userData), "base64").toString("utf8")) as {
    write_files: { path: string; content: string }[];
  };
  const daemonFile = cloudConfig.write_files.find((f) => f.path === "/etc/docker/daemon.json");
  if (!daemonFile) throw new Error("host 1's cloud-config writes no /etc/docker/daemon.json");

  // A leaf: the CSR's subject and SANs, the signed certificate's uses, the key's algorithm.
  const leaf = (certName: string): CertSpec => {
    const prefix = certName.replace(/-cert$/, "");
    const csr = one((r) => r.name === `${prefix}-csr`, `${prefix}-csr`).inputs;
    const cert = one((r) => r.name === certName, certName).inputs;
    const key = one((r) => r.name === `${prefix}-key`, `${prefix}-key`).inputs;
    return {
      commonName: (csr.subject as { commonName: string }).commonName,
      allowedUses: cert.allowedUses as string[],
      ipAddresses: csr.ipAddresses as string[] | undefined,
      dnsNames: csr.dnsNames as string[] | undefined,
      algorithm: key.algorithm as CertSpec["algorithm"],
      ecdsaCurve: key.ecdsaCurve as CertSpec["ecdsaCurve"],
    };
  };
  const serverCert = one(
    (r) => r.type === "tls:index/locallySignedCert:LocallySignedCert" && /-1-docker-server-cert$/.test(r.name),
    "host 1's Docker server certificate",
  );
  const clientCert = one(
    (r) => r.type === "tls:index/locallySignedCert:LocallySignedCert" && /-operator-cert$/.test(r.name),
    "the operator's certificate",
  );
  // The Docker CA: the one beside the operator's certificate, in the Pki component
  // (<pki>-ca, <pki>-ca-key, <pki>-operator-*); the cluster CA lives elsewhere.
  const pkiPrefix = clientCert.name.replace(/-operator-cert$/, "");
  const ca = one(
    (r) => r.type === "tls:index/selfSignedCert:SelfSignedCert" && r.name === `${pkiPrefix}-ca`,
    "the Docker CA",
  );
  const caKey = one(
    (r) => r.type === "tls:index/privateKey:PrivateKey" && r.name === `${pkiPrefix}-ca-key`,
    "the Docker CA's key",
  ).inputs;
  const specs: RenderedSpecs = {
    daemonJson: JSON.parse(daemonFile.content) as Record<string, unknown>,
    ca: {
      commonName: (ca.inputs.subject as { commonName: string }).commonName,
      allowedUses: ca.inputs.allowedUses as string[],
      isCa: ca.inputs.isCaCertificate as boolean,
      algorithm: caKey.algorithm as CertSpec["algorithm"],
      ecdsaCurve: caKey.ecdsaCurve as CertSpec["ecdsaCurve"],
    },
    server: leaf(serverCert.name),
    client: leaf(clientCert.name),
  };
  process.stdout.write(JSON.stringify(specs));
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
