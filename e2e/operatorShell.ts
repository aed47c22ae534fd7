// Issue 22: the operator's shell. README once had mode-existing users `export DOCKER_CERT_PATH`
// for the printed commands, and in that shell `pulumi up` failed on every Docker resource ("cert_path
// must not be specified": the provider filled cert_path from the environment beside cert_material).
// The suite runs `up` with operatorShellEnv (the program must ignore it: lib/dockerProvider.ts) and
// the printed commands without it (E2EStack.printed: they must need none of it, lib/commands.ts).

/** What that shell exported: DOCKER_CERT_PATH (the old README step), DOCKER_HOST and DOCKER_TLS_VERIFY. */
export function operatorShellEnv(certDir: string, dockerHost: string): Record<string, string> {
  return { DOCKER_CERT_PATH: certDir, DOCKER_HOST: dockerHost, DOCKER_TLS_VERIFY: "1" };
}
