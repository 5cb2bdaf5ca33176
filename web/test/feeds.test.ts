import { describe, expect, it } from "vitest";
import { ApiError, type Export } from "../src/api";
import {
  destinationWords,
  emptyFeedForm,
  feedBody,
  feedFieldError,
  feedHealth,
  feedSpec,
  isBriefRun,
  nextDueWords,
  runFiles,
  runLinksPath,
  runPath,
  runTarget,
  scheduleWords,
  slug,
  upsertFeed,
  whatWords,
  type Feed,
} from "../src/feeds";

/** A prices feed's spec as the server stores it: every field, defaults filled in. */
const stored = (extra: Record<string, unknown> = {}) => ({
  kind: "prices",
  market: null,
  day_of_month: 2,
  instruments: ["MISO.INDIANA.HUB"],
  market_runs: ["da"],
  components: [],
  format: "parquet",
  gzip: false,
  at: "07:00",
  days: "every",
  days_back: 1,
  destination: null,
  prefix: null,
  ...extra,
});
const storedBrief = (extra: Record<string, unknown> = {}) =>
  stored({ kind: "brief", market: "MISO", instruments: [], at: "06:00", ...extra });

function feed(id: string, name: string, extra: Partial<Feed> = {}): Feed {
  return {
    id,
    tenant: "platform",
    owner: "admin",
    name,
    spec: stored(),
    enabled: true,
    created: "2026-12-01T10:00:00Z",
    next_due: "2026-12-06T12:00:00Z",
    last_run: null,
    last_success: null,
    last_error: null,
    failures: 0,
    runs: 0,
    ...extra,
  };
}

/** A run as GET /api/v1/feeds/{id}/runs lists it. */
function run(id: string, extra: Partial<Export> = {}): Export {
  return {
    id,
    tenant: "platform",
    owner: "feed:e2e daily",
    job_id: `job_${id}`,
    dataset: "prices",
    format: "csv",
    gzip: false,
    spec: { prices: {}, feed: { feed_id: "fd_1", destination: null, folder: "e2e-daily/2026-12-04" } },
    status: "succeeded",
    created: "2026-12-05T12:00:00Z",
    expires: "2027-01-04T12:00:00Z",
    rows: 0,
    bytes: 300,
    manifest: { parts: [] },
    ...extra,
  };
}

describe("feedBody", () => {
  it("is what POST /api/v1/feeds takes for a prices feed: lists split, the defaults' fields as typed", () => {
    const f = { ...emptyFeedForm(), name: " e2e daily ", instruments: "MISO.INDIANA.HUB, MISO.MICHIGAN.HUB ,", marketRuns: "da, rt", format: "csv" as const };
    expect(feedBody(f)).toEqual({
      name: "e2e daily",
      spec: {
        kind: "prices",
        instruments: ["MISO.INDIANA.HUB", "MISO.MICHIGAN.HUB"],
        market_runs: ["da", "rt"],
        format: "csv",
        gzip: false,
        at: "07:00",
        days: "every",
        days_back: 1,
      },
      run_now: false,
    });
  });
  it("names a destination and a prefix only when given, and never gzips a workbook", () => {
    const f = { ...emptyFeedForm("MISO.INDIANA.HUB"), name: "x", destination: "acme-s3", prefix: " miso/da ", gzip: true, days: "weekdays" as const, daysBack: "7", runNow: true };
    const b = feedBody(f);
    expect(b.spec).toMatchObject({ destination: "acme-s3", prefix: "miso/da", gzip: true, days: "weekdays", days_back: 7 });
    expect(b.run_now).toBe(true);
    const plain = feedBody({ ...f, destination: " ", prefix: "" }).spec;
    expect(plain).not.toHaveProperty("destination");
    expect(plain).not.toHaveProperty("prefix");
    expect(feedBody({ ...f, format: "xlsx" }).spec.gzip).toBe(false);
  });
  it("sends wrong input as it is, for the server to name the field (an empty time, no instrument, ../x)", () => {
    const b = feedBody({ ...emptyFeedForm(), name: "bad", at: "", prefix: "../x", marketRuns: "" });
    expect(b.spec.at).toBe("");
    expect(b.spec.instruments).toEqual([]);
    expect(b.spec.market_runs).toEqual([]);
    expect(b.spec.prefix).toBe("../x");
    // Zero is a number the server judges; empty or not a number is its default.
    expect(feedBody({ ...emptyFeedForm(), daysBack: "0" }).spec.days_back).toBe(0);
    expect(feedBody({ ...emptyFeedForm(), daysBack: "" }).spec).not.toHaveProperty("days_back");
    expect(feedBody({ ...emptyFeedForm(), daysBack: "1.5" }).spec).not.toHaveProperty("days_back");
  });
  it("makes a brief feed of a market, a day of the month and a time: nothing of a prices feed", () => {
    const f = { ...emptyFeedForm("MISO.INDIANA.HUB", "MISO"), kind: "brief" as const, name: "brief", dayOfMonth: "5", at: "06:00", destination: "acme-s3", prefix: "p" };
    expect(feedBody(f)).toEqual({ name: "brief", spec: { kind: "brief", market: "MISO", day_of_month: 5, at: "06:00" }, run_now: false });
    expect(feedBody({ ...f, dayOfMonth: "" }).spec).not.toHaveProperty("day_of_month");
  });
});

