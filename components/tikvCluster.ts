import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DATA_DIR, TLS_FILES } from "../lib/clusterConfig";
import { FILE_MODES } from "../lib/containerSecurity";
import { DockerEndpoint } from "../lib/dockerApi";
import { REPLACE_ON_CHANGES, replacementDigest } from "../lib/containerReplacement";
import { RETAIN_LABEL } from "../lib/labels";
import { ComponentBuild } from "../lib/builds";
import { LastDeployment, retiringMembers } from "../lib/lastDeployment";
import { MemberSpec, REPLICAS, memberContainerArgs, memberSpecs, memberVolumeName } from "../lib/memberSpecs";
import { MemoryBudget } from "../lib/memoryBudget";
import { ClusterNetworking, containerName } from "../lib/networking";
import { ReportedPlacement, placementOf } from "../lib/placement";
import { hostGateTarget, pdMembers, pdPlace, rolloutInput, rolloutOrder } from "../lib/rolloutChain";
import { RolloutNode, RolloutPlan, planRollout } from "../lib/rolloutPlan";
import { KeyPair, TlsMaterial } from "../lib/tlsMaterial";
import { ClusterPlan, HostPlan, PORTS } from "../lib/topology";
import { BootstrapPermit } from "./bootstrapPermit";
import { BuildReport, MemberBuild } from "./buildReport";
import { HostCheck } from "./hostCheck";
import { MemberGuard } from "./memberGuard";
import { PlacementLabels } from "./placementLabels";
import { PatchedImage } from "./patchedImage";
import { PdClientGateway } from "./pdClientGateway";
import { RetiredMemberData } from "./retiredMemberData";
import { StoreDisk } from "./storeDisk";
import { PidsLimit } from "./pidsLimit";
import { MemberRetirement, MemberRetirementArgs, RolloutGate, RolloutGateArgs } from "./rollout";

/** What the cluster needs of a host: its plan, the provider for its engine, how the operator reaches it. */
export interface ClusterHost {
  readonly plan: HostPlan;
  readonly provider: docker.Provider;
  /** The same engine for the Engine API calls the provider cannot make (pids limits). */
  readonly dockerApi: pulumi.Input<DockerEndpoint>;
  /** Address the operator's machine reaches PD's client port on (an EIP, a listed address, 127.0.0.1). */
  readonly operatorAddress: pulumi.Input<string>;
  /** A CVM made here: its instance id (containers are keyed to it) and its roll key (see DockerHost). */
  readonly instanceId?: pulumi.Input<string>;
  readonly rollKey?: pulumi.Input<string>;
  /**
   * A data disk made here (mode cvm): its size once resized. Each store then waits for its
   * filesystem to fill the disk before it starts with a config sized for it (components/storeDisk.ts).
   */
  readonly dataDiskGB?: pulumi.Input<number>;
  /** A Docker server certificate made here (mode cvm): the end of the one the host serves. */
  readonly dockerServerValidTo?: pulumi.Input<string>;
}

/** Certificates for mutual TLS between components (clusterTls). */
export interface ClusterTlsMaterial {
  /** The cluster CA bundle every member trusts. */
  readonly caPem: pulumi.Input<string>;
  /** One server+client certificate per host, in host order, used by both of its components. */
  readonly hostCerts: readonly KeyPair<pulumi.Input<string>>[];
  /** The client the rollout gates present to PD: the cluster admin's certificate. */
  readonly admin: KeyPair<pulumi.Input<string>>;
  /** The latest NotBefore of the cluster's certificates (components/clusterTls.ts). */
  readonly notBefore: pulumi.Input<string>;
}

