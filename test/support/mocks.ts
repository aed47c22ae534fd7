// Mock resource state shared by the jest harness and the benchmark: what the providers would
// return, with realistic sizes where limits depend on them. No jest dependency.
import * as crypto from "crypto";

export const FAKE_IMAGE_ID = "img-487zeit5";

/** PEM blocks of realistic size: user-data limits are checked against these. */
function fakePem(label: string, derBytes: number, seed: string): string {
  const body = crypto.createHash("sha512").update(seed).digest();
  const der = Buffer.alloc(derBytes);
  for (let i = 0; i < derBytes; i++) der[i] = body[i % body.length] ^ (i & 255);
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

let eipCounter = 0;

export function resetMockState(): void {
  eipCounter = 0;
}

/** When the mocks' certificates start: every CA, then every leaf. */
export const MOCK_CA_VALID_FROM = "2026-01-01T00:00:00Z";
export const MOCK_LEAF_VALID_FROM = "2026-12-07T06:00:00Z";

export function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "tencentcloud:Eip/instance:Instance":
    case "tencentcloud:index/eip:Eip":
      eipCounter++;
      return { ...inputs, publicIp: `198.51.100.${10 + eipCounter}` };
    case "tls:index/privateKey:PrivateKey":
      // An ECDSA P-256 key in PKCS#8 PEM is 241 bytes; SEC1 is 227.
      return {
        ...inputs,
        privateKeyPem: fakePem("EC PRIVATE KEY", 121, name),
        publicKeyPem: fakePem("PUBLIC KEY", 91, name),
      };
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      // A P-256 certificate with four SANs is about 600 bytes of DER. Validity as the provider
      // reports it (Go's time.MarshalText, RFC 3339): CAs made earlier than the leaves.
      return {
        ...inputs,
        certPem: fakePem("CERTIFICATE", 640, name),
        validityStartTime: type.includes("selfSigned") ? MOCK_CA_VALID_FROM : MOCK_LEAF_VALID_FROM,
        ...(inputs.validityPeriodHours === undefined
          ? {}
          : {
              validityEndTime: new Date(
                Date.parse(type.includes("selfSigned") ? MOCK_CA_VALID_FROM : MOCK_LEAF_VALID_FROM) +
                  Number(inputs.validityPeriodHours) * 3_600_000,
              ).toISOString(),
            }),
      };
    case "tls:index/certRequest:CertRequest":
      return { ...inputs, certRequestPem: fakePem("CERTIFICATE REQUEST", 400, name) };
    case "random:index/randomPassword:RandomPassword":
      return {
        ...inputs,
        result: crypto
          .createHash("sha256")
          .update(name)
          .digest("hex")
          .slice(0, Number(inputs.length ?? 24)),
      };
    case "docker:index/remoteImage:RemoteImage":
      return { ...inputs, imageId: `sha256:${crypto.createHash("sha256").update(String(inputs.name)).digest("hex")}` };
    // The engine's id of the image it built (components/patchedImage.ts), one per name.
    case "pulumi-nodejs:dynamic/tikv-cvm:PatchedImage":
      return {
        ...inputs,
        imageId: `sha256:${crypto
          .createHash("sha256")
          .update(`built ${String(inputs.tag)}`)
          .digest("hex")}`,
      };
    default:
      return { ...inputs };
  }
}