describe("feedFieldError", () => {
  it("puts a problem next to the field its param names, in the server's words", () => {
    const at = new ApiError(400, "invalid_parameter", "``: a time of day as HH:MM", "at");
    expect(feedFieldError(at, "prices")).toEqual({ field: "at", message: "``: a time of day as HH:MM" });
    const prefix = new ApiError(400, "invalid_parameter", "`../x`: folders of letters, digits, `.`, `_`, `-` separated by `/`", "prefix");
    expect(feedFieldError(prefix, "prices")).toEqual({ field: "prefix", message: prefix.message });
    expect(feedFieldError(new ApiError(400, "invalid_parameter", "1 to 28", "day_of_month"), "brief").field).toBe("day_of_month");
  });
  it("puts a 403 at what is delivered: the instruments, or a brief's market; a 409 at the name", () => {
    const refused = new ApiError(403, "forbidden", "tenant `pilot_caiso` has no entitlement to MISO.INDIANA.HUB");
    expect(feedFieldError(refused, "prices")).toEqual({ field: "instruments", message: refused.message });
    expect(feedFieldError(refused, "brief").field).toBe("market");
    const taken = new ApiError(409, "conflict", "a feed named `e2e daily` exists already");
    expect(feedFieldError(taken, "prices")).toEqual({ field: "name", message: taken.message });
  });
  it("leaves to the form as a whole a field this kind does not show, and anything else", () => {
    // A brief form has no destination field: the message must still be seen.
    const dest = new ApiError(400, "invalid_parameter", "briefs are kept in the download center (open them by link)", "destination");
    expect(feedFieldError(dest, "brief")).toEqual({ field: null, message: dest.message });
    expect(feedFieldError(dest, "prices").field).toBe("destination");
    expect(feedFieldError(new ApiError(422, "invalid_body", "request body: unknown variant `XYZ`"), "prices").field).toBeNull();
    expect(feedFieldError({ message: "Failed to fetch" }, "prices")).toEqual({ field: null, message: "Failed to fetch" });
  });
});

describe("words", () => {
  it("says what a prices feed delivers: instruments, runs, format, and only what differs from the defaults", () => {
    expect(whatWords(stored())).toBe("MISO.INDIANA.HUB da · Parquet");
    expect(whatWords(stored({ instruments: ["MISO.INDIANA.HUB", "MISO.MICHIGAN.HUB"], market_runs: ["da", "rt"], components: ["lmp"], format: "csv", gzip: true, days_back: 7 }))).toBe(
      "MISO.INDIANA.HUB, MISO.MICHIGAN.HUB da, rt lmp · CSV · gzip · last 7 market days",
    );
    expect(whatWords(stored({ format: "xlsx" }))).toBe("MISO.INDIANA.HUB da · Excel (XLSX)");
  });
  it("says a brief feed's market", () => {
    expect(whatWords(storedBrief())).toBe("Monthly brief · MISO");
    expect(whatWords({ kind: "brief", market: "CAISO" })).toBe("Monthly brief · CAISO");
  });
  it("says when it fires, on the market clock", () => {
    expect(scheduleWords(stored())).toBe("every day at 07:00 market time");
    expect(scheduleWords(stored({ days: "weekdays", at: "05:30" }))).toBe("weekdays at 05:30 market time");
    expect(scheduleWords(storedBrief())).toBe("monthly on day 2 at 06:00 market time");
    expect(scheduleWords(storedBrief({ day_of_month: 15, days: "weekdays" }))).toBe("monthly on day 15 at 06:00 market time");
  });
  it("reads a spec as the server would, with its defaults where a field is missing or wrong", () => {
    expect(scheduleWords({ instruments: ["MISO.INDIANA.HUB"] })).toBe("every day at 07:00 market time");
    expect(whatWords({ instruments: ["MISO.INDIANA.HUB"], format: "zip" })).toBe("MISO.INDIANA.HUB da · Parquet");
    expect(feedSpec(null)).toMatchObject({ kind: "prices", instruments: [], marketRuns: ["da"], daysBack: 1, destination: null, prefix: null });
    expect(feedSpec({ kind: "brief" })).toMatchObject({ kind: "brief", dayOfMonth: 2 });
  });
  it("says where the files go: the download center, or a destination with its folder", () => {
    expect(destinationWords(stored(), "e2e daily")).toBe("Download center");
    // The download center keeps its own folders: a prefix changes nothing said here.
    expect(destinationWords(stored({ prefix: "miso/da" }), "e2e daily")).toBe("Download center");
    expect(destinationWords(stored({ destination: "acme-s3", prefix: "miso/da" }), "e2e daily")).toBe("acme-s3 · miso/da/");
    // No prefix: the feed's name as the server makes it a folder.
    expect(destinationWords(stored({ destination: "acme-s3" }), "Daily DA — my nodes!")).toBe("acme-s3 · daily-da-my-nodes/");
    expect(destinationWords(storedBrief(), "brief")).toBe("Download center");
  });
  it("makes a folder of a name as the server does", () => {
    expect(slug("Daily DA — my nodes!")).toBe("daily-da-my-nodes");
    expect(slug("e2e daily")).toBe("e2e-daily");
    expect(slug("  --  ")).toBe("feed");
    expect(slug("Zürich 2")).toBe("z-rich-2");
  });
});

