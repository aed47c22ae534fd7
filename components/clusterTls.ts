import * as pulumi from "@pulumi/pulumi";
import { HostPlan } from "../lib/topology";
import { CLIENT_USES, IssuedCertificate, Pki } from "./pki";

/** A component certificate is both: each component serves and dials the others. */
export const COMPONENT_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];

export interface ClusterTlsArgs {
  pki: Pki;
  hosts: readonly { plan: HostPlan; operatorAddress: pulumi.Input<string> }[];
  /** Issue a client certificate for Prometheus too. */
  monitoring: boolean;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Certificates for mutual TLS inside the cluster, from the stack's CA: per host one certificate
 * that PD and TiKV on it both use, naming every address a peer or the operator dials.
 */
export class ClusterTls extends pulumi.ComponentResource {
  public readonly hostCerts: IssuedCertificate[];
  public readonly monitoringCert?: IssuedCertificate;

  constructor(name: string, args: ClusterTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:pki:ClusterTls", name, {}, opts);
    this.hostCerts = args.hosts.map(({ plan, operatorAddress }) => {
      const operator = pulumi.output(operatorAddress);
      const names = [plan.name, "localhost", plan.tikvName, ...(plan.pdName ? [plan.pdName] : [])];
      return args.pki.issue(`${name}-${plan.tikvName}`, {
        commonName: plan.name,
        ipAddresses: operator.apply((a) => [...new Set(["127.0.0.1", ...(plan.privateIp ? [plan.privateIp] : []), ...(IPV4.test(a) ? [a] : [])])]),
        dnsNames: operator.apply((a) => [...new Set([...names, ...(IPV4.test(a) ? [] : [a])])]),
        allowedUses: COMPONENT_USES,
      }, this);
    });
    if (args.monitoring) {
      this.monitoringCert = args.pki.issue(`${name}-prometheus`, { commonName: "prometheus", allowedUses: CLIENT_USES }, this);
    }
    this.registerOutputs({});
  }
}
