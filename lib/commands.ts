// Ready-to-paste operator commands for the stack outputs. Pure.
import { TLS_FILES } from "./clusterConfig";
import { PROJECT } from "./configKeys";
import { PORTS } from "./topology";

export interface CommandsInput {
  /** Environment that points the docker CLI at the engine running the first PD ("" for local). */
  readonly dockerEnv: string;
  /** Container name of the first PD member. */
  readonly pdContainer: string;
  readonly tls: boolean;
}

export function certDir(stack: string): string {
  return `~/.tikv-cvm/${stack}`;
}

/** Where certSetup takes the Docker client material from. */
export type DockerMaterialSource =
  /** Mode cvm: the stack's outputs caCertPem, clientCertPem, clientKeyPem (the stack's Docker CA issued them). */
  | "outputs"
  /** Mode existing: the user's own material, from the stack's secret config dockerCaPem, dockerCertPem, dockerKeyPem. */
  | "config"
  /** Mode local: this machine's own engine, no Docker material to write. */
  | "none";

/** The config keys mode existing reads the user's Docker client material from (modes/existing.ts). */
export const DOCKER_MATERIAL_KEYS = {
  ca: `${PROJECT}:dockerCaPem`,
  cert: `${PROJECT}:dockerCertPem`,
  key: `${PROJECT}:dockerKeyPem`,
} as const;

/**
 * Writes the operator's Docker client material where Docker's TLS convention expects it and, with
 * cluster TLS, the cluster admin's material for pd-ctl in `cluster/` beside it. Two directories for
 * two trust domains: the Docker key is root on every host, the admin key only speaks to PD.
 * The printed docker commands take their certificates from this directory (`certDir`), so nothing
 * needs exporting in the shell that also runs `pulumi up` (issue 22: an exported DOCKER_CERT_PATH
 * once broke it).
 */
export function certSetupCommand(
  stack: string,
  clusterTls: boolean,
  docker: DockerMaterialSource = "outputs",
  clients: readonly string[] = [],
): string {
  const dir = certDir(stack);
  // umask only applies to new files and directories: a key file already there (an earlier copy,
  // another umask) keeps its mode through `>`, so it is removed first and directories are chmod'ed.
  const privateDir = (d: string) => `(umask 077 && mkdir -p ${d} && chmod 700 ${d})`;
  const out = (name: string, file: string, secret = false) =>
    secret
      ? `(umask 077 && rm -f ${file} && pulumi stack output --stack ${stack} --show-secrets ${name} > ${file})`
      : `pulumi stack output --stack ${stack} ${name} > ${file}`;
  // `pulumi config get` prints a secret's plaintext value and a newline, as `stack output --show-secrets`.
  const fromConfig = (key: string, file: string, secret = false) =>
    secret
      ? `(umask 077 && rm -f ${file} && pulumi config get --stack ${stack} ${key} > ${file})`
      : `pulumi config get --stack ${stack} ${key} > ${file}`;
  // One client's entry of a map output: jq reads the name as a string, never as a filter, and with
  // -e fails when it is missing or pulumi printed nothing (a pipeline's status is jq's).
  const clientOut = (output: string, client: string, file: string, secret = false) => {
    const show = secret ? " --show-secrets" : "";
    const write = `pulumi stack output --stack ${stack} --json${show} ${output} | jq -er --arg c ${client} '.[$c]' > ${file}`;
    return secret ? `(umask 077 && rm -f ${file} && ${write})` : write;
  };
  const dockerFiles =
    docker === "none"
      ? []
      : docker === "outputs"
        ? [
            out("caCertPem", `${dir}/ca.pem`),
            out("clientCertPem", `${dir}/cert.pem`),
            out("clientKeyPem", `${dir}/key.pem`, true),
          ]
        : [
            fromConfig(DOCKER_MATERIAL_KEYS.ca, `${dir}/ca.pem`),
            fromConfig(DOCKER_MATERIAL_KEYS.cert, `${dir}/cert.pem`),
            fromConfig(DOCKER_MATERIAL_KEYS.key, `${dir}/key.pem`, true),
          ];
  return [
    privateDir(dir),
    ...dockerFiles,
    ...(clusterTls
      ? [
          privateDir(`${dir}/cluster`),
          out("clusterCaCertPem", `${dir}/cluster/ca.pem`),
          out("clusterAdminCertPem", `${dir}/cluster/cert.pem`),
          out("clusterAdminKeyPem", `${dir}/cluster/key.pem`, true),
          ...(clients.length > 0 ? [privateDir(`${dir}/clients`)] : []),
          ...clients.flatMap((client) => {
            const cdir = clientDir(stack, client);
            return [
              privateDir(cdir),
              out("clusterCaCertPem", `${cdir}/ca.pem`),
              clientOut("clientCerts", client, `${cdir}/cert.pem`),
              clientOut("clientKeys", client, `${cdir}/key.pem`, true),
            ];
          }),
        ]
      : []),
  ].join(" && ");
}