describe("feedHealth", () => {
  it("is active or paused, and failing with how many in a row and why", () => {
    expect(feedHealth(feed("fd_1", "a"))).toEqual({ state: "active", label: "Active", failing: false, badge: "", why: "" });
    expect(feedHealth(feed("fd_1", "a", { enabled: false }))).toMatchObject({ state: "paused", label: "Paused", failing: false });
    const failing = feedHealth(feed("fd_1", "a", { failures: 3, last_error: "ex_9: destination `acme-s3` refused the write" }));
    expect(failing).toMatchObject({ failing: true, badge: "Failing · 3 runs in a row", why: "ex_9: destination `acme-s3` refused the write" });
    expect(feedHealth(feed("fd_1", "a", { failures: 1, last_error: null })).badge).toBe("Failing · 1 run");
    // A paused feed that failed is both.
    expect(feedHealth(feed("fd_1", "a", { enabled: false, failures: 2 }))).toMatchObject({ state: "paused", failing: true });
  });
  it("shows a paused feed's next due as paused", () => {
    const show = (t: string) => t.slice(0, 16);
    expect(nextDueWords(feed("fd_1", "a"), show)).toBe("2026-12-06T12:00");
    expect(nextDueWords(feed("fd_1", "a", { enabled: false }), show)).toBe("paused");
  });
});

describe("upsertFeed", () => {
  it("replaces the feed of its id and keeps the list by name", () => {
    const list = [feed("fd_1", "b"), feed("fd_2", "d")];
    const out = upsertFeed(list, feed("fd_3", "c"));
    expect(out.map((f) => f.name)).toEqual(["b", "c", "d"]);
    const paused = upsertFeed(out, feed("fd_1", "b", { enabled: false }));
    expect(paused.map((f) => f.id)).toEqual(["fd_1", "fd_3", "fd_2"]);
    expect(paused[0].enabled).toBe(false);
    expect(list).toHaveLength(2);
  });
});

describe("runs", () => {
  const brief = run("rp_1", {
    dataset: "market_brief",
    format: "html+pdf",
    spec: { market: "MISO", month: "2026-11", hubs: null, curves: true, fundamentals: true, feed: { feed_id: "fd_2", destination: null, folder: "" } },
    manifest: { parts: [{ name: "brief-MISO-2026-11.html" }, { name: "brief-MISO-2026-11.pdf" }] },
  });
  it("reads and links a prices run under exports, a brief's under reports", () => {
    expect(isBriefRun(run("ex_1"))).toBe(false);
    expect(isBriefRun(brief)).toBe(true);
    expect(runPath(run("ex_1"))).toBe("/api/v1/exports/ex_1");
    expect(runPath(brief)).toBe("/api/v1/reports/rp_1");
    expect(runLinksPath(brief)).toBe("/api/v1/reports/rp_1/links");
    expect(runLinksPath(run("ex_1"))).toBe("/api/v1/exports/ex_1/links");
  });
  it("says where a run went: its folder, its destination; a brief's month", () => {
    expect(runTarget(run("ex_1"))).toEqual({ destination: null, folder: "e2e-daily/2026-12-04" });
    const dest = run("ex_2", { spec: { feed: { feed_id: "fd_1", destination: "acme-s3", folder: "miso/da/2026-12-01_2026-12-04" } } });
    expect(runTarget(dest)).toEqual({ destination: "acme-s3", folder: "miso/da/2026-12-01_2026-12-04" });
    expect(runTarget(brief)).toEqual({ destination: null, folder: "November 2026" });
    expect(runTarget(run("ex_3", { spec: {} }))).toEqual({ destination: null, folder: "" });
  });
  it("links a download-center run's parts and manifest once it succeeded; nothing in a destination", () => {
    // A day without prices: no part, the manifest only.
    expect(runFiles(run("ex_1"))).toEqual(["manifest.json"]);
    const withPart = run("ex_1", { rows: 24, manifest: { parts: [{ name: "prices-2026-10.csv", rows: 24 }] } });
    expect(runFiles(withPart)).toEqual(["prices-2026-10.csv", "manifest.json"]);
    expect(runFiles({ ...withPart, status: "running" })).toEqual([]);
    expect(runFiles({ ...withPart, status: "failed" })).toEqual([]);
    expect(runFiles({ ...withPart, spec: { feed: { feed_id: "fd_1", destination: "acme-s3", folder: "x/2026-10-01" } } })).toEqual([]);
    expect(runFiles(brief)).toEqual(["brief-MISO-2026-11.html", "brief-MISO-2026-11.pdf"]);
  });
});
