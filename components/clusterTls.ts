import * as pulumi from "@pulumi/pulumi";
import { CLUSTER_CN } from "../lib/clusterConfig";
import { CaRotation } from "../lib/certificates";
import { latestTime } from "../lib/hostClock";
import { HostPlan } from "../lib/topology";
import { CLIENT_USES, IssuedCertificate, SERVER_USES, TrustedAuthorities } from "./pki";

/** A component certificate is both: each component serves and dials the others. */
export const COMPONENT_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];

export interface ClusterTlsArgs {
  /** Goes into every subject, so certificates of different stacks are told apart. */
  organization: string;
  hosts: readonly { plan: HostPlan; operatorAddress: pulumi.Input<string> }[];
  /** Issue a client certificate for Prometheus too. */
  monitoring: boolean;
  /** Issue a server certificate for Grafana's HTTPS, naming this address (the first host's). */
  grafanaAddress?: pulumi.Input<string>;
  /** Which CA generation issues, and which others are trusted during a rotation (lib/certificates.ts). */
  ca?: CaRotation;
  /** Application clients (config `clients`): one client certificate each. */
  clients?: readonly string[];
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The cluster trust domain: its own CA, separate from the Docker CA (components/pki.ts), so no
 * certificate here opens a Docker API. It issues per host one certificate that PD and TiKV on it
 * both use (naming every address a peer or the operator dials), as does PD's client gateway there,
 * Prometheus's client certificate, the cluster admin's (rollout gates and pd-ctl from the
 * operator's machine), one per application client (admitted by TiKV and the gateways, not PD) and,
 * when Grafana is public, Grafana's server certificate. Subjects carry fixed common names
 * (`cert-allowed-cn`, lib/clusterConfig.ts), so scaling out changes no member's configuration.
 */
export class ClusterTls extends pulumi.ComponentResource {
  public readonly caCertPem: pulumi.Output<string>;
  public readonly hostCerts: IssuedCertificate[];
  public readonly adminCert: IssuedCertificate;
  public readonly monitoringCert?: IssuedCertificate;
  public readonly grafanaCert?: IssuedCertificate;
  /** By client name: its certificate (common name tikv-cvm-client, its name as OU) and key. */
  public readonly clientCerts: Readonly<Record<string, IssuedCertificate>>;
  /**
   * The latest NotBefore of every certificate here, CAs included (lib/hostClock.ts): hosts wait for
   * their clocks to pass it before their members start with these certificates.
   */
  public readonly notBefore: pulumi.Output<string>;

  constructor(name: string, args: ClusterTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:pki:ClusterTls", name, {}, opts);
    const org = args.organization;
    const ca = new TrustedAuthorities(
      `${name}-ca`,
      { commonName: `${org} cluster CA`, organization: org },
      args.ca,
      this,
    );
    this.caCertPem = ca.certPem;
    this.hostCerts = args.hosts.map(({ plan, operatorAddress }) => {
      const operator = pulumi.output(operatorAddress);
      const names = [plan.name, "localhost", plan.tikvName, ...(plan.pdName ? [plan.pdName] : [])];
      return ca.issue(
        `${name}-${plan.tikvName}`,
        org,
        {
          commonName: CLUSTER_CN.member,
          ipAddresses: operator.apply((a) => [
            ...new Set(["127.0.0.1", ...(plan.privateIp ? [plan.privateIp] : []), ...(IPV4.test(a) ? [a] : [])]),
          ]),
          dnsNames: operator.apply((a) => [...new Set([...names, ...(IPV4.test(a) ? [] : [a])])]),
          allowedUses: COMPONENT_USES,
        },
        this,
      );
    });
    this.adminCert = ca.issue(`${name}-admin`, org, { commonName: CLUSTER_CN.admin, allowedUses: CLIENT_USES }, this);
    if (args.monitoring) {
      this.monitoringCert = ca.issue(
        `${name}-prometheus`,
        org,
        { commonName: CLUSTER_CN.prometheus, allowedUses: CLIENT_USES },
        this,
      );
    }
    // Client only, and named by resource after the client: adding or removing one touches no other
    // certificate and no member (their allowed names are fixed: lib/clusterConfig.ts CLUSTER_CN.client).
    this.clientCerts = Object.fromEntries(
      (args.clients ?? []).map((client) => [
        client,
        ca.issue(
          `${name}-client-${client}`,
          org,
          { commonName: CLUSTER_CN.client, organizationalUnit: client, allowedUses: CLIENT_USES },
          this,
        ),
      ]),
    );
    if (args.grafanaAddress !== undefined) {
      const address = pulumi.output(args.grafanaAddress);
      // Server auth only: PD and TiKV refuse it as a client (no client_auth, and its name is not admitted).
      this.grafanaCert = ca.issue(
        `${name}-grafana`,
        org,
        {
          commonName: CLUSTER_CN.grafana,
          ipAddresses: address.apply((a) => (IPV4.test(a) ? [a, "127.0.0.1"] : ["127.0.0.1"])),
          dnsNames: address.apply((a) => (IPV4.test(a) ? ["localhost"] : [a, "localhost"])),
          allowedUses: SERVER_USES,
        },
        this,
      );
    }
    this.notBefore = pulumi
      .all([
        ...ca.validFrom,
        ...[...this.hostCerts, this.adminCert, this.monitoringCert, this.grafanaCert].flatMap((c) =>
          c ? [c.validFrom] : [],
        ),
      ])
      .apply(latestTime);
    // Certificates only: the keys stay out of the component's state (they reach the stack once, as
    // the secret output clusterAdminKeyPem, and the containers as uploads).
    this.registerOutputs({
      caCertPem: this.caCertPem,
      hostCertPems: this.hostCerts.map((c) => c.certPem),
      adminCertPem: this.adminCert.certPem,
      monitoringCertPem: this.monitoringCert?.certPem,
      grafanaCertPem: this.grafanaCert?.certPem,
      clientCertPems: Object.fromEntries(Object.entries(this.clientCerts).map(([c, cert]) => [c, cert.certPem])),
    });
  }
}
