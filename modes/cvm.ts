// Mode cvm: Tencent Cloud CVMs made here, each running Docker behind mutual TLS on its EIP.
import { registryAuths } from "../lib/builds";
import { registryPassword } from "./existing";
import * as pulumi from "@pulumi/pulumi";
import { DockerHost } from "../components/dockerHost";
import { Network } from "../components/network";
import { certDir, certSetupCommand, dockerEnv } from "../lib/commands";
import { hostShare } from "../lib/memoryBudget";
import { PROJECT } from "../lib/settings";
import { PORTS } from "../lib/topology";
import * as tc from "../tencentcloud/bindings";
import { Mode, PlaceArgs, Placement, SettingsOf, StackNames } from "./mode";

/** Key pair names allow 1-25 letters, digits or underscores (see tencentcloud/bindings.ts KeyPairArgs). */
export function keyPairName(stack: string): string {
  return `tikv_${stack}`.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 25);
}

/**
 * A value resolved later: each CVM waits for its host's "before" rollout gate, which the cluster
 * declares after the hosts.
 */
function later<T>(): { value: pulumi.Output<T>; resolve(value: T): void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { value: pulumi.output(promise) as pulumi.Output<T>, resolve: (v) => resolve(v) };
}

export function cvmMode(settings: SettingsOf<"cvm">, names: StackNames): Mode {
  const cvm = settings.cvm;
  return {
    name: "cvm",
    operatorAddressIsEip: true,
    // instanceType is any CVM type, but the image lookup is "Ubuntu Server 22.04 LTS 64bit", the
    // x86_64 image (lib/configKeys.ts imageId), and S5/SA families are x86_64.
    hostArchitecture: "x86_64",
    // Fixed private addresses in the subnet (lib/topology.ts).
    addressing: { kind: "subnet", subnetCidr: cvm.subnetCidr, zones: cvm.availabilityZones },
    // One pair per host; monitoring runs on the first.
    enginePerHost: true,
    memoryShare: (host) =>
      hostShare(settings.hostMemoryGiB, host.pdName !== undefined, settings.monitoring && host.index === 1),
    certSetup: certSetupCommand(names.stack, settings.clusterTls, "outputs", settings.clients),
    place: (args) => placeCvms(settings, names, args),
  };
}

/** The network, CVMs with Docker behind mutual TLS, and a provider per host. */
function placeCvms(settings: SettingsOf<"cvm">, names: StackNames, { plan, pki, last }: PlaceArgs): Placement {
  const { cvm } = settings;
  const { prefix, tags } = names;
  const cloud = new tc.TencentCloud(cvm.tencentcloudRoute);
  const network = new Network(`${prefix}-net`, {
    cloud,
    vpcCidr: cvm.vpcCidr,
    subnetCidr: cvm.subnetCidr,
    availabilityZones: cvm.availabilityZones,
    operatorCidrs: cvm.operatorCidrs,
    sshEnabled: cvm.sshPublicKey !== undefined,
    grafana: settings.monitoring && settings.grafanaPublic,
    tags,
  });
  const keyPair =
    cvm.sshPublicKey === undefined
      ? undefined
      : new tc.KeyPair(
          `${prefix}-ssh`,
          {
            keyName: keyPairName(names.stack),
            publicKey: cvm.sshPublicKey,
            // The provider's schema returns a privateKey (set when Tencent Cloud generates the pair); this
            // pair only imports a public key, but whatever lands there stays encrypted.
          },
          { cloud, additionalSecretOutputs: ["privateKey"] },
        );
  const imageId: pulumi.Input<string> =
    cvm.imageId ??
    tc
      .getImages(cloud, {
        imageTypes: ["PUBLIC_IMAGE"],
        // Anchored: a UEFI variant of the same name also exists.
        imageNameRegex: "^Ubuntu Server 22\\.04 LTS 64bit$",
      })
      .apply((result) => {
        if (result.images.length === 0) {
          throw new pulumi.RunError(
            "no public image matches Ubuntu Server 22.04 LTS 64bit in this region; " +
              `set one with: pulumi config set ${PROJECT}:imageId img-xxxxxxxx`,
          );
        }
        return result.images[0].imageId;
      });
  const snapshots =
    cvm.dataDisk.snapshot &&
    new tc.CbsSnapshotPolicy(
      `${prefix}-data-snapshots`,
      {
        snapshotPolicyName: `${prefix}-data-daily`,
        repeatWeekdays: [0, 1, 2, 3, 4, 5, 6],
        repeatHours: [cvm.dataDisk.snapshot.hour],
        retentionDays: cvm.dataDisk.snapshot.retentionDays,
      },
      { cloud },
    );
  // One spread placement group for every CVM: each on its own physical host (HOST) or rack (RACK).
  const placementGroup =
    cvm.placementGroupType === "none"
      ? undefined
      : new tc.PlacementGroup(
          `${prefix}-spread`,
          { name: `${prefix}-spread`, type: cvm.placementGroupType, tags },
          { cloud, protect: settings.protect },
        );
  const drains = plan.hosts.map(() => later<pulumi.Resource[]>());
  const hosts = plan.hosts.map(
    (hostPlan, i) =>
      new DockerHost(`${prefix}-${hostPlan.index}`, {
        cloud,
        plan: hostPlan,
        registryAuth: registryAuths(settings.builds, registryPassword()),
        availabilityZone: hostPlan.zone,
        placementGroupId: placementGroup?.id,
        instanceType: cvm.instanceType,
        imageId,
        imageFromLookup: cvm.imageId === undefined,
        protect: settings.protect,
        systemDiskType: cvm.systemDiskType,
        systemDiskSize: cvm.systemDiskSize,
        dataDisk: cvm.dataDisk,
        snapshotPolicyId: snapshots ? snapshots.id : undefined,
        bandwidthMbps: cvm.bandwidthMbps,
        registryMirrors: cvm.registryMirrors,
        readinessTimeoutMinutes: cvm.readinessTimeoutMinutes,
        vpcId: network.vpcId,
        subnetId: network.subnetIds[hostPlan.zone],
        securityGroupId: network.securityGroupId,
        keyPairId: keyPair?.id,
        pki,
        tags,
        lastDeployed: last.hosts?.[hostPlan.name],
        drainedBy: drains[i].value,
      }),
  );
  return {
    hosts,
    networking: { kind: "host" },
    dockerHosts: hosts.map((h) => h.dockerHost),
    dockerEnvs: hosts.map((h) =>
      h.operatorAddress.apply((ip) => dockerEnv(certDir(names.stack), `tcp://${ip}:${PORTS.docker}`)),
    ),
    hostRollout: pulumi.all(Object.fromEntries(hosts.map((h) => [h.plan.name, h.deployed]))),
    drainBy: (gates) =>
      drains.forEach((drain, i) => {
        const gate = gates[i];
        drain.resolve(gate ? [gate] : []);
      }),
  };
}
