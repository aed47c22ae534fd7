// Mode local: every member on this machine's own Docker engine, on one user-defined network.
import * as pulumi from "@pulumi/pulumi";
import * as os from "os";
import { LocalEngine } from "../components/localEngine";
import { certSetupCommand } from "../lib/commands";
import { registryAuths } from "../lib/builds";
import { localEngineTarget } from "../lib/dockerProvider";
import { registryPassword } from "./existing";
import { localShare } from "../lib/memoryBudget";
import { Mode, Placement, SettingsOf, StackNames } from "./mode";

export function localMode(settings: SettingsOf<"local">, names: StackNames): Mode {
  return {
    name: "local",
    operatorAddressIsEip: false,
    // This machine's engine runs containers of this machine's architecture (Node's os.arch()).
    hostArchitecture: os.arch() === "arm64" ? "aarch64" : "x86_64",
    // Components reach each other by container name on the user-defined network.
    addressing: { kind: "containers" },
    // One machine for every pair: what is left after the system and monitoring, split evenly.
    enginePerHost: false,
    memoryShare: (host) =>
      localShare(settings.hostMemoryGiB, settings.nodeCount, host.pdName !== undefined, settings.monitoring),
    // The engine is this machine's own: no Docker credential comes from the stack; with clients,
    // their material (and the cluster admin's) still needs writing out.
    certSetup:
      settings.clusterTls && settings.clients.length > 0
        ? certSetupCommand(names.stack, true, "none", settings.clients)
        : undefined,
    place({ plan }): Placement {
      // DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, read here and nowhere else; certificates
      // beside a local socket stop the deployment before anything is created, naming the fix.
      let target;
      try {
        target = localEngineTarget(process.env, os.homedir());
      } catch (e) {
        throw new pulumi.RunError((e as Error).message);
      }
      const engine = new LocalEngine(`${names.prefix}-local`, {
        networkName: names.prefix,
        target,
        registryAuth: registryAuths(settings.builds, registryPassword()),
      });
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