export interface TikvClusterArgs {
  hosts: readonly ClusterHost[];
  plan: ClusterPlan;
  /** One tag for both images, e.g. v8.5.7. */
  tikvVersion: string;
  /** The user's own images and binaries per component (lib/builds.ts); absent: the releases. */
  builds?: { pd: ComponentBuild; tikv: ComponentBuild };
  memory: (host: HostPlan) => MemoryBudget;
  /**
   * The caps of every container on this host's engine, MiB, checked against its MemTotal before its
   * members start; undefined where engines are shared (mode local).
   */
  hostMemoryMiB?: (host: HostPlan) => number;
  diskGB: number;
  /** The store's `raftstore.capacity` where its disk also holds monitoring (lib/memoryBudget.ts). */
  tikvCapacityGB?: (host: HostPlan) => number | undefined;
  networking: ClusterNetworking;
  tls?: ClusterTlsMaterial;
  /** Pulumi `protect` on the data volumes. */
  protect: boolean;
  /** Bound on each rolling-restart wait (leader eviction, health after restart). */
  rolloutTimeoutMinutes: number;
  /** nofile ulimit (soft = hard) of every PD and TiKV container (tikv-cvm:nofileLimit). */
  nofileLimit: number;
  /**
   * The last deployment of this stack. Members it had are chained one after another, so a change
   * to running members is applied one member at a time; a first deployment, or stores added by
   * scaling out, are created in parallel. PD members added to a running cluster join one by one.
   */
  last: LastDeployment;
  /** --initial-cluster of the cluster's first deployment (lib/lastDeployment.ts pdInitialCluster). */
  pdInitialCluster: string;
  /**
   * The cluster's first deployment (no PD member deployed yet): each member of the initial
   * cluster gets the bootstrap permit on its volume before it starts (lib/pdStart.ts). Later
   * deployments never write it, so a PD volume wiped later can never bootstrap a second cluster.
   */
  bootstrap: boolean;
  /**
   * Application clients exist (tikv-cvm:clients): a gateway beside each PD member, in this Node.js
   * image (tikv-cvm:clientGatewayImage), is their way to PD (components/pdClientGateway.ts).
   */
  clientGateway?: { image: string };
}

/**
 * PD members on the first pdCount hosts and a TiKV store on every host, each on its host's engine,
 * chained so the engine replaces them one at a time, and the CVMs made here host by host (see
 * components/rollout.ts, lib/rolloutChain.ts, lib/rolloutPlan.ts and the README). What each
 * member is made of is data (lib/memberSpecs.ts); this component declares it.
 */
export class TikvCluster extends pulumi.ComponentResource {
  public readonly pdEndpoints: pulumi.Output<string[]>;
  public readonly tikvStores: pulumi.Output<string[]>;
  /** Per member: the image it runs and the build PD reports for it, read after every gate. */
  public readonly builds: pulumi.Output<MemberBuild[]>;
  /** Every member in rollout order: PD members, then TiKV stores. */
  public readonly rolloutOrder: string[];
  /** The stores' labels and PD's location-labels as PD reports them (components/placementLabels.ts). */
  public readonly placement: pulumi.Output<ReportedPlacement>;
  // Kept off the instance's own properties (a getter below): Pulumi walks the values of Outputs for
  // unknowns, and every Output holding a gate would otherwise walk this list through its parent,
  // this component (output.js containsUnknowns): quadratic in the cluster's size.
  readonly #hostBeforeGates: (RolloutGate | undefined)[];
  // Per host, in host order: its clock and memory against what starts there (components/hostCheck.ts).
  readonly #hostChecks: HostCheck[];
  /** Per host (in host order), the gate its CVM waits for; undefined for hosts not made here. */
  public get hostBeforeGates(): readonly (RolloutGate | undefined)[] {
    return this.#hostBeforeGates;
  }

