import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { heldExpiryWarning } from "../lib/certificates";
import { bootedServerCertValidTo, encodeUserData, renderCloudConfig } from "../lib/cloudInit";
import { DockerEndpoint } from "../lib/dockerApi";
import { RegistryAuth, tlsProviderArgs } from "../lib/dockerProvider";
import { DeployedHost, digest } from "../lib/rolloutPlan";
import { DataDiskSettings } from "../lib/settings";
import { HostPlan, PORTS } from "../lib/topology";
import * as tc from "../tencentcloud/bindings";
import { DockerReady } from "./dockerReady";
import { Pki, SERVER_USES } from "./pki";

export interface DockerHostArgs {
  /** The route every Tencent Cloud resource here is declared on. */
  cloud: tc.TencentCloud;
  plan: HostPlan;
  /** Credentials for the registries of the user's images (tikvImage, pdImage). */
  registryAuth?: readonly RegistryAuth[];
  availabilityZone: string;
  /**
   * The spread placement group the CVM joins. Not in the roll key: joining is applied in place,
   * on the host the CVM runs on, without a restart (bindings.ts InstanceArgs.placementGroupId).
   */
  placementGroupId?: pulumi.Input<string>;
  instanceType: string;
  imageId: pulumi.Input<string>;
  /**
   * The image came from the "newest Ubuntu" lookup: a newer image must not reinstall a running
   * host (changing imageId reinstalls the OS and wipes the system disk, and the data with it).
   */
  imageFromLookup: boolean;
  /**
   * Pulumi `protect` on the CVM, its EIP and its data disk, and termination protection on the CVM.
   * While it is on, or was on in the last deployment, the CVM is never replaced: a change that would
   * replace it is held back (a warning names it).
   */
  protect: boolean;
  systemDiskType: string;
  systemDiskSize: number;
  dataDisk: DataDiskSettings;
  /** The daily snapshot policy the data disk joins, when snapshots are on. */
  snapshotPolicyId?: pulumi.Input<string>;
  bandwidthMbps: number;
  registryMirrors: readonly string[];
  readinessTimeoutMinutes: number;
  vpcId: pulumi.Input<string>;
  subnetId: pulumi.Input<string>;
  securityGroupId: pulumi.Input<string>;
  keyPairId?: pulumi.Input<string>;
  pki: Pki;
  tags: Record<string, string>;
  /** This host as the last deployment recorded it (stack output `hostRollout`); undefined if new. */
  lastDeployed?: DeployedHost;
  /**
   * What the CVM waits for before it is changed: the host's "before" rollout gate, which drains it.
   * It is created with the cluster, after the hosts, hence an input resolved later.
   */
  drainedBy: pulumi.Input<pulumi.Resource[]>;
}

/**
 * One CVM whose Docker engine serves its API on 2376 behind mutual TLS, and the Docker provider
 * that drives it. The EIP exists before the server certificate so the certificate can name it; the
 * CBS data disk exists before the CVM, whose boot waits for it and puts Docker's data root on it.
 * The CVM is disposable: replacing it (new user data, e.g. a renewed server certificate) deletes
 * its containers first, then the CVM, and the new CVM gets the same disk, address and EIP back.
 */
export class DockerHost extends pulumi.ComponentResource {
  public readonly plan: HostPlan;
  /** Where the operator's machine reaches this host: its EIP. */
  public readonly operatorAddress: pulumi.Output<string>;
  /** The CVM's id: containers are keyed to it (a new CVM is a new engine). */
  public readonly instanceId: pulumi.Output<string>;
  /** What the next deployment compares (stack output `hostRollout`); secret: it holds the user data. */
  public readonly deployed: pulumi.Output<DeployedHost>;
  /** Digest of every CVM input that restarts, reinstalls or replaces it: the rollout gates' trigger. */
  public readonly rollKey: pulumi.Output<string>;
  /** `tcp://<EIP>:2376`, resolved only once the daemon has answered. */
  public readonly dockerHost: pulumi.Output<string>;
  public readonly provider: docker.Provider;
  /** The same API for the calls the provider cannot make; carries the operator's key (secret). */
  public readonly dockerApi: pulumi.Output<DockerEndpoint>;
  /** The data disk's size, GB, known once the cloud has applied the last resize. */
  public readonly dataDiskGB: pulumi.Output<number>;
  /**
   * When the Docker server certificate this CVM serves ends: the new one's, or, while protection
   * holds new user data back, the one it booted with.
   */
  public readonly dockerServerValidTo: pulumi.Output<string>;

  constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:host:DockerHost", name, {}, opts);
    const privateIp = args.plan.privateIp;
    if (privateIp === undefined) throw new pulumi.ResourceError(`${args.plan.name} has no private IP`, this);
    this.plan = args.plan;
    const eip = new tc.Eip(
      `${name}-eip`,
      {
        name,
        internetChargeType: "TRAFFIC_POSTPAID_BY_HOUR",
        internetMaxBandwidthOut: args.bandwidthMbps,
        tags: args.tags,
      },
      { parent: this, cloud: args.cloud, protect: args.protect },
    );

