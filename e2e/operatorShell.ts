// Issue 22: the operator's shell. README once had mode-existing users `export DOCKER_CERT_PATH`
// for the printed commands, and in that shell `pulumi up` failed on every Docker resource ("cert_path
// must not be specified": the provider filled cert_path from the environment beside cert_material).
// The suite runs `up` with operatorShellEnv (the program must ignore it: lib/dockerProvider.ts) and
// the printed commands with runPrintedCommand (they must need none of it: lib/commands.ts).
import { run } from "./util";

/** What that shell exported: DOCKER_CERT_PATH (the old README step), DOCKER_HOST and DOCKER_TLS_VERIFY. */
export function operatorShellEnv(certDir: string, dockerHost: string): NodeJS.ProcessEnv {
  return { DOCKER_CERT_PATH: certDir, DOCKER_HOST: dockerHost, DOCKER_TLS_VERIFY: "1" };
}

/** Runs a printed output command as `sh -c` with no DOCKER_CERT_PATH/DOCKER_HOST/DOCKER_TLS_VERIFY; its stdout. */
export function runPrintedCommand(command: string, env: NodeJS.ProcessEnv): string {
  const clean: NodeJS.ProcessEnv = { ...env };
  for (const name of ["DOCKER_CERT_PATH", "DOCKER_HOST", "DOCKER_TLS_VERIFY"]) delete clean[name];
  return run("sh", ["-c", command], { env: clean }).stdout;
}
