// Mode local: every member on this machine's own Docker engine, on one user-defined network.
import * as pulumi from "@pulumi/pulumi";
import { LocalEngine } from "../components/localEngine";
import { localShare } from "../lib/memoryBudget";
import { Mode, Placement, SettingsOf, StackNames } from "./mode";

export function localMode(settings: SettingsOf<"local">, names: StackNames): Mode {
  return {
    name: "local",
    operatorAddressIsEip: false,
    // Components reach each other by container name on the user-defined network.
    addressing: { kind: "containers" },
    // One machine for every pair: what is left after the system and monitoring, split evenly.
    memoryShare: (host) =>
      localShare(settings.hostMemoryGiB, settings.nodeCount, host.pdName !== undefined, settings.monitoring),
    // The engine is this machine's own: no Docker credential comes from the stack.
    certSetup: undefined,
    place({ plan }): Placement {
      const engine = new LocalEngine(`${names.prefix}-local`, { networkName: names.prefix });
      return {
        hosts: plan.hosts.map((hostPlan) => ({
          plan: hostPlan,
          provider: engine.provider,
          dockerApi: { kind: "environment" as const },
          operatorAddress: "127.0.0.1",
        })),
        networking: { kind: "bridge", network: engine.networkName, namePrefix: names.prefix },
        dockerHosts: plan.hosts.map(() => "this machine's engine (DOCKER_HOST or the default socket)"),
        dockerEnvs: plan.hosts.map(() => pulumi.output("")),
        drainBy: () => undefined,
      };
    },
  };
}
