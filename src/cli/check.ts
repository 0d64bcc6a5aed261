/**
 * `larder check [--json]`: `cache.check()` on the cache the environment configures, printed one
 * step a line with what each found and, for a failure or a warning, what to change, naming the
 * environment variable that sets it. Exits 0 when no step failed (warnings allowed), 1 otherwise,
 * so a deployment script can run it before sending traffic.
 *
 * @example
 * ```text
 * $ larder check
 * Checking the cache the environment configures (prefix "myapp"):
 *   ok    store        upstash: reachable, and the credentials are accepted (12.1 ms)
 *   ok    script       upstash: the lookup's read runs (a script on Redis and Upstash) (9.8 ms)
 *   ok    clock        upstash's clock is 4 ms ahead of this machine's (10.2 ms)
 *   FAIL  blob put     s3 PUT "myapp/3f2a4b5c6d7e…" in bucket "cache" failed: HTTP 400 AuthorizationHeaderMalformed: …
 *                      fix: the bucket is in eu-central-1: set `region: "eu-central-1"` (it is "us-east-1") [LARDER_S3_REGION]
 * 1 of 7 checks failed.
 * ```
 *
 * @module
 */
import type { CheckReport, CheckStep } from "../core/api/check.ts";
import { UsageError } from "./args.ts";
import type { CommandContext } from "./command_types.ts";
import { EXIT_FAILURE, EXIT_OK } from "./exit_codes.ts";

/** The options of the blob and store factories, by the variables that set them in the CLI's environment. */
const VARIABLES: readonly (readonly [RegExp, string])[] = [
  [/`region/, "LARDER_S3_REGION"],
  [/`endpoint`/, "LARDER_S3_ENDPOINT"],
  [/`bucket`|create the bucket/, "LARDER_S3_BUCKET"],
  [/`accessKeyId`/, "LARDER_S3_ACCESS_KEY_ID"],
  [/`secretAccessKey`/, "LARDER_S3_SECRET_ACCESS_KEY"],
  [/`sessionToken`/, "LARDER_S3_SESSION_TOKEN"],
  [/`timeout`/, "LARDER_TIMEOUT"],
];

/** Runs `check`. */
export async function checkCommand(context: CommandContext): Promise<number> {
  const { io, options, positionals } = context;
  if (positionals.length > 0) throw new UsageError(`check takes no arguments (got "${positionals[0]}")`, "check");
  const config = await context.config({ blobs: false });
  const report = await config.cache.check();
  if (options.json === true) {
    io.stdout(`${JSON.stringify({ prefix: config.prefix, ...report })}\n`);
  } else {
    io.stdout(render(report, config.prefix));
  }
  return report.ok ? EXIT_OK : EXIT_FAILURE;
}

/** The report as text: one line a step, and the fix under a failure or a warning. */
export function render(report: CheckReport, prefix: string): string {
  const width = Math.max(...report.steps.map((s) => s.step.length));
  const lines = [`Checking the cache the environment configures (prefix "${prefix}"):`];
  for (const step of report.steps) {
    const status = step.status === "fail" ? "FAIL" : step.status;
    const time = step.status === "skip" ? "" : ` (${step.ms} ms)`;
    lines.push(`  ${status.padEnd(5)} ${step.step.padEnd(width)}  ${step.detail}${time}`);
    if (step.fix !== null) lines.push(`  ${"".padEnd(5)} ${"".padEnd(width)}  fix: ${withVariables(step)}`);
  }
  const failed = report.steps.filter((s) => s.status === "fail").length;
  const warned = report.steps.filter((s) => s.status === "warn").length;
  const run = report.steps.filter((s) => s.status !== "skip").length;
  const warnings = warned === 0 ? "" : `, ${warned} warning${warned > 1 ? "s" : ""}`;
  lines.push(
    failed === 0 ? `All ${run} checks passed${warnings}.` : `${failed} of ${run} checks failed${warnings}.`,
  );
  return `${lines.join("\n")}\n`;
}

/** The step's fix, followed by the environment variables that set the options it names. */
function withVariables(step: CheckStep): string {
  const fix = step.fix ?? "";
  const named = VARIABLES.filter(([pattern, variable]) => pattern.test(fix) && !fix.includes(variable));
  return named.length === 0 ? fix : `${fix} [${named.map(([, variable]) => variable).join(", ")}]`;
}
