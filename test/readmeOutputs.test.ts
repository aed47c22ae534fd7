// README's Outputs table against what the program really exports: a documented output that does
// not exist (or an export nobody documented) fails here.
import * as fs from "fs";
import * as path from "path";
import { EXISTING_STACK, runProgram } from "./support/harness";

/** The output names of README's "## Outputs" table; a row may name several (`a`, `b`). */
function documentedOutputs(): string[] {
  const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
  const section = readme.split(/^## Outputs$/m)[1]?.split(/^## /m)[0] ?? "";
  return section
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .flatMap((line) => [...line.split("|")[1].matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]));
}

test("README's Outputs table names exactly the outputs the program exports (any mode)", async () => {
  const runs = await Promise.all([
    runProgram({ "tikv-cvm:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop" }),
    runProgram(EXISTING_STACK.config, EXISTING_STACK.options),
  ]);
  const exported = new Set(runs.flatMap((run) => Object.keys(run.outputs)));
  expect(documentedOutputs().sort()).toEqual([...exported].sort());
});
