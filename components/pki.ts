import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import {
  CA_VALIDITY_HOURS,
  CaRotation,
  expiryWarning,
  LEAF_EARLY_RENEWAL_HOURS,
  LEAF_VALIDITY_HOURS,
  caResourceName,
  trustedGenerations,
} from "../lib/certificates";
import { KeyPair } from "../lib/tlsMaterial";

/** Key usages use the provider's snake_case names; the camelCase in the typings is rejected at preview. */
export const CA_USES = ["cert_signing", "crl_signing", "digital_signature"];
export const SERVER_USES = ["digital_signature", "key_encipherment", "server_auth"];
export const CLIENT_USES = ["digital_signature", "key_encipherment", "client_auth"];

function ecdsaKey(name: string, parent: pulumi.Resource): tls.PrivateKey {
  // P256 explicitly: the provider's default curve is P224, which Go's TLS stack no longer accepts.
  return new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
}

export interface PkiArgs {
  /** Goes into every subject, so certificates of different stacks are told apart. */
  organization: string;
  /** Which CA generation issues, and which others are trusted during a rotation (lib/certificates.ts). */
  ca?: CaRotation;
}

/** A certificate a CA issued, its key (secret) and its NotBefore as the provider set it (RFC 3339). */
export type IssuedCertificate = KeyPair<pulumi.Output<string>> & {
  readonly validFrom: pulumi.Output<string>;
  /** NotAfter as the provider set it (RFC 3339). */
  readonly validTo: pulumi.Output<string>;
};

export interface LeafSpec {
  commonName: string;
  /** The subject's OU: which of several holders of one common name this is (application clients). */
  organizationalUnit?: string;
  ipAddresses?: pulumi.Input<pulumi.Input<string>[]>;
  dnsNames?: pulumi.Input<pulumi.Input<string>[]>;
  allowedUses: string[];
}

/**
 * A CA key and self-signed certificate, and the certificates it issues. Not a resource itself: its
 * resources are children of the component that owns it, so each trust domain sits in its own component.
 */
export class CertificateAuthority {
  public readonly certPem: pulumi.Output<string>;
  /** The CA certificate's NotBefore (RFC 3339): a root not yet valid is refused like a leaf. */
  public readonly validFrom: pulumi.Output<string>;
  private readonly key: tls.PrivateKey;

  constructor(name: string, subject: { commonName: string; organization: string }, parent: pulumi.Resource) {
    this.key = ecdsaKey(`${name}-key`, parent);
    const ca = new tls.SelfSignedCert(
      name,
      {
        privateKeyPem: this.key.privateKeyPem,
        isCaCertificate: true,
        allowedUses: CA_USES,
        subject,
        validityPeriodHours: CA_VALIDITY_HOURS,
      },
      { parent },
    );
    this.certPem = ca.certPem;
    this.validFrom = ca.validityStartTime;
  }

  /** Issues a certificate signed by this CA; the resources are children of `parent`. */
  public issue(name: string, organization: string, spec: LeafSpec, parent: pulumi.Resource): IssuedCertificate {
    const key = ecdsaKey(`${name}-key`, parent);
    const request = new tls.CertRequest(
      `${name}-csr`,
      {
        privateKeyPem: key.privateKeyPem,
        subject: {
          commonName: spec.commonName,
          organization,
          ...(spec.organizationalUnit ? { organizationalUnit: spec.organizationalUnit } : {}),
        },
        ipAddresses: spec.ipAddresses,
        dnsNames: spec.dnsNames,
      },
      { parent },
    );
    const cert = new tls.LocallySignedCert(
      `${name}-cert`,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: this.key.privateKeyPem,
        caCertPem: this.certPem,
        allowedUses: spec.allowedUses,
        validityPeriodHours: LEAF_VALIDITY_HOURS,
        // Replaced by the first refresh in its last days (only a refresh notices: pulumi-tls#39).
        earlyRenewalHours: LEAF_EARLY_RENEWAL_HOURS,
      },
      { parent },
    );
    // Every preview and up says when a leaf nears its end: the state holds validityEndTime even
    // for certificates this run does not touch.
    cert.validityEndTime.apply((validTo) => {
      const warning = validTo ? expiryWarning(`${name}-cert (CN ${spec.commonName})`, validTo, Date.now()) : undefined;
      if (warning) pulumi.log.warn(warning, cert);
    });
    // The provider marks private keys secret; wrapping states it here and holds under mocks too.
    return {
      certPem: cert.certPem,
      keyPem: pulumi.secret(key.privateKeyPem),
      validFrom: cert.validityStartTime,
      validTo: cert.validityEndTime,
    };
  }
}

