import * as pulumi from "@pulumi/pulumi";
import { PdTarget } from "../lib/pdApi";
import { Placement, ReportedPlacement, applyPlacement } from "../lib/placement";
import { TlsMaterial } from "../lib/tlsMaterial";

export interface PlacementLabelsArgs {
  placement: Placement;
  /**
   * Changes whenever a store was created, replaced or rolled (the stores' after gates' triggers): a
   * store recreated empty registers under a new id without labels, so PD is asked again.
   */
  trigger: pulumi.Input<string>;
  pdEndpoints: pulumi.Input<pulumi.Input<string>[]>;
  timeoutMinutes: number;
  tls?: TlsMaterial<pulumi.Input<string>>;
}

export interface LabelsInputs {
  placement: Placement;
  trigger: string;
  pdEndpoints: string[];
  timeoutMinutes: number;
  tls?: TlsMaterial;
}

/** What is kept in the state: never the client key. */
interface LabelsOutputs {
  placement: Placement;
  trigger: string;
  reported: ReportedPlacement;
}

/** What is kept: the placement asked for, the trigger and PD's answer; never the client key. */
export function labelsOutputs(inputs: LabelsInputs, reported: ReportedPlacement): LabelsOutputs {
  return { placement: inputs.placement, trigger: inputs.trigger, reported };
}

async function apply(inputs: LabelsInputs): Promise<LabelsOutputs> {
  const target: PdTarget = { endpoints: inputs.pdEndpoints, requestTimeoutMs: 5_000, tls: inputs.tls };
  const reported = await applyPlacement(target, inputs.placement, {
    timeoutMs: inputs.timeoutMinutes * 60_000,
    intervalMs: 2_000,
  });
  return labelsOutputs(inputs, reported);
}

export const placementLabelsProvider: pulumi.dynamic.ResourceProvider<LabelsInputs, LabelsOutputs> = {
  async create(inputs) {
    return { id: "placement-labels", outs: await apply(inputs) };
  },
  async diff(_id, olds, news) {
    const changes = olds.trigger !== news.trigger || JSON.stringify(olds.placement) !== JSON.stringify(news.placement);
    return { changes, replaces: [] };
  },
  async update(_id, _olds, news) {
    return { outs: await apply(news) };
  },
};

/**
 * Each store's zone and host labels and PD's location-labels and isolation-level, set through PD's
 * API once every member is through its gate (lib/placement.ts applyPlacement says why the API and
 * not pd.toml; each store also starts with its labels in server.labels, lib/clusterConfig.ts). `reported` is what PD answers
 * afterwards.
 */
export class PlacementLabels extends pulumi.dynamic.Resource {
  declare public readonly reported: pulumi.Output<ReportedPlacement>;

  constructor(name: string, args: PlacementLabelsArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      placementLabelsProvider,
      name,
      { ...args, tls: args.tls && { ...args.tls, keyPem: pulumi.secret(args.tls.keyPem) }, reported: undefined },
      opts,
      "tikv-cvm",
      "PlacementLabels",
    );
  }
}