  constructor(name: string, args: TikvClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:cluster:TikvCluster", name, {}, opts);
    const { plan } = args;
    const pdApi = pulumi
      .all(args.hosts.filter((h) => h.plan.pdName !== undefined).map((h) => h.operatorAddress))
      .apply((addresses) => addresses.map((a) => `${plan.scheme}://${a}:${PORTS.pdClient}`));
    const gateTls: TlsMaterial<pulumi.Input<string>> | undefined = args.tls && {
      caPem: args.tls.caPem,
      certPem: args.tls.admin.certPem,
      keyPem: pulumi.secret(args.tls.admin.keyPem),
    };
    const gateArgs = { pdEndpoints: pdApi, timeoutMinutes: args.rolloutTimeoutMinutes, tls: gateTls };

    // Which gates wait for which (lib/rolloutChain.ts, lib/rolloutPlan.ts): member by member, or
    // host by host when a CVM changes, which the CVMs' roll keys tell.
    const rollout = this.rolloutPlan(args);
    // Every gate by its node name; links resolve once the constructor has declared them all.
    const gates = new Map<RolloutNode, RolloutGate>();
    let constructed: () => void = () => undefined;
    const allGates = new Promise<void>((resolve) => {
      constructed = resolve;
    });
    const waitsFor = (node: RolloutNode): pulumi.Output<pulumi.Resource[]> =>
      pulumi.all([rollout, allGates]).apply(([p]) => (p.links[node] ?? []).flatMap((n) => gates.get(n) ?? []));

    // Every certificate a member presents or is shown, CAs included: a host must have passed the
    // latest NotBefore before its members start with them.
    const notBefore = pulumi.output(args.tls?.notBefore ?? "");
    this.#hostChecks = args.hosts.map(
      (host) =>
        new HostCheck(
          `${name}-${host.plan.name}-check`,
          {
            endpoint: host.dockerApi,
            label: host.plan.name,
            notBefore,
            hostKey: pulumi
              .all([host.dockerApi, host.instanceId ?? ""])
              .apply(([api, instance]) =>
                api.kind === "tls" ? `${api.host}:${api.port}/${instance}` : `local/${instance}`,
              ),
            maxWaitMinutes: args.rolloutTimeoutMinutes,
            plannedMiB: args.hostMemoryMiB?.(host.plan),
          },
          { parent: this },
        ),
    );

    const specs = memberSpecs({
      plan,
      tikvVersion: args.tikvVersion,
      memory: args.memory,
      diskGB: args.diskGB,
      tikvCapacityGB: args.tikvCapacityGB,
      pdInitialCluster: args.pdInitialCluster,
      builds: args.builds,
    });
    /** Declares one member and files its gates under their node names. */
    const declare = (spec: MemberSpec, dependsOn: pulumi.Input<pulumi.Resource[]>): docker.Container => {
      const member = this.declareMember(`${name}-${spec.member}`, spec, args, {
        gateArgs,
        dependsOn,
        waitsFor: waitsFor(`before:${spec.member}`),
      });
      gates.set(`before:${spec.member}`, member.before);
      gates.set(`after:${spec.member}`, member.after);
      return member.container;
    };
    const pdSpecs = specs.filter((s) => s.kind === "pd");
    const pdContainers = pdSpecs.map((spec) => declare(spec, []));
    if (args.clientGateway && args.tls) {
      const { caPem, hostCerts } = args.tls;
      const image = args.clientGateway.image;
      pdSpecs.forEach((spec, i) => {
        const host = args.hosts[spec.host.index - 1];
        new PdClientGateway(
          `${name}-${spec.member}-gateway`,
          {
            host: spec.host,
            provider: host.provider,
            dockerApi: host.dockerApi,
            instanceId: host.instanceId,
            networking: args.networking,
            image,
            caPem,
            memberCert: hostCerts[spec.host.index - 1],
            pdContainer: pdContainers[i],
          },
          { parent: this },
        );
      });
    }
    const tikvContainers = specs
      .filter((s) => s.kind === "tikv")
      .map((spec) =>
        declare(
          spec,
          // PD first: TiKV retries PD forever (tikv/tikv components/pd_client/src/config.rs,
          // retry_max_count isize::MAX), but its health wait would run out meanwhile. Not during a
          // host-by-host roll: PD is up, and a running store would wait for a later host's PD member.
          rollout.apply((p) => (p.tikvAwaitingPd.includes(spec.member) ? [...pdContainers] : [])),
        ),
      );

    // Guards: each member is retired through PD before the engine deletes its container, whatever
    // the last outputs say (components/memberGuard.ts). PD members leave highest first.
    let previousPdGuard: MemberGuard | undefined;
    specs.forEach((spec, i) => {
      const guard = new MemberGuard(
        `${name}-${spec.member}-guard`,
        { ...gateArgs, kind: spec.kind, member: spec.pdMember },
        {
          parent: this,
          dependsOn: [
            [...pdContainers, ...tikvContainers][i],
            ...(spec.kind === "pd" && previousPdGuard ? [previousPdGuard] : []),
          ],
          deletedWith: this,
        },
      );
      if (spec.kind === "pd") previousPdGuard = guard;
    });

