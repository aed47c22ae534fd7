// Mode existing: servers the user already runs, listed in config `hosts`, each reached over its
// own mutual-TLS Docker API with the user's client material (secret config).
import * as pulumi from "@pulumi/pulumi";
import { ListedHost } from "../components/listedHost";
import { dockerEnv } from "../lib/commands";
import { hostShare } from "../lib/memoryBudget";
import { PROJECT } from "../lib/settings";
import { TlsMaterial } from "../lib/tlsMaterial";
import { Mode, Placement, SettingsOf, StackNames } from "./mode";

/**
 * The client material is the user's own: the printed commands read its directory from the user's
 * DOCKER_CERT_PATH when they run, and stop with this message when it is not set.
 */
export const USER_CERT_DIR =
  '"${DOCKER_CERT_PATH:?export DOCKER_CERT_PATH=<the directory of your Docker client ca.pem, cert.pem and key.pem>}"';

/** The user's Docker client material, read as secrets from the stack config. */
function clientMaterial(): TlsMaterial<pulumi.Output<string>> {
  const config = new pulumi.Config(PROJECT);
  return {
    caPem: config.requireSecret("dockerCaPem"),
    certPem: config.requireSecret("dockerCertPem"),
    keyPem: config.requireSecret("dockerKeyPem"),
  };
}

export function existingMode(settings: SettingsOf<"existing">, names: StackNames): Mode {
  const listed = settings.existing.hosts;
  return {
    name: "existing",
    operatorAddressIsEip: false,
    // The listed names and private addresses, in order.
    addressing: { kind: "listed", hosts: listed },
    // One pair per host; monitoring runs on the first.
    memoryShare: (host) =>
      hostShare(settings.hostMemoryGiB, host.pdName !== undefined, settings.monitoring && host.index === 1),
    // The Docker material is the user's: nothing to copy out of the stack.
    certSetup: undefined,
    place({ plan }): Placement {
      const client = clientMaterial();
      const hosts = plan.hosts.map(
        (hostPlan, i) =>
          new ListedHost(`${names.prefix}-${hostPlan.index}`, {
            plan: hostPlan,
            dockerHost: listed[i].dockerHost,
            client,
            readinessTimeoutMinutes: settings.existing.readinessTimeoutMinutes,
          }),
      );
      return {
        hosts,
        networking: { kind: "host" },
        dockerHosts: hosts.map((h) => h.dockerHost),
        dockerEnvs: listed.map((h) => pulumi.output(dockerEnv(USER_CERT_DIR, h.dockerHost))),
        drainBy: () => undefined,
      };
    },
  };
}