/** Where certSetup writes one application client's ca.pem, cert.pem and key.pem. */
export function clientDir(stack: string, client: string): string {
  return `${certDir(stack)}/clients/${client}`;
}

/** Where a client container finds its material and the PD endpoints (client/README.md). */
export const CLIENT_TLS_DIR = "/etc/tikv-cvm-client";
export const CLIENT_ENV = { pd: "TIKV_CVM_PD", tlsDir: "TIKV_CVM_TLS_DIR", name: "TIKV_CVM_CLIENT" } as const;

export interface ClientRunInput {
  readonly stack: string;
  readonly client: string;
  /** Environment pointing the docker CLI at the engine that runs the client ("" for this machine's own). */
  readonly dockerEnv: string;
  /** `host` (a host's own network: cvm, existing) or the cluster's user-defined network (local). */
  readonly network: string;
  /**
   * Where the client reaches PD: each member's client gateway (`host:2389`, lib/pdGateway.ts),
   * reachable from that network; PD itself admits no client certificate.
   */
  readonly pdEndpoints: readonly string[];
}

/**
 * Runs a client image inside the cluster's network with that client's material: the operator
 * appends the image and its arguments (`eval "$(…) IMAGE ARGS…"`). The key goes into the container
 * with `docker cp` (a file, 0600), never into its environment or a command line, which `docker
 * inspect` and `ps` show; the container is removed afterwards whatever happens. It runs as the
 * image's user with every capability dropped, like the members.
 */
export function clientRunCommand(input: ClientRunInput): string {
  // The environment prefixes each docker command (a POSIX shell expands `~` after `=` there, not
  // necessarily in `export` arguments).
  const docker = input.dockerEnv ? `${input.dockerEnv} docker` : "docker";
  const script =
    `set -e; ` +
    `c=$(${docker} create --network ${input.network} --cap-drop ALL --security-opt no-new-privileges ` +
    `--label tikv-cvm-client=${input.client} ` +
    `-e ${CLIENT_ENV.pd}=${input.pdEndpoints.join(",")} -e ${CLIENT_ENV.tlsDir}=${CLIENT_TLS_DIR} ` +
    `-e ${CLIENT_ENV.name}=${input.client} "$@"); ` +
    `trap "${docker} rm -f $c >/dev/null" EXIT; ` +
    `${docker} cp ${clientDir(input.stack, input.client)}/. $c:${CLIENT_TLS_DIR}; ` +
    `${docker} start -a $c`;
  return `sh -c '${script}' tikv-cvm-client`;
}

/**
 * Environment that points the docker CLI at one host's engine, over mutual TLS: a prefix of that one
 * command, so the operator's shell keeps no DOCKER_* variable (an exported DOCKER_CERT_PATH or
 * DOCKER_HOST would also reach `pulumi up`'s Docker provider: lib/dockerProvider.ts). Assignments
 * before a command override the shell's own DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, and the
 * docker CLI ignores DOCKER_CONTEXT when DOCKER_HOST is set.
 */
export function dockerEnv(certPath: string, dockerHost: string): string {
  return `DOCKER_HOST=${dockerHost} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${certPath}`;
}

/**
 * `docker ps` with the given environment (empty: this machine's own engine). One shell command line:
 * run it with `eval "$(pulumi stack output …)"` (or `sh -c`). Word-splitting an unquoted `$(…)`
 * does not work: the shell recognises `DOCKER_HOST=…` as an assignment only when it parses it.
 */
export function dockerPsCommand(env: string): string {
  return env ? `${env} docker ps` : "docker ps";
}

/** pd-ctl ships in the PD image; running it there needs no local install, and with TLS it uses the member's certificate. */
export function pdCtlCommand(input: CommandsInput, subcommand: string): string {
  const tls = input.tls ? ` --cacert ${TLS_FILES.ca} --cert ${TLS_FILES.cert} --key ${TLS_FILES.key}` : "";
  const url = `${input.tls ? "https" : "http"}://127.0.0.1:${PORTS.pdClient}`;
  return `${input.dockerEnv ? `${input.dockerEnv} ` : ""}docker exec ${input.pdContainer} /pd-ctl -u ${url}${tls} ${subcommand}`;
}
