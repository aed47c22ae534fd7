// Certificate policy alone: lifetimes, renewal window, and the CA rotation's allowed steps.
import {
  CA_VALIDITY_HOURS,
  CaRotation,
  LEAF_EARLY_RENEWAL_HOURS,
  LEAF_VALIDITY_HOURS,
  caResourceName,
  checkCaTransition,
  trustedGenerations,
} from "../lib/certificates";

test("leaves live at most a year and renew in their last quarter; the CA outlives them", () => {
  expect(LEAF_VALIDITY_HOURS).toBeLessThanOrEqual(366 * 24);
  expect(LEAF_EARLY_RENEWAL_HOURS).toBeGreaterThan(0);
  // Renewal must start well inside the validity, or every refresh would renew everything.
  expect(LEAF_EARLY_RENEWAL_HOURS).toBeLessThan(LEAF_VALIDITY_HOURS / 2);
  expect(CA_VALIDITY_HOURS).toBeGreaterThan(2 * LEAF_VALIDITY_HOURS);
});

test("the CAs that exist and are trusted at each step, the issuing one first", () => {
  expect(trustedGenerations({ generation: 1, rotation: "" })).toEqual([1]);
  expect(trustedGenerations({ generation: 1, rotation: "trust-next" })).toEqual([1, 2]);
  expect(trustedGenerations({ generation: 2, rotation: "trust-previous" })).toEqual([2, 1]);
  expect(trustedGenerations({ generation: 2, rotation: "" })).toEqual([2]);
  expect(caResourceName("tikv-dev-pki-ca", 1)).toBe("tikv-dev-pki-ca");
  expect(caResourceName("tikv-dev-cluster-tls-ca", 3)).toBe("tikv-dev-cluster-tls-ca3");
});

describe("CA transitions between deployments", () => {
  const c = (generation: number, rotation: CaRotation["rotation"] = ""): CaRotation => ({ generation, rotation });
  test.each([
    ["a first deployment, at any generation", undefined, c(4)],
    ["no change", c(2), c(2)],
    ["steady -> trust the next", c(1), c(1, "trust-next")],
    ["trust the next -> the next issues", c(1, "trust-next"), c(2, "trust-previous")],
    ["the next issues -> stop trusting the previous", c(2, "trust-previous"), c(2)],
    ["back out before the next issued", c(1, "trust-next"), c(1)],
    ["back out after the next issued", c(2, "trust-previous"), c(1, "trust-next")],
  ])("allows %s", (_label, last, next) => {
    expect(checkCaTransition(last, next)).toBeUndefined();
  });
  test.each([
    ["a new CA issuing at once", c(1), c(2), "caGeneration 1, caRotation trust-next"],
    [
      "dropping the old CA while the new one is only trusted",
      c(1, "trust-next"),
      c(2),
      "caGeneration 2, caRotation trust-previous",
    ],
    ["skipping a generation", c(2), c(3, "trust-previous"), "caGeneration 2, caRotation trust-next"],
  ])("refuses %s, naming the next step", (_label, last, next, step) => {
    expect(checkCaTransition(last, next)).toMatch(
      new RegExp(`The next step is ${step} \\(README: "Rotating the CA"\\)`),
    );
  });
});
