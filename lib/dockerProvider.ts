// The inputs of every docker.Provider this program makes. Pure (types only from @pulumi/docker).
//
// The Docker provider fills each input the program leaves out from the environment of `pulumi up`,
// in three layers:
//  - @pulumi/docker 4.11's SDK: `host` from DOCKER_HOST (node_modules/@pulumi/docker/provider.js);
//  - the bridge: `host` from DOCKER_HOST (pulumi-docker v4.11.0 provider/resources.go, Config
//    "host" DefaultInfo EnvVars; from v4.11.1 on, else the platform's socket, ComputeDefault),
//    then every Terraform schema default for an input still missing
//    (pulumi-terraform-bridge v3.120.0 pkg/tfbridge/schema.go applyDefaults: `if _, has :=
//    result[name]; !has` — an input given, even "", is never defaulted);
//  - kreuzwerker/terraform-provider-docker (v3.9.0, and the 2026-09 commit the e2e plugin wraps)
//    internal/provider/provider.go New: `cert_path` from DOCKER_CERT_PATH, `context` from
//    DOCKER_CONTEXT, `ca_material`/`cert_material`/`key_material` from DOCKER_CA_MATERIAL /
//    DOCKER_CERT_MATERIAL / DOCKER_KEY_MATERIAL (schema.EnvDefaultFunc).
// config.go MakeClient then refuses "cert_path must not be specified" beside cert_material, and
// provider.go configure lets a non-empty `context` override `host`. So an operator's exported
// DOCKER_CERT_PATH broke every resource of a TLS host, and DOCKER_CONTEXT could re-point it.
// An explicit "" is a value: the bridge passes it through (sdk-v2 shim NewProviderConfig keeps it in
// the config map) and SDKv2 reads the config before any default (helper/schema
// ConfigFieldReader.readPrimitive calls DefaultValue only when the key is absent), so "" turns
// each of them off. The real-engine probe of issue 22 showed it: with DOCKER_CERT_PATH,
// DOCKER_HOST and DOCKER_TLS_VERIFY exported, `up` failed on the volume before and passed after.
//
// Not reachable from inputs, hence the pin on @pulumi/docker 4.11.2: the published docker plugin
// 4.11.0 (not the e2e one) also runs pulumi-docker's patch 0002 "Smarter default Docker client
// behavior", which puts client.FromEnv first in MakeClient and drops WithHost(config.Host) from
// both TLS branches: its TLS providers dial DOCKER_HOST (or, unset, the local socket) and load
// DOCKER_CERT_PATH's files whatever the inputs say. pulumi-docker v4.11.1 removed the patch (#1623).
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { TlsMaterial } from "./tlsMaterial";

/** Credentials for the registries of the user's images (lib/builds.ts registryAuths); the password secret. */
export interface RegistryAuth {
  readonly address: string;
  readonly username: string;
  readonly password: pulumi.Input<string>;
}

/**
 * The provider's `registryAuth`, only when there are credentials: a provider whose inputs do not
 * change keeps every resource as it is. The provider uses them for the pull alone (kreuzwerker
 * resource_docker_image_funcs.go pullImage: the X-Registry-Auth header of POST /images/create);
 * nothing is written on the host.
 */
function registry(auths: readonly RegistryAuth[] | undefined): Pick<docker.ProviderArgs, "registryAuth"> {
  return auths && auths.length > 0 ? { registryAuth: auths.map((a) => ({ ...a })) } : {};
}

/** Every input that has an environment default, set: nothing comes from the operator's shell. */
export function tlsProviderArgs(
  host: pulumi.Input<string>,
  client: TlsMaterial<pulumi.Input<string>>,
  auths?: readonly RegistryAuth[],
): docker.ProviderArgs {
  return {
    ...registry(auths),
    host,
    caMaterial: client.caPem,
    certMaterial: client.certPem,
    keyMaterial: client.keyPem,
    // DOCKER_CERT_PATH beside the material above: "cert_path must not be specified".
    certPath: "",
    // DOCKER_CONTEXT: a context would replace `host`.
    context: "",
  };
}

/** The environment variables mode local reads, and nothing else (README, Modes). */
export const LOCAL_ENGINE_VARIABLES = ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"] as const;

export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

/** Mode local's engine, found from the environment the way lib/dockerApi.ts resolveEndpoint finds it. */
export interface LocalEngineTarget {
  readonly host: string;
  /** The directory of ca.pem, cert.pem and key.pem for a TLS tcp:// engine; "" without TLS. */
  readonly certPath: string;
}

/**
 * DOCKER_HOST (default the local socket); for a tcp:// host, TLS when DOCKER_TLS_VERIFY or
 * DOCKER_CERT_PATH is set, with the files in DOCKER_CERT_PATH (default ~/.docker), as the docker CLI.
 * Throws, naming the variable and the fix, for certificates beside a local socket: the published
 * plugin would load them from the environment anyway (patch 0002's client.FromEnv) and speak TLS to a
 * socket that does not, failing every resource.
 */
export function localEngineTarget(env: NodeJS.ProcessEnv, homedir: string): LocalEngineTarget {
  const host = env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  if (!/^tcp:\/\//.test(host)) {
    if (env.DOCKER_CERT_PATH) {
      throw new Error(
        `mode local: DOCKER_CERT_PATH is set (${env.DOCKER_CERT_PATH}) but DOCKER_HOST is ${host}, a local ` +
          "socket without TLS: the Docker provider would speak TLS to it and fail. Run `unset DOCKER_CERT_PATH " +
          "DOCKER_TLS_VERIFY` (no command this program prints needs them), or set DOCKER_HOST to the tcp:// " +
          "engine those certificates are for.",
      );
    }
    return { host, certPath: "" };
  }
  const tls = Boolean(env.DOCKER_TLS_VERIFY || env.DOCKER_CERT_PATH);
  return { host, certPath: tls ? env.DOCKER_CERT_PATH || `${homedir}/.docker` : "" };
}

/** Mode local's provider: the target above and nothing else from the environment. */
export function localProviderArgs(target: LocalEngineTarget, auths?: readonly RegistryAuth[]): docker.ProviderArgs {
  return {
    ...registry(auths),
    host: target.host,
    certPath: target.certPath,
    context: "",
    caMaterial: "",
    certMaterial: "",
    keyMaterial: "",
  };
}
