// Mode existing: servers the user already runs, listed in config `hosts`, each reached over its
// own mutual-TLS Docker API with the user's client material (secret config).
import * as pulumi from "@pulumi/pulumi";
import { ListedHost } from "../components/listedHost";
import { registryAuths } from "../lib/builds";
import { certDir, certSetupCommand, dockerEnv } from "../lib/commands";
import { hostShare } from "../lib/memoryBudget";
import { PROJECT } from "../lib/settings";
import { TlsMaterial } from "../lib/tlsMaterial";
import { Mode, Placement, SettingsOf, StackNames } from "./mode";

/** The user's Docker client material, read as secrets from the stack config. */
function clientMaterial(): TlsMaterial<pulumi.Output<string>> {
  const config = new pulumi.Config(PROJECT);
  return {
    caPem: config.requireSecret("dockerCaPem"),
    certPem: config.requireSecret("dockerCertPem"),
    keyPem: config.requireSecret("dockerKeyPem"),
  };
}

/** The registry password as the secret it is stored as (never read in clear into an input). */
export function registryPassword(): pulumi.Output<string> | undefined {
  return new pulumi.Config(PROJECT).getSecret("registryPassword");
}

export function existingMode(settings: SettingsOf<"existing">, names: StackNames): Mode {
  const listed = settings.existing.hosts;
  return {
    name: "existing",
    operatorAddressIsEip: false,
    // The hosts are the user's: x86_64, as PingCAP's own deployments and this program's CVMs;
    // README, "Running your own build", says so.
    hostArchitecture: "x86_64",
    // The listed names and private addresses, in order.
    addressing: { kind: "listed", hosts: listed },
    // One pair per host; monitoring runs on the first.
    enginePerHost: true,
    memoryShare: (host) =>
      hostShare(settings.hostMemoryGiB, host.pdName !== undefined, settings.monitoring && host.index === 1),
    // The Docker material is the user's, in the stack's secret config: certSetup copies it to
    // ~/.tikv-cvm/<stack> (as mode cvm's), where the printed commands look for it. Before issue 22
    // they read an exported DOCKER_CERT_PATH, which also reached `pulumi up` and broke it.
    certSetup: certSetupCommand(names.stack, settings.clusterTls, "config", settings.clients),
    place({ plan }): Placement {
      const client = clientMaterial();
      const hosts = plan.hosts.map(
        (hostPlan, i) =>
          new ListedHost(`${names.prefix}-${hostPlan.index}`, {
            plan: hostPlan,
            dockerHost: listed[i].dockerHost,
            client,
            readinessTimeoutMinutes: settings.existing.readinessTimeoutMinutes,
            registryAuth: registryAuths(settings.builds, registryPassword()),
          }),
      );
      return {
        hosts,
        networking: { kind: "host" },
        dockerHosts: hosts.map((h) => h.dockerHost),
        dockerEnvs: listed.map((h) => pulumi.output(dockerEnv(certDir(names.stack), h.dockerHost))),
        drainBy: () => undefined,
      };
    },
  };
}
