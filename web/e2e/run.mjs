// End-to-end: a real `carbon serve` on 127.0.0.1 loaded with the shared
// fixtures, driven through Debian's chromium by playwright-core.
// Usage: node e2e/run.mjs   (CARBON_BIN: the binary; default: the cargo target dir's)

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import { crc32 } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "../..");
const fixtures = join(repo, "../shared/fixtures/iso");
const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/carbon/target");
const bin = process.env.CARBON_BIN ?? join(target, "debug/carbon");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

const dir = mkdtempSync(join(tmpdir(), "carbon-e2e-"));
// Screenshots of each page go here (git-ignored).
const shots = join(here, "../test-results");
mkdirSync(shots, { recursive: true });
const env = { ...process.env, CARBON_DATA_DIR: join(dir, "data"), CARBON_LOG: "warn" };
const run = (...args) => {
  const r = spawnSync(bin, args, { env, cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, `carbon ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

// The value the dashboard must show: INDIANA.HUB's HE 24 day-ahead LMP in the fixture.
const report = "miso/da_expost_lmp_20261001_hubs_interfaces_subset.csv";
const line = readFileSync(join(fixtures, report), "utf8")
  .split(/\r?\n/)
  .find((l) => l.startsWith("INDIANA.HUB,Hub,LMP,"));
const he24 = Number(line.split(",").at(-1));

run("init");
run("ingest", "file", join(fixtures, report));
run("ingest", "file", join(fixtures, "miso/api_GetRealTimeFiveMinExPost_Previous_20261001_first3intervals.json"));
run("ingest", "file", join(fixtures, "caiso/oasis_PRC_LMP_DAM_20200101_ALL_APNODES_9rows.csv"));
const fundamentals = join(repo, "../shared/fixtures/fundamentals");
run("ingest", "file", join(fundamentals, "ng_storage_weekly_by_region_eia_2010-01-01_2024-04-12.csv"));
run("ingest", "file", join(fundamentals, "henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv"));
// MISO's 2021 hourly real-time hub prices: the history a scenario calibrates on.
run("ingest", "file", join(fundamentals, "miso_lmp_rt_hr_hubs_2021_eia.csv"));
const creds = Object.fromEntries(
  readFileSync(join(dir, "data/initial-credentials.txt"), "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(" "))
    .map(([user, , password]) => [user, password]),
);
assert.ok(creds.admin, `no admin password in initial-credentials.txt: ${JSON.stringify(Object.keys(creds))}`);

// A stand-in for MISO's 5-minute API on 127.0.0.1, polled by the server's
// scheduler every 2 s. SYNTHETIC: each poll publishes INDIANA.HUB's next
// interval after the fixture's last (00:10 EST) at 77.70, 78.70, … $/MWh.
let polls = 0;
const liveValue = (k) => (77.7 + k).toFixed(2);
const fakeMiso = createServer((req, res) => {
  if (!req.url.includes("GetRealTimeFiveMinExPost")) {
    res.writeHead(404).end();
    return;
  }
  const k = polls++;
  const minutes = 15 + 5 * k;
  const at = `2026-10-01T${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}:00`;
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ headers: ["INTERVAL", "CPNODE", "LMP", "MLC", "MCC"], data: [[at, "INDIANA.HUB", liveValue(k), "0.40", "0.10"]] }));
});
await new Promise((r) => fakeMiso.listen(0, "127.0.0.1", r));
const misoPort = fakeMiso.address().port;

// A stand-in for CAISO OASIS's SingleZip on 127.0.0.1 (the fixtures hold no
// CAISO hub prices). SYNTHETIC: day-ahead 2026-10-01 for the three trading
// hubs at 30.00 + hub + hour/2; each real-time poll publishes the next
// 5-minute interval at 40.00 + 5·hub + k. Answers are zips holding a CSV in
// the PRC_LMP / PRC_INTVL_LMP layouts, as OASIS sends them.
const caisoHubs = ["TH_SP15_GEN-APND", "TH_NP15_GEN-APND", "TH_ZP26_GEN-APND"];
let caisoPolls = 0;
const caisoLive = (hub, k) => 40 + 5 * hub + k;
const oasisQueries = [];
function zip(name, text) {
  // One stored (uncompressed) entry: local header, data, central directory, end record.
  const data = Buffer.from(text);
  const file = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(file.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(file.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + file.length, 12);
  end.writeUInt32LE(local.length + file.length + data.length, 16);
  return Buffer.concat([local, file, data, central, file, end]);
}
function oasisRows(run, priceColumn, intervals) {
  const header = `INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,NODE_ID_XML,NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,${priceColumn},GROUP`;
  const out = [header];
  const iso = (t) => new Date(t).toISOString().replace(".000Z", "-00:00");
  for (const [start, minutes, hour, interval, prices] of intervals) {
    caisoHubs.forEach((hub, h) => {
      const lmp = prices[h];
      const parts = { LMP: lmp, MCE: lmp - 1.5, MCC: 1, MCL: 0.5, MGHG: 0 };
      for (const [type, value] of Object.entries(parts)) {
        out.push([iso(start), iso(start + minutes * 60_000), "2026-10-01", hour, interval, hub, hub, hub, run, type, `LMP_${type}_PRC`, hub, "ALL", 1, value.toFixed(5), 1].join(","));
      }
    });
  }
  return out.join("\n") + "\n";
}
const dayStart = Date.parse("2026-10-01T07:00:00Z"); // midnight Pacific daylight time
const fakeOasis = createServer((req, res) => {
  const q = new URL(req.url, "http://x").searchParams;
  oasisQueries.push(Object.fromEntries(q));
  let body;
  if (q.get("queryname") === "PRC_LMP") {
    const hours = Array.from({ length: 24 }, (_, h) => [dayStart + h * 3_600_000, 60, h + 1, 0, caisoHubs.map((_, i) => 30 + i + h / 2)]);
    body = oasisRows("DAM", "MW", hours);
  } else if (q.get("queryname") === "PRC_INTVL_LMP") {
    const k = caisoPolls++;
    const start = dayStart + 5 * 60_000 * k;
    body = oasisRows("RTM", "VALUE", [[start, 5, 1 + Math.floor(k / 12), 1 + (k % 12), caisoHubs.map((_, i) => caisoLive(i, k))]]);
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": "application/x-zip-compressed" });
  res.end(zip(`${q.get("queryname")}.csv`, body));
});
await new Promise((r) => fakeOasis.listen(0, "127.0.0.1", r));
const oasisPort = fakeOasis.address().port;
writeFileSync(
  join(dir, "carbon.toml"),
  `[schedule]
enabled = true
first_start_backfill_days = 0
jobs = [
  { connector = "miso", job = "five_minute", every_secs = 2 },
  { connector = "caiso", job = "day_ahead", every_secs = 3600 },
  { connector = "caiso", job = "five_minute", every_secs = 2 },
]

[[connectors]]
type = "miso"
reports_url = "http://127.0.0.1:${misoPort}/reports"
api_url = "http://127.0.0.1:${misoPort}/api"

[[connectors]]
type = "caiso"
url = "http://127.0.0.1:${oasisPort}/oasisapi/SingleZip"
spacing_secs = 0.1
`,
);

const port = 20000 + Math.floor(Math.random() * 20000);
const base = `http://127.0.0.1:${port}`;
const server = spawn(bin, ["--config", join(dir, "carbon.toml"), "serve", "--bind", `127.0.0.1:${port}`], {
  env,
  cwd: dir,
  stdio: ["ignore", "ignore", "inherit"],
});
const stop = () => {
  server.kill("SIGTERM");
  fakeMiso.close();
  fakeOasis.close();
  rmSync(dir, { recursive: true, force: true });
};
process.on("exit", stop);

for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/health`)).ok) break;
  } catch {}
  assert.ok(i < 100, "carbon serve did not start");
  await new Promise((r) => setTimeout(r, 200));
}

const browser = await chromium.launch({
  executablePath: browserPath,
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
});
const results = [];
async function test(name, body) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // The hub runs under the server's Content-Security-Policy: anything it
  // blocks (a script, a style, a connection) fails the test that caused it.
  const blocked = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) blocked.push(m.text());
  });
  const t = Date.now();
  try {
    await body(page);
    assert.deepEqual(blocked, [], "the Content-Security-Policy blocked something");
    results.push([name, "ok", Date.now() - t]);
    await page.screenshot({ path: join(shots, `${results.length}-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60)}.png`), fullPage: true });
  } catch (e) {
    results.push([name, "FAILED", Date.now() - t]);
    console.error(`✗ ${name}\n${e.stack ?? e}`);
  } finally {
    await context.close();
  }
}

async function login(page, user) {
  await page.goto(`${base}/`);
  await page.getByLabel("User").fill(user);
  await page.getByLabel("Password").fill(creds[user]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("who").waitFor();
}

await test("admin signs in and the dashboard shows the fixture's price", async (page) => {
  await login(page, "admin");
  const card = page.getByTestId("card-MISO.INDIANA.HUB-da");
  await card.waitFor();
  assert.equal(await card.getByTestId("price").textContent(), he24.toFixed(2));
  await page.getByTestId("conn").filter({ hasText: "live" }).waitFor();
});

await test("a tick ingested while the dashboard is open appears on it, live", async (page) => {
  await login(page, "admin");
  const card = page.getByTestId("card-MISO.INDIANA.HUB-rt5");
  await card.waitFor();
  await page.getByTestId("conn").filter({ hasText: "live" }).waitFor();
  // The scheduler polls the stand-in every 2 s; each poll is a new interval.
  const before = polls;
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="card-MISO.INDIANA.HUB-rt5"] [data-testid="price"]')?.textContent) >= n,
    77.7 + before,
    { timeout: 20_000 },
  );
  const shown = Number(await card.getByTestId("price").textContent());
  assert.ok(shown >= 77.7 + before && Number.isInteger(Math.round((shown - 77.7) * 100) / 100), String(shown));
  assert.match(await page.getByTestId("conn").textContent(), /live · [1-9]\d* ticks/);
});

await test("explorer charts 24 points and downloads exactly the API's CSV", async (page) => {
  await login(page, "admin");
  await page.getByRole("link", { name: "Explorer" }).click();
  await page.getByRole("searchbox").fill("INDIANA");
  await page.getByRole("checkbox", { name: "MISO.INDIANA.HUB" }).check();
  const chart = page.getByTestId("explorer-chart");
  await chart.waitFor();
  assert.equal(await chart.getAttribute("data-points"), "24");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download CSV" }).click()]);
  const got = readFileSync(await download.path(), "utf8");
  const api = await page.evaluate(async () =>
    (await fetch("/api/v1/prices?instrument_id=MISO.INDIANA.HUB&start=2026-10-01&end=2026-10-02&market_run=da&components=lmp&format=csv")).text(),
  );
  assert.equal(got, api);
  assert.equal(got.trim().split("\n").length, 25);
});

await test("a curve built in the hub reprices its contracts", async (page) => {
  await login(page, "admin");
  await page.getByRole("link", { name: "Curves" }).click();
  await page.getByRole("button", { name: "Build curve" }).click();
  const table = page.getByTestId("repricing");
  await table.waitFor();
  const rows = await table.locator("tbody tr").all();
  assert.equal(rows.length, 5);
  for (const r of rows) {
    const cells = await r.locator("td").allTextContents();
    assert.ok(Math.abs(Number(cells[4]) - Number(cells[3])) < 1e-6, cells.join(" | "));
  }
});

await test("the hub works from the keyboard alone: sign in, navigate, search", async (page) => {
  await page.goto(`${base}/`);
  // Tab to a field by its label, then type: no mouse anywhere in this test.
  const tabTo = async (label) => {
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => document.activeElement?.labels?.[0]?.textContent?.trim() ?? document.activeElement?.textContent?.trim());
      if (focused?.startsWith(label)) return;
    }
    throw new Error(`Tab never reached ${label}`);
  };
  await tabTo("User");
  await page.keyboard.type("admin");
  await tabTo("Password");
  await page.keyboard.type(creds.admin);
  await page.keyboard.press("Enter");
  await page.getByTestId("who").waitFor();
  await tabTo("Explorer");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/explorer$/);
  await tabTo("Search");
  await page.keyboard.type("INDIANA");
  const hub = page.getByRole("checkbox", { name: "MISO.INDIANA.HUB" });
  await hub.waitFor();
  // Tab until the hub's checkbox has the focus: the result list may still be
  // re-rendering after the search, so one Tab is not sure to land on it.
  let focused = false;
  for (let i = 0; i < 20 && !focused; i++) {
    await page.keyboard.press("Tab");
    focused = await hub.evaluate((el) => el === document.activeElement);
  }
  assert.equal(focused, true, "Tab never reached the MISO.INDIANA.HUB checkbox");
  await page.keyboard.press("Space");
  await page.getByTestId("explorer-chart").waitFor();
  assert.equal(await hub.isChecked(), true);
});

await test("research: gas storage decomposed and Henry Hub regimes, run in the hub and stored", async (page) => {
  await login(page, "admin");
  await page.getByRole("link", { name: "Research" }).click();
  const source = page.getByLabel("Fundamentals series");
  await source.locator("option", { hasText: "Total Lower 48 · storage" }).waitFor({ state: "attached" });
  await source.selectOption("Total Lower 48/storage");
  await page.getByLabel("Periods").fill("52");
  await page.getByRole("button", { name: "Run" }).click();
  const chart = page.getByTestId("decomposition-chart");
  await chart.waitFor();
  assert.equal(await chart.getAttribute("data-points"), "746");
  assert.ok(Number(await page.getByTestId("trend-strength").textContent()) > 0.5);
  const id = (await page.getByTestId("run-id").textContent()).trim();
  const stored = await page.evaluate(async (id) => (await fetch(`/api/v1/research/runs/${id}`)).json(), id);
  assert.equal(stored.kind, "stl");
  assert.equal(stored.output.times.length, 746);
  // A Gaussian HMM on Henry Hub's return features, 2018–2022.
  await page.getByLabel("Analysis").selectOption("hmm");
  await source.selectOption("Henry Hub/spot_price");
  await page.getByLabel("From", { exact: true }).fill("2018-01-01");
  await page.getByLabel("To", { exact: true }).fill("2023-01-01");
  await page.getByLabel("States").fill("2");
  await page.getByRole("button", { name: "Run" }).click();
  await page.getByTestId("regime-chart").waitFor();
  assert.match(await page.getByTestId("candidates").textContent(), /2 \(chosen\)/);
  // Bad input is shown, not swallowed.
  await page.getByLabel("Analysis").selectOption("decompose");
  await source.selectOption("Total Lower 48/storage");
  await page.getByLabel("From", { exact: true }).fill("2030-01-01");
  await page.getByLabel("To", { exact: true }).fill("");
  await page.getByRole("button", { name: "Run" }).click();
  await page.getByRole("alert").filter({ hasText: "no data" }).waitFor();
});

await test("a job submitted to the API is followed to its end in the hub's Jobs page", async (page) => {
  await login(page, "admin");
  const job = await page.evaluate(async () => {
    const csrf = document.cookie.split(";").map((c) => c.trim()).find((c) => c.startsWith("carbon_csrf="))?.slice("carbon_csrf=".length);
    const r = await fetch("/api/v1/jobs", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": decodeURIComponent(csrf ?? "") },
      body: JSON.stringify({ kind: "analysis", spec: { kind: "decompose", series: { entity: "Total Lower 48", variable: "storage" }, periods: [52] } }),
    });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(job.status, 202, JSON.stringify(job.body));
  await page.getByRole("link", { name: "Jobs" }).click();
  const row = page.getByTestId(`job-${job.body.id}`);
  await row.waitFor();
  await row.getByTestId("status").filter({ hasText: "succeeded" }).waitFor({ timeout: 30_000 });
  assert.match(await row.textContent(), /rr_[0-9a-f]{20}/);
  assert.equal(await row.getByRole("button", { name: /^Cancel / }).count(), 0);
});

await test("pilot_miso sees MISO and no CAISO market", async (page) => {
  await login(page, "miso_demo");
  const markets = await page.evaluate(async () => (await (await fetch("/api/v1/markets")).json()).data.map((m) => m.code));
  assert.deepEqual(markets, ["MISO"]);
  await page.getByRole("link", { name: "Explorer" }).click();
  // Wait for the market list to load before reading it.
  await page.locator('select[name="market"] option').first().waitFor({ state: "attached" });
  const options = await page.locator('select[name="market"] option').allTextContents();
  assert.deepEqual(options, ["MISO"]);
  // Gas and weather series have no market: not this tenant's.
  await page.getByRole("link", { name: "Research" }).click();
  await page.getByRole("button", { name: "Run" }).waitFor();
  await page.getByText("Loading series…").waitFor({ state: "detached" });
  assert.deepEqual(await page.getByLabel("Fundamentals series").locator("option").allTextContents(), ["— a price instead —"]);
});

await test("pilot_caiso sees its three CAISO hubs live, no MISO data, and cannot make API keys", async (page) => {
  await login(page, "caiso_demo");
  const markets = await page.evaluate(async () => (await (await fetch("/api/v1/markets")).json()).data.map((m) => m.code));
  assert.deepEqual(markets, ["CAISO"]);
  // The day-ahead cards show the stand-in's HE 24 price for each hub.
  for (const [i, hub] of caisoHubs.entries()) {
    const card = page.getByTestId(`card-CAISO.${hub}-da`);
    await card.waitFor();
    assert.equal(await card.getByTestId("price").textContent(), (30 + i + 23 / 2).toFixed(2));
  }
  assert.equal(await page.locator('[data-testid^="card-MISO"]').count(), 0);
  // Live: the real-time card moves with polls made after the page loaded.
  await page.getByTestId("conn").filter({ hasText: "live" }).waitFor();
  const before = caisoPolls;
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="card-CAISO.TH_NP15_GEN-APND-rt5"] [data-testid="price"]')?.textContent) >= n,
    caisoLive(1, before),
    { timeout: 20_000 },
  );
  assert.match(await page.getByTestId("conn").textContent(), /live · [1-9]\d* ticks/);
  // The poller asked OASIS for the hubs only, with the documented parameters.
  const rt = oasisQueries.find((q) => q.queryname === "PRC_INTVL_LMP");
  assert.equal(rt.node, caisoHubs.join(","));
  assert.equal(rt.market_run_id, "RTM");
  assert.equal(rt.version, "3");
  assert.equal(rt.resultformat, "6");
  // MISO stays closed to this tenant, in the API as in the hub.
  const miso = await page.evaluate(async () => (await fetch("/api/v1/prices/latest?instrument_id=MISO.INDIANA.HUB&lookback_days=366")).status);
  assert.equal(miso, 403);
  await page.getByRole("link", { name: "Explorer" }).click();
  await page.locator('select[name="market"] option').first().waitFor({ state: "attached" });
  assert.deepEqual(await page.locator('select[name="market"] option').allTextContents(), ["CAISO"]);
  // The keys page: creating one is refused, and the page says why.
  await page.getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Name").fill("mine");
  await page.getByRole("button", { name: "Create key" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.textContent(), /api/i);
  assert.equal(await page.getByTestId("new-key").count(), 0);
  // Its hub session, lifted out of the browser and replayed by a program
  // (the API channel it is denied), opens nothing: not as a bearer token,
  // not as the cookie from another origin, not as the cookie on a state change
  // without the page's CSRF token.
  const session = (await page.context().cookies()).find((c) => c.name === "carbon_session").value;
  const sp15 = `${base}/api/v1/prices?instrument_id=CAISO.TH_SP15_GEN-APND&start=2020-01-01&end=2020-01-02`;
  const asBearer = await fetch(sp15, { headers: { authorization: `Bearer ${session}` } });
  assert.equal(asBearer.status, 401);
  assert.match((await asBearer.json()).detail, /API key/);
  const fromElsewhere = await fetch(sp15, { headers: { cookie: `carbon_session=${session}`, origin: "http://evil.example" } });
  assert.equal(fromElsewhere.status, 403);
  const noCsrf = await fetch(`${base}/api/v1/auth/logout`, { method: "POST", headers: { cookie: `carbon_session=${session}` } });
  assert.equal(noCsrf.status, 403);
});

await test("pilot_miso makes an API key in the hub, sees it once, and it works", async (page) => {
  await login(page, "miso_demo");
  await page.getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Name").fill("etl");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-key").locator("code").textContent()).trim();
  assert.match(key, /^ck_[0-9a-f]{12}_/);
  const r = await fetch(`${base}/api/v1/markets`, { headers: { "x-api-key": key } });
  assert.equal(r.status, 200);
  await page.getByRole("button", { name: "Done" }).click();
  // Rotate: the successor is shown once; both work during the grace period.
  await page.getByRole("button", { name: /^Rotate / }).click();
  const next = (await page.getByTestId("new-key").locator("code").textContent()).trim();
  assert.match(next, /^ck_[0-9a-f]{12}_/);
  assert.notEqual(next, key);
  for (const k of [key, next]) {
    assert.equal((await fetch(`${base}/api/v1/markets`, { headers: { "x-api-key": k } })).status, 200);
  }
  await page.getByRole("button", { name: "Done" }).click();
  // The old key now shows when its grace ends; revoke both.
  const rows = page.locator("tbody tr");
  assert.equal(await rows.count(), 2);
  while ((await page.getByRole("button", { name: /^Revoke / }).count()) > 0) {
    const before = await page.getByRole("button", { name: /^Revoke / }).count();
    await page.getByRole("button", { name: /^Revoke / }).first().click();
    await page.waitForFunction((n) => document.querySelectorAll("button[aria-label^='Revoke ']").length < n, before);
  }
  await page.getByText("revoked").first().waitFor();
  for (const k of [key, next]) {
    assert.equal((await fetch(`${base}/api/v1/markets`, { headers: { "x-api-key": k } })).status, 401);
  }
});

await test("admin manages tenants, users, keys and entitlements in the hub", async (page) => {
  await login(page, "admin");
  await page.getByRole("link", { name: "Admin" }).click();
  await page.getByRole("heading", { name: "Tenants" }).waitFor();
  await page.getByPlaceholder("tenant id").fill("acme");
  await page.getByPlaceholder("name", { exact: true }).fill("Acme Power");
  await page.getByRole("button", { name: "Add tenant" }).click();
  await page.getByRole("cell", { name: "Acme Power" }).waitFor();
  const users = page.locator("form", { has: page.getByRole("button", { name: "Add user" }) });
  await users.getByPlaceholder("username").fill("ann");
  await users.getByPlaceholder("tenant").fill("acme");
  await users.getByPlaceholder(/password/).fill("correct horse battery");
  await users.getByRole("button", { name: "Add user" }).click();
  await page.getByRole("cell", { name: "ann", exact: true }).waitFor();
  // A grant first: keys are refused to tenants without the api/stream channels.
  const grants = page.locator("form", { has: page.getByRole("button", { name: "Grant" }) });
  await grants.getByPlaceholder("tenant").fill("acme");
  await grants.getByPlaceholder("market or *").fill("MISO");
  await grants.getByPlaceholder(/product/).fill("lmp");
  await grants.getByPlaceholder(/channels/).fill("api");
  await grants.getByRole("button", { name: "Grant" }).click();
  await page.locator("tr", { hasText: "acme" }).filter({ hasText: "MISO" }).first().waitFor();
  const keys = page.locator("form", { has: page.getByRole("button", { name: "Create key" }) });
  await keys.getByPlaceholder("key name").fill("acme-etl");
  await keys.getByPlaceholder("tenant").fill("acme");
  await keys.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-key").locator("code").textContent()).trim();
  const day = "start=2026-10-01&end=2026-10-02&market_run=da";
  const miso = await fetch(`${base}/api/v1/prices?instrument_id=MISO.INDIANA.HUB&${day}`, { headers: { "x-api-key": key } });
  assert.equal(miso.status, 200);
  const caiso = await fetch(`${base}/api/v1/prices?instrument_id=CAISO.TH_SP15_GEN-APND&${day}`, { headers: { "x-api-key": key } });
  assert.equal(caiso.status, 403);
  // Disable the new user from the hub: the API refuses her sign-in.
  await page.locator("tr", { hasText: "ann" }).getByRole("button", { name: "Disable" }).click();
  await page.locator("tr", { hasText: "ann" }).getByRole("button", { name: "Enable" }).waitFor();
  const signin = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "ann", password: "correct horse battery" }),
  });
  assert.equal(signin.status, 401);
});

// A JSON call to the API on the page's session, with its CSRF token (as the hub makes them).
async function api(page, method, path, body = null) {
  return page.evaluate(
    async ([method, path, body]) => {
      const csrf = document.cookie.split(";").map((c) => c.trim()).find((c) => c.startsWith("carbon_csrf="))?.slice("carbon_csrf=".length);
      const r = await fetch(path, {
        method,
        headers: { "content-type": "application/json", "x-csrf-token": decodeURIComponent(csrf ?? "") },
        body: body === null ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    },
    [method, path, body],
  );
}

await test("scenarios: a document checked as it is typed, saved, run live, charted and compared", async (page) => {
  await login(page, "admin");
  // The base curve the scenario shifts: the twelve months of 2027 at 41 … 52 $/MWh.
  const days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  const contracts = days.map((n, i) => {
    const m = String(i + 1).padStart(2, "0");
    return { name: `2027-${m}`, start: `2027-${m}-01`, end: `2027-${m}-${n}`, price: 41 + i };
  });
  let built = await api(page, "POST", "/api/v1/curves/build", { curve_id: "MISO_IND_FWD", market: "MISO", trade_date: "2026-11-27", grid: "daily", contracts });
  if (built.status === 202) {
    // Continued as a job (a slow machine): wait for it to end.
    for (let i = 0; !["succeeded", "failed", "cancelled"].includes(built.body.status); i++) {
      assert.ok(i < 120, `curve build job still ${JSON.stringify(built.body)}`);
      await new Promise((r) => setTimeout(r, 500));
      built = await api(page, "GET", `/api/v1/jobs/${built.body.id}`);
    }
    assert.equal(built.body.status, "succeeded", JSON.stringify(built.body));
  } else {
    assert.equal(built.status, 201, `build: ${built.status} ${JSON.stringify(built.body)}`);
  }

  const good = [
    "name: Gas +1",
    "instrument: MISO.INDIANA.HUB",
    "market_run: rt",
    "base: { curve_id: MISO_IND_FWD }",
    "calibration: { start: 2021-01-01, end: 2022-01-01 }",
    "drivers:",
    "  gas: { shift: 1.0 }",
    "monte_carlo: { paths: 300, seed: 7 }",
    "",
  ].join("\n");
  const bad = good.replace("shift: 1.0", 'shift: { "2027-13": 1 }');
  // Where the server places the error: the `gas:` line (7).
  const checked = await api(page, "POST", "/api/v1/scenarios/validate", { document: bad });
  assert.equal(checked.status, 200, JSON.stringify(checked.body));
  assert.equal(checked.body.valid, false);
  const line = checked.body.errors[0].line;
  assert.equal(line, 7, JSON.stringify(checked.body));

  await page.getByRole("link", { name: "Scenarios" }).click();
  await page.getByRole("button", { name: "New scenario" }).click();
  const editor = page.getByTestId("scenario-editor");
  await editor.fill(bad);
  // Validated as typed: a mark in the gutter on the line at fault, the message with path, line and column.
  const marker = page.getByTestId("error-marker");
  await marker.waitFor();
  assert.equal(await marker.getAttribute("data-line"), String(line));
  assert.match(await page.getByTestId("validation-error").first().textContent(), new RegExp(`drivers\\.gas\\.shift.*\\(line ${line}, column \\d+\\)`));
  await editor.fill(good);
  await page.getByTestId("validation-ok").waitFor();
  assert.equal(await marker.count(), 0);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByTestId("saved").filter({ hasText: "version 1 saved" }).waitFor();

  // Run: a job followed live, then the run's chart and tables.
  await page.getByTestId("run-scenario").click();
  await page.getByTestId("run-progress").waitFor();
  // The chart, or an alert saying why not (a failed job, an API error).
  await page.locator('[data-testid="scenario-chart"] canvas, [role="alert"]').first().waitFor({ timeout: 120_000 });
  assert.equal(await page.getByRole("alert").count(), 0, await page.getByRole("alert").allTextContents().then((t) => t.join(" | ")));
  await page.getByTestId("run-message").filter({ hasText: "succeeded" }).waitFor();
  const attribution = page.getByTestId("attribution-table");
  await attribution.waitFor();
  assert.equal(await attribution.locator("tbody tr").count(), 24);
  const sensitivity = page.getByTestId("sensitivity-table");
  await sensitivity.waitFor();
  assert.equal(await sensitivity.locator("tbody tr").count(), 12);
  // Every month moved by its gas attribution alone (gas +1, no other driver).
  for (const r of await attribution.locator("tbody tr").all()) {
    const c = (await r.locator("td").allTextContents()).map(Number);
    // month, block, base, scenario, Δ, gas, carbon, load, adder, band
    assert.ok(Math.abs(c[4] - c[5]) <= 0.011 && c[6] === 0 && c[7] === 0 && c[8] === 0, c.join(" | "));
  }
  // The run, picked for the side-by-side table: "low", twelve months.
  await page.getByRole("checkbox", { name: /^Compare / }).first().check();
  const side = page.getByTestId("side-by-side");
  await side.waitFor();
  assert.equal(await side.locator("tbody tr").count(), 12);
  assert.match(await side.locator("thead").textContent(), /low/);
  await page.getByLabel("Off-peak").check();
  await page.locator('[data-testid="scenario-chart"] canvas').first().waitFor();
  await page.screenshot({ path: join(shots, "scenarios.png"), fullPage: true });

  // A second version, and what changed.
  await editor.fill(good.replace("shift: 1.0", "shift: 2.0"));
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByTestId("saved").filter({ hasText: "version 2 saved" }).waitFor();
  await page.getByRole("button", { name: "Diff with previous" }).click();
  const diff = page.getByTestId("diff");
  await diff.waitFor();
  assert.match(await diff.textContent(), /drivers\.gas\.shift/);
});

// The Downloads page's form, filled for one day of one instrument's day-ahead prices.
async function exportForm(page, instrument) {
  await page.getByRole("heading", { name: "New export" }).waitFor();
  await page.getByLabel("Instruments").fill(instrument);
  await page.getByLabel("Start", { exact: true }).fill("2026-10-01");
  await page.getByLabel("End", { exact: true }).fill("2026-10-02");
  await page.getByLabel("Market runs").fill("da");
  await page.getByLabel("File format").selectOption("csv");
}
// Clicks the page's Export button; the answer to its POST /api/v1/exports.
async function clickExport(page) {
  const [answer] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/api/v1/exports" && r.request().method() === "POST"),
    page.getByRole("button", { name: "Export", exact: true }).click(),
  ]);
  return answer;
}

await test("downloads: a query estimated, exported by a job followed live, fetched through a signed link with no credential", async (page) => {
  await login(page, "admin");
  await page.getByRole("link", { name: "Downloads" }).click();
  await exportForm(page, "MISO.INDIANA.HUB");
  await page.getByRole("button", { name: "Estimate" }).click();
  const estimate = page.getByTestId("estimate");
  await estimate.waitFor();
  assert.equal(await estimate.getAttribute("data-rows"), "24", await estimate.textContent());
  assert.equal(await estimate.getAttribute("data-within-limits"), "true");
  assert.match(await estimate.textContent(), /About 24 rows · .+ · 1 part · within the limits/);

  const created = await clickExport(page);
  assert.equal(created.status(), 202, await created.text());
  const { id } = await created.json();
  assert.match(id, /^ex_/);
  const row = page.getByTestId(`export-${id}`);
  await row.waitFor();
  // Followed live: the row's status moves to an end without a reload.
  await page.waitForFunction(
    (id) => ["succeeded", "failed", "cancelled"].includes(document.querySelector(`[data-testid="export-${id}"]`)?.getAttribute("data-status")),
    id,
    { timeout: 60_000 },
  );
  assert.equal(await row.getAttribute("data-status"), "succeeded", await row.textContent());
  assert.match(await page.getByTestId(`export-status-${id}`).textContent(), /succeeded/);
  assert.equal(await row.getByRole("button", { name: /^Cancel / }).count(), 0);

  // Its parts: one month, 24 rows, each file behind a signed link.
  await row.getByRole("button", { name: `Parts of ${id}` }).click();
  const parts = page.getByTestId(`parts-${id}`);
  await parts.waitFor();
  const part = parts.getByTestId("part-prices-2026-10.csv");
  const cells = await part.locator("td").allTextContents();
  assert.equal(cells[0], "prices-2026-10.csv");
  assert.equal(cells[1], "2026-10");
  assert.equal(cells[2], "24");
  const sha = await part.locator("code[title]").getAttribute("title");
  await part.getByRole("button", { name: "Link to prices-2026-10.csv" }).click();
  const link = parts.getByTestId("download-link");
  await link.waitFor();
  const url = await link.getAttribute("href");
  assert.ok(url.startsWith(`${base}/api/v1/downloads/`), url);
  assert.equal(await parts.getByLabel("Signed link to prices-2026-10.csv").inputValue(), url);
  await page.screenshot({ path: join(shots, "downloads.png"), fullPage: true });

  // Fetched by this process, not the browser: no cookie, no key — the signature is the credential.
  const got = await fetch(url);
  assert.equal(got.status, 200);
  const bytes = Buffer.from(await got.arrayBuffer());
  assert.equal(createHash("sha256").update(bytes).digest("hex"), sha);
  const lines = bytes.toString("utf8").trimEnd().split(/\r?\n/);
  assert.equal(lines[0], "instrument_id,market_run,interval_start_utc,interval_end_utc,lmp,energy,congestion,loss,ghg");
  assert.equal(lines.length, 25, lines.join("\n"));
  assert.ok(lines.slice(1).every((l) => l.startsWith("MISO.INDIANA.HUB,da,")), lines.join("\n"));
  // The same link with its signature altered is refused.
  const forged = new URL(url);
  const sig = forged.searchParams.get("sig");
  forged.searchParams.set("sig", (sig[0] === "0" ? "1" : "0") + sig.slice(1));
  assert.equal((await fetch(forged)).status, 403);
});

await test("explorer: Export… opens Downloads with the explorer's query", async (page) => {
  await login(page, "admin");
  await page.getByRole("link", { name: "Explorer" }).click();
  await page.getByRole("searchbox").fill("INDIANA");
  await page.getByRole("checkbox", { name: "MISO.INDIANA.HUB" }).check();
  await page.getByTestId("explorer-chart").waitFor();
  await page.getByRole("link", { name: "Export…" }).click();
  await page.waitForURL(/\/downloads\?query=/);
  await page.getByRole("heading", { name: "New export" }).waitFor();
  assert.equal(await page.getByLabel("Instruments").inputValue(), "MISO.INDIANA.HUB");
  assert.equal(await page.getByLabel("Start", { exact: true }).inputValue(), "2026-10-01");
  assert.equal(await page.getByLabel("End", { exact: true }).inputValue(), "2026-10-02");
  assert.equal(await page.getByLabel("Market runs").inputValue(), "da");
  assert.equal(await page.getByLabel("Components").inputValue(), "lmp");
  // The handed-over query is the explorer's day: 24 hours.
  await page.getByRole("button", { name: "Estimate" }).click();
  const estimate = page.getByTestId("estimate");
  await estimate.waitFor();
  assert.equal(await estimate.getAttribute("data-rows"), "24");
});

await test("pilot_caiso exports its CAISO hubs only: a MISO export is refused and the page says why", async (page) => {
  await login(page, "caiso_demo");
  await page.getByRole("link", { name: "Downloads" }).click();
  await exportForm(page, "MISO.INDIANA.HUB");
  const refused = await clickExport(page);
  assert.equal(refused.status(), 403);
  await page.getByRole("alert").filter({ hasText: /not entitled/ }).waitFor();
  assert.equal(await page.getByTestId("exports-table").count(), 0);
  // Its own hub is estimated (the stand-in's day-ahead day), and the alert is gone.
  await page.getByLabel("Instruments").fill("CAISO.TH_SP15_GEN-APND");
  await page.getByRole("button", { name: "Estimate" }).click();
  const estimate = page.getByTestId("estimate");
  await estimate.waitFor();
  assert.ok(Number(await estimate.getAttribute("data-rows")) > 0, await estimate.textContent());
  assert.equal(await page.getByRole("alert").count(), 0);
});

// The Downloads page's New feed form, opened (its fields are labelled like
// the export form's, so the test looks inside the form).
async function openFeedForm(page) {
  await page.getByRole("heading", { name: "Feeds" }).waitFor();
  await page.getByRole("button", { name: "New feed" }).click();
  const form = page.getByRole("form", { name: "New feed" });
  await form.waitFor();
  return form;
}
// Clicks Create feed; the answer to its POST /api/v1/feeds.
async function clickCreateFeed(page) {
  const [answer] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/api/v1/feeds" && r.request().method() === "POST"),
    page.getByRole("button", { name: "Create feed" }).click(),
  ]);
  return answer;
}
// `YYYY-MM-DD` of the day before the MISO market day (EST, UTC−5 all year) at `t`.
const misoYesterday = (t) => new Date(t - 5 * 3_600_000 - 86_400_000).toISOString().slice(0, 10);

await test("feeds: a daily prices feed made in Downloads, run now and followed live, paused, deleted; a monthly brief feed", async (page) => {
  await login(page, "admin");
  await page.getByRole("link", { name: "Downloads" }).click();
  await page.getByTestId("feeds-empty").waitFor();
  const form = await openFeedForm(page);
  // The server's defaults, as the form offers them.
  assert.equal(await form.getByLabel("Prices").isChecked(), true);
  assert.equal(await form.getByLabel("Time of day").inputValue(), "07:00");
  assert.equal(await form.getByLabel("Days", { exact: true }).inputValue(), "every");
  assert.equal(await form.getByLabel("Days back").inputValue(), "1");
  assert.deepEqual(await form.getByLabel("Destination").locator("option").allTextContents(), ["Download center"]);
  await form.getByLabel("Name").fill("e2e daily");
  await form.getByLabel("Instruments").fill("MISO.INDIANA.HUB");
  await form.getByLabel("Market runs").fill("da");
  await form.getByLabel("File format").selectOption("csv");
  const created = await clickCreateFeed(page);
  assert.equal(created.status(), 201, await created.text());
  const { id } = await created.json();
  assert.match(id, /^fd_/);
  const row = page.getByTestId(`feed-${id}`);
  await row.waitFor();
  assert.equal(await row.getByRole("rowheader").textContent(), "e2e daily");
  assert.match(await page.getByTestId(`feed-schedule-${id}`).textContent(), /^every day at 07:00 market time$/);
  const cells = await row.locator("td").allTextContents();
  assert.equal(cells[0], "MISO.INDIANA.HUB da · CSV");
  assert.equal(cells[2], "Download center");
  assert.equal(cells[4], "never");
  assert.equal(await row.getAttribute("data-state"), "active");
  assert.equal(await page.getByTestId(`feed-failing-${id}`).count(), 0);
  await page.getByRole("status").filter({ hasText: "e2e daily" }).waitFor();
  // Marks this document: a reload or navigation would lose the mark.
  await page.evaluate(() => {
    window.__downloadsPage = true;
  });

  // Run now: today's market day, an export job followed live in the feed's runs.
  const before = Date.now();
  const [fired] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === `/api/v1/feeds/${id}/run` && r.request().method() === "POST"),
    row.getByRole("button", { name: "Run e2e daily now" }).click(),
  ]);
  const after = Date.now();
  assert.equal(fired.status(), 202, await fired.text());
  const run = (await fired.json()).id;
  assert.match(run, /^ex_/);
  const runs = row.getByRole("button", { name: "Runs of e2e daily" });
  await runs.click();
  assert.equal(await runs.getAttribute("aria-expanded"), "true");
  const runRow = page.getByTestId(`feed-run-${run}`);
  await runRow.waitFor();
  await page.waitForFunction(
    (run) => ["succeeded", "failed", "cancelled"].includes(document.querySelector(`[data-testid="feed-run-${run}"]`)?.getAttribute("data-status")),
    run,
    { timeout: 60_000 },
  );
  assert.equal(await runRow.getAttribute("data-status"), "succeeded", await runRow.textContent());
  assert.equal(await page.evaluate(() => window.__downloadsPage), true, "the page was reloaded");
  assert.match(await page.getByTestId(`run-status-${run}`).textContent(), /Succeeded/);
  // Today's market day has no stored prices: 0 rows, yet a delivery into the
  // feed's folder for yesterday's market day.
  assert.equal((await runRow.locator("td").allTextContents())[3], "0");
  const folder = (await page.getByTestId(`run-folder-${run}`).textContent()).trim();
  // Under the tenant's own folder (a destination may take several tenants).
  assert.ok([before, after].map((t) => `platform/e2e-daily/${misoYesterday(t)}`).includes(folder), folder);
  const stored = await api(page, "GET", `/api/v1/exports/${run}`);
  assert.equal(stored.body.spec.feed.folder, folder);
  assert.equal(stored.body.spec.feed.feed_id, id);
  // Its file from the download center: the manifest (a day without prices has no part).
  const [download] = await Promise.all([page.waitForEvent("download"), runRow.getByRole("button", { name: `Download manifest.json of ${run}` }).click()]);
  assert.equal(download.suggestedFilename(), "manifest.json");
  const manifest = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.deepEqual(manifest.parts, []);
  // The run's success is the feed's: read again once the run ended.
  await page.waitForFunction((id) => document.querySelector(`[data-testid="feed-${id}"] td:nth-of-type(5)`)?.textContent !== "never", id, { timeout: 10_000 });
  // The run is an export of the page's history too, followed there as well.
  await page.waitForFunction((run) => document.querySelector(`[data-testid="export-${run}"]`)?.getAttribute("data-status") === "succeeded", run, { timeout: 10_000 });
  await page.screenshot({ path: join(shots, "feeds.png"), fullPage: true });
  // The same day again is the same run.
  const again = await api(page, "POST", `/api/v1/feeds/${id}/run`);
  assert.equal(again.status, 202);
  assert.equal(again.body.id, run);

  // Pause: shown paused, no next run; the server agrees.
  await row.getByRole("button", { name: "Pause e2e daily" }).click();
  await row.getByRole("button", { name: "Resume e2e daily" }).waitFor();
  assert.equal(await row.getAttribute("data-state"), "paused");
  assert.match(await page.getByTestId(`feed-state-${id}`).textContent(), /Paused/);
  assert.equal((await row.locator("td").allTextContents())[3], "paused");
  assert.equal((await api(page, "GET", `/api/v1/feeds/${id}`)).body.enabled, false);

  // Delete, confirmed: gone from the page and the server.
  await row.getByRole("button", { name: "Delete e2e daily" }).click();
  await row.getByRole("button", { name: "Yes, delete e2e daily" }).click();
  await row.waitFor({ state: "detached" });
  assert.equal((await api(page, "GET", `/api/v1/feeds/${id}`)).status, 404);
  await page.getByTestId("feeds-empty").waitFor();

  // A monthly brief of MISO.
  await openFeedForm(page);
  await form.getByLabel("Monthly brief").check();
  assert.equal(await form.getByLabel("Instruments").count(), 0);
  const market = form.getByLabel("Market", { exact: true });
  await market.locator("option", { hasText: "MISO" }).waitFor({ state: "attached" });
  await market.selectOption("MISO");
  assert.equal(await form.getByLabel("Day of month").inputValue(), "2");
  await form.getByLabel("Name").fill("e2e brief");
  await form.getByLabel("Time of day").fill("06:00");
  const brief = await clickCreateFeed(page);
  assert.equal(brief.status(), 201, await brief.text());
  const b = await brief.json();
  assert.equal(b.spec.kind, "brief");
  const briefRow = page.getByTestId(`feed-${b.id}`);
  await briefRow.waitFor();
  assert.match(await page.getByTestId(`feed-schedule-${b.id}`).textContent(), /^monthly on day 2 at 06:00 market time$/);
  assert.equal((await briefRow.locator("td").allTextContents())[0], "Monthly brief · MISO");
  // Next due: the 2nd of a month, 06:00 EST = 11:00 UTC.
  assert.match(b.next_due, /^\d{4}-\d{2}-02T11:00:00/);
  // Left as found: no brief fired by a later slot.
  await briefRow.getByRole("button", { name: "Delete e2e brief" }).click();
  await briefRow.getByRole("button", { name: "Yes, delete e2e brief" }).click();
  await briefRow.waitFor({ state: "detached" });
  assert.equal(await page.getByRole("alert").count(), 0, (await page.getByRole("alert").allTextContents()).join(" | "));
});

await test("feeds: an empty time and a prefix ../x are refused, each shown at its field", async (page) => {
  await login(page, "admin");
  await page.getByRole("link", { name: "Downloads" }).click();
  const form = await openFeedForm(page);
  await form.getByLabel("Name").fill("e2e bad");
  await form.getByLabel("Instruments").fill("MISO.INDIANA.HUB");
  const time = form.getByLabel("Time of day");
  await time.fill("");
  const noTime = await clickCreateFeed(page);
  assert.equal(noTime.status(), 400, await noTime.text());
  assert.equal((await noTime.json()).param, "at");
  const atError = page.getByTestId("feed-at-error");
  await atError.waitFor();
  assert.match(await atError.textContent(), /HH:MM/);
  assert.equal(await time.getAttribute("aria-invalid"), "true");
  assert.ok((await time.getAttribute("aria-describedby")).split(" ").includes(await atError.getAttribute("id")));
  // Fixing the time clears its error; the prefix is next.
  await time.fill("07:00");
  assert.equal(await atError.count(), 0);
  const prefix = form.getByLabel("Prefix");
  await prefix.fill("../x");
  const badPrefix = await clickCreateFeed(page);
  assert.equal(badPrefix.status(), 400, await badPrefix.text());
  assert.equal((await badPrefix.json()).param, "prefix");
  const prefixError = page.getByTestId("feed-prefix-error");
  await prefixError.waitFor();
  assert.match(await prefixError.textContent(), /\.\.\/x/);
  assert.equal(await prefix.getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByTestId("feed-at-error").count(), 0);
  assert.equal(await page.locator('[data-name="e2e bad"]').count(), 0);
  assert.deepEqual((await api(page, "GET", "/api/v1/feeds")).body.data.filter((f) => f.name === "e2e bad"), []);
});

await test("feeds: pilot_caiso asking for a MISO prices feed is shown the server's 403 at the instruments", async (page) => {
  await login(page, "caiso_demo");
  await page.getByRole("link", { name: "Downloads" }).click();
  await page.getByTestId("feeds-empty").waitFor();
  const form = await openFeedForm(page);
  await form.getByLabel("Name").fill("caiso wants miso");
  await form.getByLabel("Instruments").fill("MISO.INDIANA.HUB");
  await form.getByLabel("File format").selectOption("csv");
  const refused = await clickCreateFeed(page);
  assert.equal(refused.status(), 403, await refused.text());
  const detail = (await refused.json()).detail;
  const error = page.getByTestId("feed-instruments-error");
  await error.waitFor();
  assert.equal(await error.textContent(), detail);
  assert.match(detail, /entitle/);
  assert.equal(await form.getByLabel("Instruments").getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByTestId("feeds-table").count(), 0);
});

// Indiana Hub's all-hours average real-time LMP of February 2021, from the
// raw EIA file: interval starts (the UTC interval end − 1 h) from
// 2021-02-01T05:00Z to 2021-03-01T05:00Z (MISO's clock is EST, UTC−5 all year).
function rawIndianaFebruary2021() {
  const lines = readFileSync(join(fundamentals, "miso_lmp_rt_hr_hubs_2021_eia.csv"), "utf8").split(/\r?\n/);
  // Three title lines, then the header row.
  const header = lines[3].split(",");
  assert.equal(header[0], "UTC Timestamp (Interval Ending)");
  const col = header.indexOf("Indiana Hub LMP");
  assert.ok(col > 0, header.join(","));
  const [from, to] = [Date.parse("2021-02-01T05:00:00Z"), Date.parse("2021-03-01T05:00:00Z")];
  const values = lines
    .slice(4)
    .filter((l) => l.trim())
    .map((l) => l.split(","))
    .filter((f) => {
      const start = Date.parse(`${f[0].replace(" ", "T")}Z`) - 3_600_000;
      return start >= from && start < to;
    })
    .map((f) => Number(f[col]));
  assert.equal(values.length, 672);
  assert.ok(values.every(Number.isFinite));
  return values.reduce((a, b) => a + b, 0) / values.length;
}
// `YYYY-MM` of a date on this machine's clock (the browser's too).
const yyyymm = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
// Clicks Generate on the Reports page; the answer to its POST /api/v1/reports.
async function clickGenerate(page) {
  const [answer] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/api/v1/reports" && r.request().method() === "POST"),
    page.getByRole("button", { name: "Generate" }).click(),
  ]);
  return answer;
}

await test("reports: a MISO brief of February 2021 generated and followed live, opened as HTML with Indiana Hub's average from the raw file, downloaded as PDF", async (page) => {
  const average = rawIndianaFebruary2021().toFixed(2);
  await login(page, "admin");
  await page.getByRole("link", { name: "Reports" }).click();
  await page.getByRole("heading", { name: "Generate a brief" }).waitFor();
  const market = page.getByLabel("Market", { exact: true });
  await market.locator("option", { hasText: "MISO" }).waitFor({ state: "attached" });
  // The month asked for at first: the previous calendar month.
  const now = new Date();
  assert.equal(await page.getByLabel("Month").inputValue(), yyyymm(new Date(now.getFullYear(), now.getMonth() - 1, 1)));
  await market.selectOption("MISO");
  await page.getByLabel("Month").fill("2021-02");
  // Marks this document: a reload or navigation would lose the mark.
  await page.evaluate(() => {
    window.__reportsPage = true;
  });
  const created = await clickGenerate(page);
  assert.equal(created.status(), 202, await created.text());
  const { id, job_id: job } = await created.json();
  assert.match(id, /^rp_/);
  assert.ok(job, "the brief names its job");
  const row = page.getByTestId(`report-${id}`);
  await row.waitFor();
  assert.match(await row.textContent(), /MISO.*February 2021/);
  await page.getByRole("status").filter({ hasText: "queued" }).waitFor();
  // Followed live: the row's status moves to an end without a reload.
  await page.waitForFunction(
    (id) => ["succeeded", "failed", "cancelled"].includes(document.querySelector(`[data-testid="report-${id}"]`)?.getAttribute("data-status")),
    id,
    { timeout: 180_000 },
  );
  assert.equal(await row.getAttribute("data-status"), "succeeded", await row.textContent());
  assert.equal(await page.evaluate(() => window.__reportsPage), true, "the page was reloaded");
  assert.match(await page.getByTestId(`report-status-${id}`).textContent(), /Succeeded/);
  assert.equal(await row.getByRole("button", { name: /^Cancel / }).count(), 0);
  assert.match((await row.locator("td").allTextContents())[4], /^\d+(\.\d)? (KiB|MiB)$/);
  // The job the page followed is the brief's, and it ended as the row says.
  const followed = await api(page, "GET", `/api/v1/jobs/${job}`);
  assert.equal(followed.status, 200, JSON.stringify(followed.body));
  assert.equal(followed.body.status, "succeeded");

  // Open HTML: a signed link opened in a new tab, the brief itself.
  const [tab] = await Promise.all([page.context().waitForEvent("page"), row.getByRole("button", { name: "Open HTML" }).click()]);
  await tab.waitForLoadState();
  assert.match(new URL(tab.url()).pathname, new RegExp(`^/api/v1/downloads/[^/]+/${id}/brief-MISO-2021-02\\.html$`), tab.url());
  const title = await tab.locator("h1").textContent();
  assert.match(title, /MISO monthly market brief/);
  assert.match(title, /February 2021/);
  assert.match(await tab.locator("body").textContent(), /MISO\.INDIANA\.HUB/);
  // Indiana Hub's all-hours average in the prices table equals the raw file's.
  const prices = tab.locator("table", { has: tab.locator("th", { hasText: "All hours" }) }).first();
  const headers = (await prices.locator("thead th").allTextContents()).map((h) => h.trim());
  const col = headers.indexOf("All hours");
  assert.ok(col > 0, headers.join(" | "));
  const indiana = prices.locator("tbody tr").filter({ has: tab.locator("td:first-child", { hasText: /^MISO\.INDIANA\.HUB$/ }) });
  assert.equal(await indiana.count(), 1);
  const cells = (await indiana.locator("td").allTextContents()).map((c) => c.trim());
  assert.equal(cells[col], average, `all hours in ${cells.join(" | ")}`);
  await tab.close();
  await page.getByRole("status").filter({ hasText: "brief-MISO-2021-02.html" }).waitFor();

  // Download PDF: a signed link downloaded, a PDF.
  const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: "Download PDF" }).click()]);
  assert.equal(download.suggestedFilename(), "brief-MISO-2021-02.pdf");
  const pdf = readFileSync(await download.path());
  assert.equal(pdf.subarray(0, 5).toString("latin1"), "%PDF-");
  assert.equal(await page.getByRole("alert").count(), 0, (await page.getByRole("alert").allTextContents()).join(" | "));
  // The filter: MISO shows it, CAISO has none.
  const filter = page.getByLabel("Filter by market");
  await filter.selectOption("CAISO");
  await page.getByTestId("reports-empty").filter({ hasText: "No briefs of CAISO" }).waitFor();
  await filter.selectOption("MISO");
  await row.waitFor();
  await page.screenshot({ path: join(shots, "reports.png"), fullPage: true });
});

await test("reports: a month that has not begun is refused, and the Month field says why", async (page) => {
  await login(page, "admin");
  await page.getByRole("link", { name: "Reports" }).click();
  const market = page.getByLabel("Market", { exact: true });
  await market.locator("option", { hasText: "MISO" }).waitFor({ state: "attached" });
  await market.selectOption("MISO");
  const month = page.getByLabel("Month");
  await month.fill(`${new Date().getFullYear() + 1}-01`);
  const refused = await clickGenerate(page);
  assert.equal(refused.status(), 400, await refused.text());
  assert.equal((await refused.json()).param, "month");
  const error = page.getByTestId("month-error");
  await error.waitFor();
  assert.match(await error.textContent(), /has not begun/);
  assert.equal(await month.getAttribute("aria-invalid"), "true");
  assert.equal(await month.getAttribute("aria-describedby"), await error.getAttribute("id"));
  assert.equal(await page.getByTestId("market-error").count(), 0);
  // Changing the month clears it.
  await month.fill("2021-02");
  assert.equal(await error.count(), 0);
});

await test("reports: pilot_caiso is offered CAISO only, and a MISO brief asked for anyway shows the server's 403", async (page) => {
  await login(page, "caiso_demo");
  await page.getByRole("link", { name: "Reports" }).click();
  const market = page.getByLabel("Market", { exact: true });
  await market.locator("option").first().waitFor({ state: "attached" });
  assert.deepEqual(await market.locator("option").allTextContents(), ["CAISO"]);
  assert.deepEqual(await page.getByLabel("Filter by market").locator("option").allTextContents(), ["All markets", "CAISO"]);
  await page.getByTestId("reports-empty").waitFor();
  // An option the page does not offer, added by hand: the server refuses, and
  // the page says so at the market.
  await market.evaluate((el) => el.add(new Option("MISO", "MISO")));
  await market.selectOption("MISO");
  await page.getByLabel("Month").fill("2021-02");
  const refused = await clickGenerate(page);
  assert.equal(refused.status(), 403, await refused.text());
  const error = page.getByTestId("market-error");
  await error.waitFor();
  assert.match(await error.textContent(), /no entitlement to MISO/);
  assert.equal(await market.getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByTestId("reports-table").count(), 0);
});

await browser.close();
for (const [name, status, ms] of results) console.log(`${status === "ok" ? "✓" : "✗"} ${name} (${ms} ms)`);
const failed = results.filter((r) => r[1] !== "ok").length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