    // Host gates around each CVM made here: drain before it changes, healthy again after.
    this.#hostBeforeGates = args.hosts.map((host) => {
      if (host.rollKey === undefined || host.instanceId === undefined) return undefined;
      const index = host.plan.index;
      const hostGate = { ...gateArgs, kind: "host" as const, ...hostGateTarget(plan, index) };
      const before = new RolloutGate(
        `${name}-${host.plan.name}-before`,
        { ...hostGate, phase: "before", trigger: host.rollKey },
        { parent: this, dependsOn: waitsFor(`host-before:${index}`) },
      );
      gates.set(`host-before:${index}`, before);
      const members = [host.plan.pdName, host.plan.tikvName].flatMap((m) => (m ? [gates.get(`after:${m}`)!] : []));
      gates.set(
        `host-after:${index}`,
        new RolloutGate(
          `${name}-${host.plan.name}-after`,
          {
            ...hostGate,
            phase: "after",
            trigger: pulumi.interpolate`${host.rollKey}/${host.instanceId}`,
          },
          { parent: this, dependsOn: members },
        ),
      );
      return before;
    });
    constructed();

    const pdNames = pdMembers(plan);
    this.retire(
      name,
      args,
      gateArgs,
      pdNames.length > 0 ? gates.get(`after:${pdNames[pdNames.length - 1]}`) : undefined,
    );

    // Which build runs where: each member's, read from PD after its after gate ran (components/buildReport.ts).
    const reports = specs.map((s) => {
      const after = gates.get(`after:${s.member}`)!;
      return new BuildReport(
        `${name}-${s.member}-build`,
        {
          ...gateArgs,
          member: {
            member: s.member,
            kind: s.kind,
            pdMember: s.pdMember,
            image: s.patch ? s.patch.tag : s.image,
            ...(s.patch ? { patchSha256: s.patch.sha256 } : {}),
          },
          trigger: after.trigger,
        },
        { parent: this, dependsOn: [after] },
      ).build;
    });
    this.builds = pulumi.all(reports);
    // Labels once every member is through its gate: every store is registered by then.
    const afterGates = specs.map((s) => gates.get(`after:${s.member}`)!);
    this.placement = new PlacementLabels(
      `${name}-placement`,
      {
        ...gateArgs,
        placement: placementOf(plan.hosts, PORTS.tikv, REPLICAS),
        trigger: pulumi
          .all(specs.filter((s) => s.kind === "tikv").map((s) => gates.get(`after:${s.member}`)!.trigger))
          .apply((triggers) => triggers.join(",")),
      },
      { parent: this, dependsOn: afterGates },
    ).reported;
    this.rolloutOrder = rolloutOrder(plan);
    this.pdEndpoints = pulumi.all(pdContainers.map((c) => c.id)).apply(() => [...plan.pdEndpoints]);
    this.tikvStores = pulumi.all(tikvContainers.map((c) => c.id)).apply(() => [...plan.tikvAddresses]);
    this.registerOutputs({
      pdEndpoints: this.pdEndpoints,
      tikvStores: this.tikvStores,
      rolloutOrder: this.rolloutOrder,
    });
  }

  /** One member: data volume, image, before gate, container, pids limit, after gate. */
  private declareMember(
    prefix: string,
    spec: MemberSpec,
    args: TikvClusterArgs,
    chain: {
      gateArgs: Pick<RolloutGateArgs, "pdEndpoints" | "timeoutMinutes" | "tls">;
      /** What the container waits for besides its before gate. */
      dependsOn: pulumi.Input<pulumi.Resource[]>;
      /** What the before gate waits for. */
      waitsFor: pulumi.Input<pulumi.Resource[]>;
    },
  ): { before: RolloutGate; container: docker.Container; after: RolloutGate } {
    const host = args.hosts[spec.host.index - 1];
    const provider = host.provider;
    const volume = new docker.Volume(
      `${prefix}-data`,
      {
        name: memberVolumeName(args.networking, spec),
        labels: [{ label: RETAIN_LABEL, value: "true" }],
        // Data outlives containers and the stack's own deletion: losing PD data orphans every store.
      },
      { parent: this, provider, retainOnDelete: true, protect: args.protect },
    );
    const image = new docker.RemoteImage(
      `${prefix}-image`,
      { name: spec.image, keepLocally: true },
      { parent: this, provider },
    );
    // The user's binary (pdPatch/tikvPatch): an image built on this host from the one above.
    const patched =
      spec.patch &&
      new PatchedImage(
        `${prefix}-patched-image`,
        {
          endpoint: host.dockerApi,
          baseImageId: image.imageId,
          binaryFile: spec.patch.file,
          sha256: spec.patch.sha256,
          target: spec.patch.target,
          tag: spec.patch.tag,
        },
        { parent: this },
      );
    const containerArgs = memberContainerArgs(spec, {
      networking: args.networking,
      imageId: patched ? patched.imageId : image.imageId,
      volumeName: volume.name,
      extraUploads: this.tlsUploads(args.tls, spec.host),
      instanceId: host.instanceId,
      nofileLimit: args.nofileLimit,
    });
    // Changes whenever the engine will replace the container (lib/containerReplacement.ts),
    // taken over the whole spec.
    const trigger = pulumi
      .output(containerArgs)
      .apply((resolved) => replacementDigest(resolved as Record<string, unknown>));
    // A PD member's place also tells the gates which endpoint is which member (lib/pdApi.ts pdRestartBlocker).
    const gate = {
      ...chain.gateArgs,
      kind: spec.kind,
      member: spec.pdMember,
      ...(spec.kind === "pd" ? pdPlace(args.plan, spec.member) : {}),
    };
    // A resized data disk: the store waits for its filesystem to fill the disk before its leaders
    // are evicted and it restarts with a reserve and capacity sized for the disk.
    const disk =
      spec.kind === "tikv" && host.dataDiskGB !== undefined
        ? new StoreDisk(
            `${prefix}-data-fs`,
            {
              endpoint: host.dockerApi,
              label: spec.host.name,
              store: spec.member,
              image: image.imageId,
              volumeName: volume.name,
              name: containerName(args.networking, `${spec.member}-data-fs`),
              diskGB: host.dataDiskGB,
              maxWaitMinutes: args.rolloutTimeoutMinutes,
            },
            { parent: this },
          )
        : undefined;
    const before = new RolloutGate(
      `${prefix}-before`,
      {
        ...gate,
        phase: "before",
        trigger,
      },
      { parent: this, dependsOn: pulumi.output(chain.waitsFor).apply((w) => [...w, ...(disk ? [disk] : [])]) },
    );
    const permit = this.bootstrapPermit(prefix, spec, args, image, volume);
    const retiredData = new RetiredMemberData(
      `${prefix}-retired-data`,
      {
        ...chain.gateArgs,
        kind: spec.kind,
        member: spec.pdMember,
        ...(spec.kind === "pd" ? { peerUrl: `${args.plan.scheme}://${spec.host.pdHost}:${PORTS.pdPeer}` } : {}),
        endpoint: host.dockerApi,
        image: image.imageId,
        volumeName: volume.name,
        name: containerName(args.networking, `${spec.member}-retired-data`),
        dataDir: DATA_DIR,
        firstDeployment: args.bootstrap,
      },
      { parent: this },
    );
    const container = new docker.Container(prefix, containerArgs, {
      parent: this,
      provider,
      deleteBeforeReplace: true,
      replaceOnChanges: [...REPLACE_ON_CHANGES],
      dependsOn: pulumi
        .output(chain.dependsOn)
        .apply((d) => [
          before,
          retiredData,
          this.#hostChecks[spec.host.index - 1],
          ...(disk ? [disk] : []),
          ...(permit ? [permit] : []),
          ...d,
        ]),
    });
    new PidsLimit(
      `${prefix}-pids`,
      { endpoint: host.dockerApi, containerId: container.id, limit: spec.pidsLimit },
      { parent: this },
    );
    // Also runs whenever "before" ran, so an evicted store always gets its leaders back.
    const after = new RolloutGate(
      `${prefix}-after`,
      {
        ...gate,
        phase: "after",
        trigger: pulumi.interpolate`${trigger}/${container.id}`,
      },
      { parent: this, dependsOn: [container] },
    );
    return { before, container, after };
  }

  /**
   * An initial member's bootstrap permit (components/bootstrapPermit.ts): written onto its
   * volume before it starts, on the cluster's first deployment only.
   */
  private bootstrapPermit(
    prefix: string,
    spec: MemberSpec,
    args: TikvClusterArgs,
    image: docker.RemoteImage,
    volume: docker.Volume,
  ): BootstrapPermit | undefined {
    const initial = args.pdInitialCluster.split(",").some((entry) => entry.split("=")[0] === spec.member);
    if (spec.kind !== "pd" || !initial) return undefined;
    return new BootstrapPermit(
      `${prefix}-bootstrap-permit`,
      {
        endpoint: args.hosts[spec.host.index - 1].dockerApi,
        image: image.imageId,
        volumeName: volume.name,
        name: containerName(args.networking, `${spec.member}-bootstrap-permit`),
        dataDir: DATA_DIR,
        bootstrap: args.bootstrap,
      },
      { parent: this },
    );
  }

  /**
   * The rollout plan. The CVMs' roll keys are read only once something is deployed, so a first
   * deployment waits for nothing it does not need.
   */
  private rolloutPlan(args: TikvClusterArgs): pulumi.Output<RolloutPlan> {
    const rollKeys = args.hosts.flatMap((h) => (h.rollKey === undefined ? [] : [h.rollKey]));
    const cvms = rollKeys.length === args.hosts.length;
    if (!cvms || args.last.members.length === 0) return pulumi.output(planRollout(rolloutInput(args.plan, args.last)));
    return pulumi.all(rollKeys).apply((rolls) => {
      const keys = Object.fromEntries(args.hosts.map((h, i) => [h.plan.name, rolls[i]]));
      const rollout = planRollout(rolloutInput(args.plan, args.last, keys));
      if (rollout.rolling.length > 0)
        pulumi.log.info(`CVMs change, one host at a time: ${rollout.rolling.join(", ")}`, this);
      return rollout;
    });
  }

  /** The host's cluster certificate and the CA bundle, uploaded where PD and TiKV read them. */
  private tlsUploads(tls: ClusterTlsMaterial | undefined, host: HostPlan): docker.types.input.ContainerUpload[] {
    const hostCert = tls?.hostCerts[host.index - 1];
    if (!tls || !hostCert) return [];
    return [
      { file: TLS_FILES.ca, content: tls.caPem, permissions: FILE_MODES.certificate },
      { file: TLS_FILES.cert, content: hostCert.certPem, permissions: FILE_MODES.certificate },
      // PD and TiKV run as root, which owns uploaded files: 0400 and no other user reads it.
      { file: TLS_FILES.key, content: pulumi.secret(hostCert.keyPem), permissions: FILE_MODES.rootKey },
    ];
  }

  /**
   * Scaling in: PD members leave through PD's API, highest first, once the remaining members are
   * rolled (after `pdChainEnd`); stores must already be Tombstone. Both run before the engine
   * deletes anything.
   */
  private retire(
    name: string,
    args: TikvClusterArgs,
    gateArgs: Pick<MemberRetirementArgs, "pdEndpoints" | "timeoutMinutes" | "tls">,
    pdChainEnd: pulumi.Resource | undefined,
  ): void {
    const retiring = retiringMembers(args.last, args.plan);
    const remaining = pdMembers(args.plan);
    let previous: pulumi.Resource | undefined = pdChainEnd;
    for (const pd of retiring.pd) {
      previous = new MemberRetirement(
        `${name}-${pd}-retire`,
        { ...gateArgs, kind: "pd", member: pd, remaining },
        { parent: this, dependsOn: previous ? [previous] : [] },
      );
    }
    for (const tikv of retiring.tikv) {
      const address = args.last.storeAddresses[Number(tikv.replace(/\D/g, "")) - 1];
      if (address === undefined) {
        throw new pulumi.ResourceError(
          `the last deployment removed ${tikv} but recorded no address for its store; ` +
            "check with pd-ctl store that it is Tombstone, then remove it from the stack with pulumi state delete",
          this,
        );
      }
      new MemberRetirement(
        `${name}-${tikv}-retire`,
        { ...gateArgs, kind: "tikv", member: address, remaining: [] },
        { parent: this },
      );
    }
  }
}
