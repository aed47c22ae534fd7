// Ready-to-paste operator commands for the stack outputs. Pure.
import { TLS_FILES } from "./clusterConfig";
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

/**
 * Writes the operator's Docker client material where Docker's TLS convention expects it and, with
 * cluster TLS, the cluster admin's material for pd-ctl in `cluster/` beside it. Two directories for
 * two trust domains: the Docker key is root on every host, the admin key only speaks to PD.
 */
export function certSetupCommand(stack: string, clusterTls: boolean): string {
  const dir = certDir(stack);
  // umask only applies to new files and directories: a key file already there (an earlier copy,
  // another umask) keeps its mode through `>`, so it is removed first and directories are chmod'ed.
  const privateDir = (d: string) => `(umask 077 && mkdir -p ${d} && chmod 700 ${d})`;
  const out = (name: string, file: string, secret = false) =>
    secret
      ? `(umask 077 && rm -f ${file} && pulumi stack output --stack ${stack} --show-secrets ${name} > ${file})`
      : `pulumi stack output --stack ${stack} ${name} > ${file}`;
  return [
    privateDir(dir),
    out("caCertPem", `${dir}/ca.pem`),
    out("clientCertPem", `${dir}/cert.pem`),
    out("clientKeyPem", `${dir}/key.pem`, true),
    ...(clusterTls
      ? [
          privateDir(`${dir}/cluster`),
          out("clusterCaCertPem", `${dir}/cluster/ca.pem`),
          out("clusterAdminCertPem", `${dir}/cluster/cert.pem`),
          out("clusterAdminKeyPem", `${dir}/cluster/key.pem`, true),
        ]
      : []),
  ].join(" && ");
}

/** Environment that points the docker CLI at one host's engine, over mutual TLS. */
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
