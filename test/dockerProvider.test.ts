// Issue 22: the inputs of the program's Docker providers leave nothing to the operator's DOCKER_*
// environment (modes cvm and existing), and mode local reads exactly DOCKER_HOST, DOCKER_TLS_VERIFY
// and DOCKER_CERT_PATH, refusing certificates beside a local socket before anything is created.
import { DEFAULT_DOCKER_HOST, localEngineTarget, localProviderArgs, tlsProviderArgs } from "../lib/dockerProvider";

test('TLS hosts: cert_path and context are given as "", so DOCKER_CERT_PATH and DOCKER_CONTEXT never fill them', () => {
  expect(tlsProviderArgs("tcp://192.0.2.11:2376", { caPem: "CA", certPem: "CERT", keyPem: "KEY" })).toEqual({
    host: "tcp://192.0.2.11:2376",
    caMaterial: "CA",
    certMaterial: "CERT",
    keyMaterial: "KEY",
    certPath: "",
    context: "",
  });
});

describe("mode local", () => {
  const HOME = "/home/me";
  test("no DOCKER_*: the default socket, no TLS; every provider input given", () => {
    const target = localEngineTarget({}, HOME);
    expect(target).toEqual({ host: DEFAULT_DOCKER_HOST, certPath: "" });
    expect(localProviderArgs(target)).toEqual({
      host: DEFAULT_DOCKER_HOST,
      certPath: "",
      context: "",
      caMaterial: "",
      certMaterial: "",
      keyMaterial: "",
    });
  });

  test("DOCKER_CONTEXT and the *_MATERIAL variables are not read", () => {
    expect(
      localEngineTarget({ DOCKER_CONTEXT: "remote", DOCKER_CA_MATERIAL: "x", DOCKER_HOST: "unix:///run/d.sock" }, HOME),
    ).toEqual({ host: "unix:///run/d.sock", certPath: "" });
  });

  test("a tcp:// DOCKER_HOST: TLS with DOCKER_CERT_PATH, or ~/.docker with DOCKER_TLS_VERIFY alone, plain otherwise", () => {
    const host = "tcp://127.0.0.1:2376";
    expect(localEngineTarget({ DOCKER_HOST: host, DOCKER_CERT_PATH: "/certs" }, HOME)).toEqual({
      host,
      certPath: "/certs",
    });
    expect(localEngineTarget({ DOCKER_HOST: host, DOCKER_TLS_VERIFY: "1" }, HOME)).toEqual({
      host,
      certPath: `${HOME}/.docker`,
    });
    expect(localEngineTarget({ DOCKER_HOST: "tcp://127.0.0.1:2375" }, HOME)).toEqual({
      host: "tcp://127.0.0.1:2375",
      certPath: "",
    });
  });

  test.each([{}, { DOCKER_HOST: "unix:///var/run/docker.sock" }])(
    "DOCKER_CERT_PATH beside a local socket (%j) is refused, naming the variable and the fix",
    (env) => {
      expect(() => localEngineTarget({ ...env, DOCKER_CERT_PATH: "/home/me/.tikv-cvm/prod" }, HOME)).toThrow(
        /DOCKER_CERT_PATH is set \(\/home\/me\/\.tikv-cvm\/prod\) but DOCKER_HOST is unix:\/\/\/var\/run\/docker\.sock.*unset DOCKER_CERT_PATH DOCKER_TLS_VERIFY/,
      );
    },
  );
});
