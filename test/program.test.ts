import { ofType, runProgram } from "./harness";

test("smoke", async () => {
  const run = await runProgram();
  console.log(run.resources.map((r) => `${r.type} ${r.name} ${r.provider ?? ""}`).join("\n"));
  console.log(JSON.stringify(run.outputs, null, 1).slice(0, 3000));
  expect(ofType(run, "docker:index/container:Container")).toHaveLength(6);
});
