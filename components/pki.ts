import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/** Key usages use the provider's snake_case names; the camelCase in the typings is rejected at preview. */
export const CA_USES = ["cert_signing", "crl_signing", "digital_signature"];
export const SERVER_USES = ["digital_signature", "key_encipherment", "server_auth"];
export const CLIENT_USES = ["digital_signature", "key_encipherment", "client_auth"];

/**
 * Validity is long and fixed on purpose: @pulumi/tls renews only on refresh (pulumi-tls#39) and a
 * renewed server certificate only reaches a host by replacing it. Rotation is a deliberate
 * `pulumi up --replace`, described in the README.
 */
const CA_VALIDITY_HOURS = 10 * 365 * 24;
const LEAF_VALIDITY_HOURS = 5 * 365 * 24;

function ecdsaKey(name: string, parent: pulumi.Resource): tls.PrivateKey {
  // P256 explicitly: the provider's default curve is P224, which Go's TLS stack no longer accepts.
  return new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
}

export interface PkiArgs {
  /** Goes into every subject, so certificates of different stacks are told apart. */
  organization: string;
}

export interface IssuedCertificate {
  readonly certPem: pulumi.Output<string>;
  readonly keyPem: pulumi.Output<string>;
}

export interface LeafSpec {
  commonName: string;
  ipAddresses?: pulumi.Input<pulumi.Input<string>[]>;
  dnsNames?: pulumi.Input<pulumi.Input<string>[]>;
  allowedUses: string[];
}

/** The stack's certificate authority and the operator's Docker client certificate. */
export class Pki extends pulumi.ComponentResource {
  public readonly caCertPem: pulumi.Output<string>;
  public readonly clientCertPem: pulumi.Output<string>;
  public readonly clientKeyPem: pulumi.Output<string>;
  private readonly caKey: tls.PrivateKey;
  private readonly organization: string;

  constructor(name: string, args: PkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:pki:Pki", name, {}, opts);
    this.organization = args.organization;
    this.caKey = ecdsaKey(`${name}-ca-key`, this);
    const ca = new tls.SelfSignedCert(`${name}-ca`, {
      privateKeyPem: this.caKey.privateKeyPem,
      isCaCertificate: true,
      allowedUses: CA_USES,
      subject: { commonName: `${args.organization} CA`, organization: args.organization },
      validityPeriodHours: CA_VALIDITY_HOURS,
    }, { parent: this });
    this.caCertPem = ca.certPem;

    const client = this.issue(`${name}-operator`, {
      commonName: "operator",
      allowedUses: CLIENT_USES,
    }, this);
    this.clientCertPem = client.certPem;
    this.clientKeyPem = client.keyPem;
    this.registerOutputs({ caCertPem: this.caCertPem, clientCertPem: this.clientCertPem });
  }

  /** Issues a certificate signed by this CA; the resources are children of `parent`. */
  public issue(name: string, spec: LeafSpec, parent: pulumi.Resource): IssuedCertificate {
    const key = ecdsaKey(`${name}-key`, parent);
    const request = new tls.CertRequest(`${name}-csr`, {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: spec.commonName, organization: this.organization },
      ipAddresses: spec.ipAddresses,
      dnsNames: spec.dnsNames,
    }, { parent });
    const cert = new tls.LocallySignedCert(`${name}-cert`, {
      certRequestPem: request.certRequestPem,
      caPrivateKeyPem: this.caKey.privateKeyPem,
      caCertPem: this.caCertPem,
      allowedUses: spec.allowedUses,
      validityPeriodHours: LEAF_VALIDITY_HOURS,
    }, { parent });
    // The provider marks private keys secret; wrapping states it here and holds under mocks too.
    return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
  }
}