/**
 * A trust domain's CAs during a rotation (lib/certificates.ts): one per trusted generation, the
 * issuing one first. Every party of the domain trusts the bundle; every certificate comes from the
 * issuing CA. A generation no longer trusted is no longer declared, so its CA is deleted.
 */
export class TrustedAuthorities {
  /** Every trusted CA certificate, the issuing one first. */
  public readonly certPem: pulumi.Output<string>;
  /** Every trusted CA certificate's NotBefore. */
  public readonly validFrom: pulumi.Output<string>[];
  private readonly issuing: CertificateAuthority;

  /** `name` and `commonName` are generation 1's, the names stacks were created with. */
  constructor(
    name: string,
    subject: { commonName: string; organization: string },
    rotation: CaRotation | undefined,
    parent: pulumi.Resource,
  ) {
    const cas = trustedGenerations(rotation ?? { generation: 1, rotation: "" }).map(
      (generation) =>
        new CertificateAuthority(
          caResourceName(name, generation),
          { ...subject, commonName: generation === 1 ? subject.commonName : `${subject.commonName} ${generation}` },
          parent,
        ),
    );
    this.issuing = cas[0];
    this.certPem = pulumi.all(cas.map((c) => c.certPem)).apply((pems) => pems.join(""));
    this.validFrom = cas.map((c) => c.validFrom);
  }

  public issue(name: string, organization: string, spec: LeafSpec, parent: pulumi.Resource): IssuedCertificate {
    return this.issuing.issue(name, organization, spec, parent);
  }
}

/**
 * The Docker trust domain: a CA that signs only the hosts' Docker server certificates and the
 * operator's Docker client certificate, the one credential that opens a host's Docker API (root
 * on that host). Every daemon.json trusts this CA alone; nothing in the cluster (PD, TiKV,
 * Prometheus, the rollout gates) holds a certificate from it. The cluster has its own CA
 * (components/clusterTls.ts).
 */
export class Pki extends pulumi.ComponentResource {
  /** The Docker CA; during a CA rotation both, the issuing one first. */
  public readonly caCertPem: pulumi.Output<string>;
  public readonly clientCertPem: pulumi.Output<string>;
  public readonly clientKeyPem: pulumi.Output<string>;
  /** The operator's Docker client certificate's NotAfter (RFC 3339). */
  public readonly clientValidTo: pulumi.Output<string>;
  private readonly ca: TrustedAuthorities;
  private readonly organization: string;

  constructor(name: string, args: PkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:pki:Pki", name, {}, opts);
    this.organization = args.organization;
    // Names and subject as before the trust domains were split: a new Docker CA would lock the
    // operator out of every running host, whose daemon.json was written once, at first boot.
    this.ca = new TrustedAuthorities(
      `${name}-ca`,
      { commonName: `${args.organization} CA`, organization: args.organization },
      args.ca,
      this,
    );
    this.caCertPem = this.ca.certPem;

    const client = this.issue(
      `${name}-operator`,
      {
        commonName: "operator",
        allowedUses: CLIENT_USES,
      },
      this,
    );
    this.clientCertPem = client.certPem;
    this.clientKeyPem = client.keyPem;
    this.clientValidTo = client.validTo;
    this.registerOutputs({ caCertPem: this.caCertPem, clientCertPem: this.clientCertPem });
  }

  /** Issues a Docker server certificate (or the operator's) from the Docker CA. */
  public issue(name: string, spec: LeafSpec, parent: pulumi.Resource): IssuedCertificate {
    return this.ca.issue(name, this.organization, spec, parent);
  }
}
