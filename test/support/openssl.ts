// Real X.509 material made with openssl from the same spec the program hands to @pulumi/tls.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface CertSpec {
  commonName: string;
  /** @pulumi/tls key usages, snake_case, e.g. server_auth. */
  allowedUses: string[];
  ipAddresses?: string[];
  dnsNames?: string[];
  isCa?: boolean;
  /** Valid for one day in 2020: long expired. */
  expired?: boolean;
  /** An explicit validity window (signed certificates only), e.g. one that starts in the future. */
  validity?: { readonly from: Date; readonly to: Date };
  /** From the program's tls.PrivateKey inputs. */
  algorithm: "ECDSA" | "RSA";
  ecdsaCurve?: "P224" | "P256" | "P384" | "P521";
}

export interface Issued {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const KEY_USAGE: Record<string, string> = {
  digital_signature: "digitalSignature",
  key_encipherment: "keyEncipherment",
  cert_signing: "keyCertSign",
  crl_signing: "cRLSign",
};
const EXT_KEY_USAGE: Record<string, string> = { server_auth: "serverAuth", client_auth: "clientAuth" };
const CURVES: Record<string, string> = { P224: "secp224r1", P256: "prime256v1", P384: "secp384r1", P521: "secp521r1" };

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
}

/** Extension config lines for the spec; unknown usages fail loudly so the mapping stays complete. */
export function extensionsFor(spec: CertSpec): string {
  const ku = spec.allowedUses.filter((u) => KEY_USAGE[u]).map((u) => KEY_USAGE[u]);
  const eku = spec.allowedUses.filter((u) => EXT_KEY_USAGE[u]).map((u) => EXT_KEY_USAGE[u]);
  const unknown = spec.allowedUses.filter((u) => !KEY_USAGE[u] && !EXT_KEY_USAGE[u]);
  if (unknown.length > 0) throw new Error(`no openssl mapping for allowed uses ${unknown.join(", ")}`);
  const sans = [...(spec.ipAddresses ?? []).map((ip) => `IP:${ip}`), ...(spec.dnsNames ?? []).map((d) => `DNS:${d}`)];
  return (
    [
      `basicConstraints = critical, CA:${spec.isCa ? "TRUE" : "FALSE"}`,
      ku.length ? `keyUsage = critical, ${ku.join(", ")}` : "",
      eku.length ? `extendedKeyUsage = ${eku.join(", ")}` : "",
      sans.length ? `subjectAltName = ${sans.join(", ")}` : "",
      "subjectKeyIdentifier = hash",
    ]
      .filter(Boolean)
      .join("\n") + "\n"
  );
}

/** openssl ca's date form, YYYYMMDDHHMMSSZ. */
function opensslDate(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

/** Issues a certificate in `dir` named `name`; self-signed when no signer is given. */
export function issue(dir: string, name: string, spec: CertSpec, signer?: Issued): Issued {
  const keyPath = path.join(dir, `${name}-key.pem`);
  const certPath = path.join(dir, `${name}-cert.pem`);
  const extPath = path.join(dir, `${name}.ext`);
  if (spec.algorithm === "ECDSA") {
    openssl(
      [
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        `ec_paramgen_curve:${CURVES[spec.ecdsaCurve ?? "P224"]}`,
        "-out",
        keyPath,
      ],
      dir,
    );
  } else {
    openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyPath], dir);
  }
  fs.writeFileSync(extPath, extensionsFor(spec));
  const csrPath = path.join(dir, `${name}.csr`);
  openssl(["req", "-new", "-key", keyPath, "-subj", `/O=tikv-cvm test/CN=${spec.commonName}`, "-out", csrPath], dir);
  const validity =
    spec.validity ??
    (spec.expired ? { from: new Date("2020-01-01T00:00:00Z"), to: new Date("2020-01-02T00:00:00Z") } : undefined);
  if (validity && signer) {
    // `openssl x509` (3.0) cannot backdate; `openssl ca` takes explicit start and end dates.
    const db = path.join(dir, `${name}-ca-db`);
    fs.mkdirSync(db);
    fs.writeFileSync(path.join(db, "index"), "");
    fs.writeFileSync(path.join(db, "serial"), "01\n");
    const config = path.join(dir, `${name}-ca.cnf`);
    fs.writeFileSync(
      config,
      [
        "[ca]",
        "default_ca = c",
        "[c]",
        `database = ${db}/index`,
        `serial = ${db}/serial`,
        `new_certs_dir = ${db}`,
        "default_md = sha256",
        "policy = p",
        "unique_subject = no",
        "[p]",
        "commonName = supplied",
        "organizationName = optional",
        "",
      ].join("\n"),
    );
    openssl(
      [
        "ca",
        "-batch",
        "-config",
        config,
        "-cert",
        signer.certPath,
        "-keyfile",
        signer.keyPath,
        "-in",
        csrPath,
        "-out",
        certPath,
        "-startdate",
        opensslDate(validity.from),
        "-enddate",
        opensslDate(validity.to),
        "-extfile",
        extPath,
        "-notext",
      ],
      dir,
    );
    return { certPath, keyPath, certPem: fs.readFileSync(certPath, "utf8"), keyPem: fs.readFileSync(keyPath, "utf8") };
  }
  const signing = signer
    ? ["-CA", signer.certPath, "-CAkey", signer.keyPath, "-CAcreateserial"]
    : ["-signkey", keyPath];
  openssl(
    ["x509", "-req", "-in", csrPath, ...signing, "-days", "2", "-sha256", "-extfile", extPath, "-out", certPath],
    dir,
  );
  return { certPath, keyPath, certPem: fs.readFileSync(certPath, "utf8"), keyPem: fs.readFileSync(keyPath, "utf8") };
}
