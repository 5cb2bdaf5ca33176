// The hub's API types (src/api/schema.d.ts) are generated from the server's
// OpenAPI document (src/api/openapi.json) by openapi-typescript. This check
// (run first by `npm run build`) generates them again into a temporary file
// and compares it byte for byte with the committed one; exit 1 on drift.
// Usage: node scripts/check-api.mjs   (from any directory)
//
// The generator's arguments are read from the `gen:api` script, so the check
// runs exactly what `npm run gen:api` runs, only into another file.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const fail = (message) => {
  console.error(`check:api: ${message}`);
  process.exit(1);
};

const script = JSON.parse(readFileSync(join(web, "package.json"), "utf8")).scripts?.["gen:api"] ?? "";
const args = script.trim().split(/\s+/);
const out = args.findIndex((a) => a === "-o" || a === "--output");
if (args[0] !== "openapi-typescript" || out < 2 || out + 1 >= args.length) {
  fail(`cannot read the generator's arguments from the gen:api script: ${JSON.stringify(script)}`);
}
const [input, committed] = [args[1], args[out + 1]];

// The CLI of the installed (pinned) openapi-typescript, run by this Node.
const pkgJson = createRequire(import.meta.url).resolve("openapi-typescript/package.json");
const bin = JSON.parse(readFileSync(pkgJson, "utf8")).bin;
const cli = join(dirname(pkgJson), typeof bin === "string" ? bin : bin["openapi-typescript"]);

const dir = mkdtempSync(join(tmpdir(), "carbon-check-api-"));
const tmp = join(dir, "schema.d.ts");
let run, fresh;
try {
  run = spawnSync(process.execPath, [cli, ...args.slice(1, out + 1), tmp, ...args.slice(out + 2)], {
    cwd: web,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  fresh = run.status === 0 && existsSync(tmp) ? readFileSync(tmp) : null;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (fresh === null) {
  fail(`openapi-typescript failed on ${input} (exit ${run.status ?? run.signal}):\n${run.stdout}${run.stderr}${run.error ?? ""}`);
}

const path = join(web, committed);
const current = existsSync(path) ? readFileSync(path) : null;
if (current === null || !current.equals(fresh)) {
  let what = `${committed} is missing`;
  if (current !== null) {
    const [a, b] = [current.toString("utf8").split("\n"), fresh.toString("utf8").split("\n")];
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    what = `${committed} has drifted from ${input} (first difference at line ${i + 1})`;
  }
  fail(
    `${what}.\n` +
      `Fix: regenerate the document from the server's code, then the hub's types:\n` +
      `  CARBON_BLESS=1 cargo test -p carbon-api --test it contract   (in the repository root)\n` +
      `  npm run gen:api                                              (in web/)\n` +
      `and commit both files. Never edit ${committed} by hand.`,
  );
}
console.log(`check:api: ${committed} matches ${input}`);