    const server = args.pki.issue(
      `${name}-docker-server`,
      {
        commonName: args.plan.name,
        ipAddresses: [eip.publicIp, privateIp],
        dnsNames: [args.plan.name],
        allowedUses: SERVER_USES,
      },
      this,
    );

    // The data outlives every CVM of this host: never deleted with it, and by `pulumi destroy` only
    // when retainDataDisks is false.
    const disk = new tc.CbsStorage(
      `${name}-data-disk`,
      {
        storageName: `${args.plan.name}-data`,
        storageType: args.dataDisk.type,
        storageSize: args.dataDisk.sizeGB,
        availabilityZone: args.availabilityZone,
        encrypt: args.dataDisk.encrypt,
        tags: args.tags,
      },
      {
        parent: this,
        cloud: args.cloud,
        protect: args.protect,
        retainOnDelete: args.dataDisk.retain,
        // A disk a destroyed deployment retained (dataDiskIds): the engine reads it and takes it into
        // the stack instead of creating one, provided its inputs match what this declares.
        import: args.dataDisk.adopt[args.plan.index - 1],
        // Either would make a new, empty disk: a change is refused (lib/dataDisk.ts checkDataDiskChange)
        // rather than applied, and ignored here so that even then the disk stays.
        ignoreChanges: ["availabilityZone", "encrypt"],
      },
    );
    if (args.snapshotPolicyId !== undefined) {
      new tc.CbsSnapshotPolicyAttachment(
        `${name}-data-disk-snapshots`,
        {
          snapshotPolicyId: args.snapshotPolicyId,
          storageId: disk.id,
        },
        { parent: this, cloud: args.cloud },
      );
    }

    const fresh = pulumi
      .all([args.pki.caCertPem, server.certPem, server.keyPem, disk.id])
      .apply(([caCertPem, serverCertPem, serverKeyPem, diskId]) =>
        encodeUserData(
          renderCloudConfig({
            caCertPem,
            serverCertPem,
            serverKeyPem,
            registryMirrors: args.registryMirrors,
            // Half the operator's readiness wait: the other half lets Docker start and report a missing disk.
            dataDisk: { id: diskId, waitSeconds: args.readinessTimeoutMinutes * 30 },
          }),
        ),
      );
    // A protected CVM is never replaced: the cloud would refuse to delete it only after its disk and
    // containers were gone. Its new user data waits for a deployment without protection.
    const last = args.lastDeployed;
    const hold = last !== undefined && (args.protect || last.terminationProtection);
    const userData = hold && last ? pulumi.output(last.userData) : fresh;
    // True when a change that would replace this CVM is held back by protection.
    const held = pulumi.all([fresh, userData]).apply(([f, u]) => f !== u);
    held.apply(
      (isHeld) =>
        isHeld &&
        pulumi.log.warn(
          `${args.plan.name}: its new user data (boot config or ` +
            "Docker server certificate) would replace the CVM, held back while it is protected; roll it with " +
            'the steps in the README ("Rolling protected hosts")',
          this,
        ),
    );
    // The certificate the held CVM still serves runs out meanwhile: say when, a month ahead.
    if (hold && last) {
      let warning: string | undefined;
      try {
        warning = heldExpiryWarning(args.plan.name, bootedServerCertValidTo(last.userData), Date.now());
      } catch (err) {
        warning =
          `${args.plan.name}: protect: true holds its CVM back, and the expiry of the Docker server certificate it ` +
          `booted with cannot be read from the recorded user data (${err instanceof Error ? err.message : String(err)}); ` +
          "check it with `openssl s_client -connect <host>:2376` and roll the host before it expires.";
      }
      if (warning) pulumi.log.warn(warning, this);
    }

