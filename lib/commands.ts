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

/** Writes the operator's client material where Docker's TLS convention expects it. */
export function certSetupCommand(stack: string): string {
  const dir = certDir(stack);
  return [
    `mkdir -p ${dir}`,
    `pulumi stack output --stack ${stack} caCertPem > ${dir}/ca.pem`,
    `pulumi stack output --stack ${stack} clientCertPem > ${dir}/cert.pem`,
    `(umask 077 && pulumi stack output --stack ${stack} --show-secrets clientKeyPem > ${dir}/key.pem)`,
  ].join(" && ");
}

/** Environment that points the docker CLI at one host's engine, over mutual TLS. */
export function dockerEnv(certPath: string, dockerHost: string): string {
  return `DOCKER_HOST=${dockerHost} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${certPath}`;
}

/** `docker ps` with the given environment (empty: this machine's own engine). */
export function dockerPsCommand(env: string): string {
  return env ? `${env} docker ps` : "docker ps";
}

/** pd-ctl ships in the PD image; running it there needs no local install, and with TLS it uses the member's certificate. */
export function pdCtlCommand(input: CommandsInput, subcommand: string): string {
  const tls = input.tls ? ` --cacert ${TLS_FILES.ca} --cert ${TLS_FILES.cert} --key ${TLS_FILES.key}` : "";
  const url = `${input.tls ? "https" : "http"}://127.0.0.1:${PORTS.pdClient}`;
  return `${input.dockerEnv ? `${input.dockerEnv} ` : ""}docker exec ${input.pdContainer} /pd-ctl -u ${url}${tls} ${subcommand}`;
}
