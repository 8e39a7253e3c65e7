// The executable's entry point. The child that reads an uploaded file starts once per upload
// and once per job, so it loads only what reads files (see src/jobs/parse-runner.ts); every
// other command loads the program (src/cli.ts).
export {};
const args = Bun.argv.slice(2);
if (args[0] === "internal" && args[1] === "parse-upload") {
  const { runUploadChild } = await import("./jobs/parse-child.ts");
  const { lowerPriority } = await import("./jobs/priority.ts");
  lowerPriority("idle");
  await runUploadChild(args.includes("--header-only"), args[args.indexOf("--kind") + 1] === "master" ? "master" : "trainees");
} else {
  const { runCommand } = await import("./cli.ts");
  await runCommand(args);
}