    const instance = new tc.Instance(
      `${name}-cvm`,
      {
        instanceName: args.plan.name,
        hostname: args.plan.name,
        availabilityZone: args.availabilityZone,
        instanceType: args.instanceType,
        imageId: args.imageId,
        systemDiskType: args.systemDiskType,
        // The OS only: Docker's data root is on the data disk.
        systemDiskSize: args.systemDiskSize,
        vpcId: args.vpcId,
        subnetId: args.subnetId,
        privateIp,
        orderlySecurityGroups: [args.securityGroupId],
        // The EIP is associated instead, so the address exists before the host and survives it.
        allocatePublicIp: false,
        // Carries the server key: secret in state, in previews and in the engine's logs.
        userData: pulumi.secret(userData),
        // cloud-init reads user data at the first boot only: new user data means a new CVM.
        userDataReplaceOnChange: true,
        disableApiTermination: args.protect,
        keyIds: args.keyPairId ? [args.keyPairId] : undefined,
        placementGroupId: args.placementGroupId,
        tags: args.tags,
      },
      {
        parent: this,
        cloud: args.cloud,
        protect: args.protect,
        ignoreChanges: args.imageFromLookup ? ["imageId"] : [],
        // The provider's Read copies the decoded user data into userDataRaw, which its schema does
        // not mark sensitive (terraform-provider-tencentcloud v1.82.102, resource_tc_instance.go):
        // both outputs carry the Docker server key. Listing them also states the secrecy where
        // policy packs can see it (they receive inputs unwrapped).
        // password: never set here, but an output of the schema that would hold the login password.
        additionalSecretOutputs: ["userData", "userDataRaw", "password"],
        // The new CVM takes the old one's fixed private IP, and its disk: the old one goes first. The
        // engine then deletes first what would be replaced with it (its containers, keyed to it, the
        // EIP association, the disk attachment), in reverse dependency order.
        deleteBeforeReplace: true,
        dependsOn: args.drainedBy,
      },
    );

    // Deleting an attachment detaches the disk from whatever CVM holds it at that moment, so the old
    // attachment must be gone before the new one exists.
    const attachment = new tc.CbsStorageAttachment(
      `${name}-data-disk-attach`,
      {
        storageId: disk.id,
        instanceId: instance.id,
      },
      { parent: this, cloud: args.cloud, deleteBeforeReplace: true },
    );
    const association = new tc.EipAssociation(
      `${name}-eip-assoc`,
      {
        eipId: eip.id,
        instanceId: instance.id,
      },
      { parent: this, cloud: args.cloud },
    );

    // Every input that restarts, reinstalls or replaces the CVM; a digest, so no secret leaves in it.
    const keys: { roll: pulumi.Output<string> } = {
      roll: pulumi.unsecret(
        pulumi
          .all([
            userData,
            args.imageFromLookup ? "" : args.imageId,
            args.instanceType,
            args.availabilityZone,
            args.systemDiskType,
            args.systemDiskSize,
            privateIp,
            args.subnetId,
            args.vpcId,
            args.keyPairId ?? "",
          ])
          .apply(digest),
      ),
    };
    this.rollKey = keys.roll;

    const ready = new DockerReady(
      `${name}-docker-ready`,
      {
        host: eip.publicIp,
        port: PORTS.docker,
        instanceId: instance.id,
        caPem: args.pki.caCertPem,
        certPem: args.pki.clientCertPem,
        keyPem: args.pki.clientKeyPem,
        label: args.plan.name,
        origin: "cvm",
        timeoutMinutes: args.readinessTimeoutMinutes,
        dataDiskId: disk.id,
        // Docker restarts with any change to the CVM (a reinstall keeps the instance id).
        hostKey: keys.roll,
      },
      { parent: this, dependsOn: [association, attachment] },
    );

    // Reading ready.id makes the provider, and so everything on this host, wait for the daemon.
    this.dockerHost = pulumi.all([ready.id, eip.publicIp]).apply(([, ip]) => `tcp://${ip}:${PORTS.docker}`);
    this.provider = new docker.Provider(
      `${name}-docker`,
      // Nothing from the operator's DOCKER_* environment (lib/dockerProvider.ts).
      tlsProviderArgs(
        this.dockerHost,
        {
          caPem: args.pki.caCertPem,
          certPem: args.pki.clientCertPem,
          keyPem: args.pki.clientKeyPem,
        },
        args.registryAuth,
      ),
      { parent: this },
    );

    this.dockerApi = pulumi
      .all([ready.id, eip.publicIp, args.pki.caCertPem, args.pki.clientCertPem, args.pki.clientKeyPem])
      .apply(([, host, caPem, certPem, keyPem]): DockerEndpoint => ({
        kind: "tls",
        host,
        port: PORTS.docker,
        caPem,
        certPem,
        keyPem,
      }));
    this.operatorAddress = eip.publicIp;
    this.instanceId = instance.id;
    this.dataDiskGB = disk.storageSize;
    this.dockerServerValidTo = pulumi.all([held, server.validTo]).apply(([isHeld, validTo]) => {
      if (!isHeld || !last) return validTo;
      try {
        return bootedServerCertValidTo(last.userData);
      } catch {
        return validTo; // the warning above already names the unreadable user data
      }
    });
    this.deployed = pulumi
      .all([keys.roll, userData])
      .apply(([roll, u]) => ({ roll, terminationProtection: args.protect, userData: u }));
    // dockerApi (the operator's key) and deployed (the user data, with the server key) stay out of
    // the component's state; `deployed` reaches the state once, as the secret stack output hostRollout.
    this.registerOutputs({
      operatorAddress: this.operatorAddress,
      instanceId: this.instanceId,
      rollKey: this.rollKey,
      dockerHost: this.dockerHost,
    });
  }
}
