// When a real tool is missing, its tests fail unless skipping was asked for explicitly
// (test/support/tools.ts): a machine without docker or shellcheck never passes silently.
import { SKIP_REAL_TOOLS, decideTools, hasTool } from "./support/tools";

test("everything present: the tests run, whatever the environment", () => {
  expect(decideTools([], [], {})).toEqual({ kind: "run" });
  expect(decideTools([], [], { [SKIP_REAL_TOOLS]: "1" })).toEqual({ kind: "run" });
});

test("a missing tool fails the run by default, naming the tool, the install and the way to skip", () => {
  const decision = decideTools(["shellcheck"], [], {});
  expect(decision.kind).toBe("fail");
  const message = decision.kind === "fail" ? decision.message : "";
  expect(message).toMatch(/shellcheck not installed/);
  expect(message).toMatch(/apt-get install/);
  expect(message).toContain(`${SKIP_REAL_TOOLS}=1`);
});

test("an unmet requirement (root) fails the same way", () => {
  expect(decideTools([], ["needs root for losetup and mount"], {})).toEqual({
    kind: "fail",
    message: expect.stringMatching(/^needs root.*TIKV_CVM_SKIP_REAL_TOOLS=1/),
  });
});

test("only TIKV_CVM_SKIP_REAL_TOOLS=1 skips, with the reason", () => {
  expect(decideTools(["docker", "jq"], ["needs root"], { [SKIP_REAL_TOOLS]: "1" })).toEqual({
    kind: "skip",
    reason: "docker, jq not installed; needs root",
  });
  for (const other of ["0", "", "true", "yes"])
    expect(decideTools(["jq"], [], { [SKIP_REAL_TOOLS]: other }).kind).toBe("fail");
});

test("CI never skips, even when asked to", () => {
  const decision = decideTools(["dockerd"], [], { CI: "true", [SKIP_REAL_TOOLS]: "1" });
  expect(decision).toEqual({ kind: "fail", message: expect.stringMatching(/CI never skips/) });
});

test("hasTool finds a tool on PATH and not a made-up one", () => {
  expect(hasTool("sh")).toBe(true);
  expect(hasTool("tikv-cvm-no-such-tool")).toBe(false);
});
