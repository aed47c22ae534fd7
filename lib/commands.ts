// Ready-to-paste operator commands for the stack outputs. Pure.
import { PORTS } from "./topology";

export interface CommandsInput {
  readonly stack: string;
  /** Public address of the host that runs the first PD member. */
  readonly pdHostPublicIp: string;
  readonly pdName: string;
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

/** Environment that points the docker CLI at one host. */
export function dockerEnv(stack: string, publicIp: string): string {
  return `DOCKER_HOST=tcp://${publicIp}:${PORTS.docker} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${certDir(stack)}`;
}

export function dockerPsCommand(stack: string, publicIp: string): string {
  return `${dockerEnv(stack, publicIp)} docker ps`;
}

/** pd-ctl ships in the PD image; running it there needs no local install. */
export function pdCtlCommand(input: CommandsInput, subcommand: string): string {
  return `${dockerEnv(input.stack, input.pdHostPublicIp)} docker exec ${input.pdName} ` +
    `/pd-ctl -u http://127.0.0.1:${PORTS.pdClient} ${subcommand}`;
}
