import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { encodeUserData, renderCloudConfig } from "../lib/cloudInit";
import { DockerEndpoint } from "../lib/dockerApi";
import { HostPlan, PORTS } from "../lib/topology";
import * as tc from "../tencentcloud/bindings";
import { DockerReady } from "./dockerReady";
import { Pki, SERVER_USES } from "./pki";

export interface DockerHostArgs {
  plan: HostPlan;
  availabilityZone: string;
  instanceType: string;
  imageId: pulumi.Input<string>;
  /**
   * The image came from the "newest Ubuntu" lookup: a newer image must not reinstall a running
   * host (changing imageId reinstalls the OS and wipes the system disk, and the data with it).
   */
  imageFromLookup: boolean;
  /** Pulumi `protect` on the CVM and its EIP. */
  protect: boolean;
  systemDiskType: string;
  systemDiskSize: number;
  bandwidthMbps: number;
  registryMirrors: readonly string[];
  readinessTimeoutMinutes: number;
  vpcId: pulumi.Input<string>;
  subnetId: pulumi.Input<string>;
  securityGroupId: pulumi.Input<string>;
  keyPairId?: pulumi.Input<string>;
  pki: Pki;
  tags: Record<string, string>;
}

/**
 * One CVM whose Docker engine serves its API on 2376 behind mutual TLS, and the Docker provider
 * that drives it. The EIP exists before the server certificate so the certificate can name it.
 */
export class DockerHost extends pulumi.ComponentResource {
  public readonly plan: HostPlan;
  public readonly publicIp: pulumi.Output<string>;
  /** Where the operator's machine reaches this host: its EIP. */
  public readonly operatorAddress: pulumi.Output<string>;
  public readonly privateIp: pulumi.Output<string>;
  public readonly instanceId: pulumi.Output<string>;
  /** `tcp://<EIP>:2376`, resolved only once the daemon has answered. */
  public readonly dockerHost: pulumi.Output<string>;
  public readonly provider: docker.Provider;
  /** The same API for the calls the provider cannot make; carries the operator's key (secret). */
  public readonly dockerApi: pulumi.Output<DockerEndpoint>;

  constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:host:DockerHost", name, {}, opts);
    const privateIp = args.plan.privateIp;
    if (privateIp === undefined) throw new Error(`${args.plan.name} has no private IP`);
    this.plan = args.plan;
    const eip = new tc.Eip(`${name}-eip`, {
      name,
      internetChargeType: "TRAFFIC_POSTPAID_BY_HOUR",
      internetMaxBandwidthOut: args.bandwidthMbps,
      tags: args.tags,
    }, { parent: this, protect: args.protect });

    const server = args.pki.issue(`${name}-docker-server`, {
      commonName: args.plan.name,
      ipAddresses: [eip.publicIp, privateIp],
      dnsNames: [args.plan.name],
      allowedUses: SERVER_USES,
    }, this);

    const cloudConfig = pulumi
      .all([args.pki.caCertPem, server.certPem, server.keyPem])
      .apply(([caCertPem, serverCertPem, serverKeyPem]) =>
        renderCloudConfig({ caCertPem, serverCertPem, serverKeyPem, registryMirrors: args.registryMirrors }));

    const instance = new tc.Instance(`${name}-cvm`, {
      instanceName: args.plan.name,
      hostname: args.plan.name,
      availabilityZone: args.availabilityZone,
      instanceType: args.instanceType,
      imageId: args.imageId,
      systemDiskType: args.systemDiskType,
      systemDiskSize: args.systemDiskSize,
      vpcId: args.vpcId,
      subnetId: args.subnetId,
      privateIp,
      orderlySecurityGroups: [args.securityGroupId],
      // The EIP is associated instead, so the address exists before the host and survives it.
      allocatePublicIp: false,
      // Carries the server key: secret in state, in previews and in the engine's logs.
      userData: pulumi.secret(cloudConfig.apply(encodeUserData)),
      keyIds: args.keyPairId ? [args.keyPairId] : undefined,
      tags: args.tags,
    }, {
      parent: this,
      protect: args.protect,
      ignoreChanges: args.imageFromLookup ? ["imageId"] : [],
      // The provider's Read copies the decoded user data into userDataRaw, which its schema does
      // not mark sensitive (terraform-provider-tencentcloud v1.82.102, resource_tc_instance.go):
      // both outputs carry the Docker server key. Listing them also states the secrecy where
      // policy packs can see it (they receive inputs unwrapped).
      // password: never set here, but an output of the schema that would hold the login password.
      additionalSecretOutputs: ["userData", "userDataRaw", "password"],
    });

    const association = new tc.EipAssociation(`${name}-eip-assoc`, {
      eipId: eip.id,
      instanceId: instance.id,
    }, { parent: this });

    const ready = new DockerReady(`${name}-docker-ready`, {
      host: eip.publicIp,
      port: PORTS.docker,
      instanceId: instance.id,
      caPem: args.pki.caCertPem,
      certPem: args.pki.clientCertPem,
      keyPem: args.pki.clientKeyPem,
      label: args.plan.name,
      origin: "cvm",
      timeoutMinutes: args.readinessTimeoutMinutes,
    }, { parent: this, dependsOn: [association] });

    // Reading ready.id makes the provider, and so everything on this host, wait for the daemon.
    this.dockerHost = pulumi.all([ready.id, eip.publicIp]).apply(([, ip]) => `tcp://${ip}:${PORTS.docker}`);
    this.provider = new docker.Provider(`${name}-docker`, {
      host: this.dockerHost,
      caMaterial: args.pki.caCertPem,
      certMaterial: args.pki.clientCertPem,
      keyMaterial: args.pki.clientKeyPem,
    }, { parent: this });

    this.dockerApi = pulumi.all([ready.id, eip.publicIp, args.pki.caCertPem, args.pki.clientCertPem, args.pki.clientKeyPem])
      .apply(([, host, caPem, certPem, keyPem]): DockerEndpoint => ({ kind: "tls", host, port: PORTS.docker, caPem, certPem, keyPem }));
    this.publicIp = eip.publicIp;
    this.operatorAddress = eip.publicIp;
    this.privateIp = pulumi.output(privateIp);
    this.instanceId = instance.id;
    this.registerOutputs({
      publicIp: this.publicIp,
      privateIp: this.privateIp,
      instanceId: this.instanceId,
      dockerHost: this.dockerHost,
    });
  }
}
