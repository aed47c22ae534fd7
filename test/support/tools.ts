// Tests that need a real tool (or root) fail when it is missing, so that a machine without it can
// never pass silently. To skip them instead, ask for it explicitly:
//
//   TIKV_CVM_SKIP_REAL_TOOLS=1 npx jest
//
// Each skipped group is then printed with the reason. Under CI (CI=true) nothing is ever skipped.
import { spawnSync } from "child_process";

/** The environment variable that allows skipping tests whose real tools are missing. */
export const SKIP_REAL_TOOLS = "TIKV_CVM_SKIP_REAL_TOOLS";

/** What the CI script installs: the fix to name when a tool is missing. */
const INSTALL_HINT =
  ".ci/run installs them (apt-get install -y docker.io cloud-init shellcheck openssl curl busybox-static wget jq e2fsprogs util-linux systemd prometheus prometheus-alertmanager)";

export function hasTool(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

export type ToolDecision =
  | { readonly kind: "run" }
  | { readonly kind: "fail"; readonly message: string }
  | { readonly kind: "skip"; readonly reason: string };

/**
 * Whether a group of real-tool tests runs, fails (something is missing and skipping was not
 * asked for, or this is CI) or is skipped (TIKV_CVM_SKIP_REAL_TOOLS=1 outside CI). Pure.
 */
export function decideTools(
  missing: readonly string[],
  unmet: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ToolDecision {
  if (missing.length === 0 && unmet.length === 0) return { kind: "run" };
  const reason = [...(missing.length > 0 ? [`${missing.join(", ")} not installed`] : []), ...unmet].join("; ");
  if (env[SKIP_REAL_TOOLS] === "1" && env.CI !== "true") return { kind: "skip", reason };
  const fix = missing.length > 0 ? `${INSTALL_HINT}; ` : "";
  const skip = env.CI === "true" ? "CI never skips them" : `or set ${SKIP_REAL_TOOLS}=1 to skip these tests`;
  return { kind: "fail", message: `${reason}: ${fix}${skip}` };
}

/**
 * `describe` when every tool is present and every requirement met (e.g. root for losetup);
 * otherwise a failing test saying what is missing, or, when skipping was asked for, `describe.skip`
 * with the reason printed.
 */
export function describeWithTools(
  tools: string[],
  title: string,
  body: () => void,
  requirements: readonly { readonly met: boolean; readonly reason: string }[] = [],
): void {
  const decision = decideTools(
    tools.filter((t) => !hasTool(t)),
    requirements.filter((r) => !r.met).map((r) => r.reason),
    process.env,
  );
  switch (decision.kind) {
    case "run":
      describe(title, body);
      return;
    case "fail":
      describe(title, () => {
        test(`needs what is missing: ${decision.message}`, () => {
          throw new Error(decision.message);
        });
      });
      return;
    case "skip":
      console.warn(`skipped "${title}": ${decision.reason} (${SKIP_REAL_TOOLS}=1)`);
      describe.skip(`${title} (skipped: ${decision.reason})`, body);
      return;
  }
}
