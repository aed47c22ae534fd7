// Reads what the program renders for real systems out of a mock run.
import { parse } from "yaml";
import { CloudConfig } from "../../lib/cloudInit";
import { ProgramRun, byName, unwrap } from "./harness";
import { CertSpec } from "./openssl";

export interface RenderedHost {
  readonly name: string;
  readonly cloudConfigText: string;
  readonly cloudConfig: CloudConfig;
}

export function renderedHosts(run: ProgramRun): RenderedHost[] {
  return run.resources
    .filter(
      (r) => r.type === "tencentcloud:index/instance:Instance" || r.type === "tencentcloud:Instance/instance:Instance",
    )
    .map((instance) => {
      const text = Buffer.from(unwrap(instance.inputs.userData) as string, "base64").toString("utf8");
      return { name: instance.name, cloudConfigText: text, cloudConfig: parse(text) as CloudConfig };
    });
}

export function writtenFile(config: CloudConfig, path: string): string {
  const file = config.write_files.find((f) => f.path === path);
  if (!file) throw new Error(`no ${path} in write_files`);
  return file.content;
}

/** The spec the program gives @pulumi/tls for a key + certificate pair, by resource name prefix. */
export function certSpec(run: ProgramRun, prefix: string, kind: "ca" | "leaf"): CertSpec {
  const key = byName(run, `${prefix}-key`).inputs;
  const algorithm = key.algorithm as CertSpec["algorithm"];
  const ecdsaCurve = key.ecdsaCurve as CertSpec["ecdsaCurve"];
  if (kind === "ca") {
    const ca = byName(run, prefix).inputs;
    return {
      commonName: (ca.subject as { commonName: string }).commonName,
      allowedUses: ca.allowedUses as string[],
      isCa: ca.isCaCertificate as boolean,
      algorithm,
      ecdsaCurve,
    };
  }
  const csr = byName(run, `${prefix}-csr`).inputs;
  const cert = byName(run, `${prefix}-cert`).inputs;
  return {
    commonName: (csr.subject as { commonName: string }).commonName,
    allowedUses: cert.allowedUses as string[],
    ipAddresses: csr.ipAddresses as string[] | undefined,
    dnsNames: csr.dnsNames as string[] | undefined,
    algorithm,
    ecdsaCurve,
  };
}
