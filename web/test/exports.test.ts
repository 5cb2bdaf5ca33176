import { describe, expect, it } from "vitest";
import type { Export } from "../src/api";
import {
  absoluteUrl,
  downloadsPath,
  emptyForm,
  exportBody,
  exportQuery,
  fieldOf,
  formatBytes,
  isLive,
  lastMonth,
  manifestParts,
  parseExportQuery,
  shortSha,
  specSummary,
  upsertExport,
} from "../src/exports";
import { pricesUrl } from "../src/query";

const base = emptyForm({ start: "2026-09-01", end: "2026-10-01" });

describe("exportQuery", () => {
  it("is the explorer's /prices query string for one run", () => {
    const f = { ...base, instruments: "MISO.INDIANA.HUB", start: "2026-10-01", end: "2026-10-02", marketRuns: "da" };
    expect(exportQuery(f)).toBe("instrument_id=MISO.INDIANA.HUB&start=2026-10-01&end=2026-10-02&market_run=da");
    const explorer = pricesUrl({ instruments: ["MISO.INDIANA.HUB"], start: "2026-10-01", end: "2026-10-02", marketRun: "da", components: [] });
    expect(`/api/v1/prices?${exportQuery(f)}`).toBe(explorer);
  });
  it("repeats instruments and runs, and carries every other selector", () => {
    const f = {
      ...base,
      instruments: " MISO.INDIANA.HUB , MISO.MICHIGAN.HUB,",
      marketRuns: "da, rt",
      components: "lmp,congestion",
      resample: "1d",
      agg: "max",
      block: "onpeak",
      timezone: "UTC",
      asOf: "2026-10-05T00:00:00Z",
    };
    expect(exportQuery(f)).toBe(
      "instrument_id=MISO.INDIANA.HUB&instrument_id=MISO.MICHIGAN.HUB&start=2026-09-01&end=2026-10-01" +
        "&market_run=da&market_run=rt&components=lmp%2Ccongestion&resample=1d&agg=max&block=onpeak&timezone=UTC" +
        "&as_of=2026-10-05T00%3A00%3A00Z",
    );
  });
  it("leaves out every run when none is named, aggregation without resampling, the flat block", () => {
    const f = { ...base, instruments: "A.B", marketRuns: " ", agg: "max", block: "flat" };
    expect(exportQuery(f)).toBe("instrument_id=A.B&start=2026-09-01&end=2026-10-01");
  });
});

describe("parseExportQuery", () => {
  it("reads back what exportQuery writes", () => {
    const f = { ...base, instruments: "MISO.INDIANA.HUB, MISO.MICHIGAN.HUB", marketRuns: "da, rt", components: "lmp", resample: "1h", agg: "min", block: "7x8", timezone: "UTC", asOf: "2026-10-05" };
    expect(parseExportQuery(exportQuery(f), base)).toEqual(f);
  });
  it("takes the explorer's query, a whole URL, comma lists, and drops format/limit/cursor", () => {
    const explorer = pricesUrl(
      { instruments: ["MISO.INDIANA.HUB"], start: "2026-10-01", end: "2026-10-02", marketRun: "da", components: ["lmp"], block: "flat" },
      "csv",
    );
    const f = parseExportQuery(explorer + "&limit=5&cursor=x", base);
    expect(f).toEqual({ ...base, instruments: "MISO.INDIANA.HUB", start: "2026-10-01", end: "2026-10-02", marketRuns: "da", components: "lmp" });
    expect(exportQuery(f)).not.toMatch(/format|limit|cursor/);
    expect(parseExportQuery("?instrument_id=A.B,C.D&market_run=da,rt", base)).toMatchObject({ instruments: "A.B, C.D", marketRuns: "da, rt" });
  });
  it("keeps the base's range when the query has none, and asks every run when it names none", () => {
    expect(parseExportQuery("instrument_id=A.B", { ...base, marketRuns: "da" })).toMatchObject({ start: "2026-09-01", end: "2026-10-01", marketRuns: "" });
  });
});

describe("downloadsPath", () => {
  it("hands the explorer's query to the Downloads page, and back", () => {
    const url = pricesUrl({ instruments: ["MISO.INDIANA.HUB"], start: "2026-10-01", end: "2026-10-02", marketRun: "da", components: ["lmp"] });
    const path = downloadsPath(url);
    expect(path).toBe("/downloads?query=instrument_id%3DMISO.INDIANA.HUB%26start%3D2026-10-01%26end%3D2026-10-02%26market_run%3Dda%26components%3Dlmp");
    const given = new URLSearchParams(path.slice(path.indexOf("?"))).get("query")!;
    expect(parseExportQuery(given, base).instruments).toBe("MISO.INDIANA.HUB");
  });
});

describe("exportBody", () => {
  const f = { ...base, instruments: "A.B" };
  it("sends the key only when there is one", () => {
    expect(exportBody(f, "csv", false)).toEqual({ query: exportQuery(f), format: "csv", gzip: false });
    expect(exportBody(f, "parquet", true, " k1 ")).toEqual({ query: exportQuery(f), format: "parquet", gzip: true, idempotency_key: "k1" });
  });
  it("never gzips a workbook", () => {
    expect(exportBody(f, "xlsx", true).gzip).toBe(false);
  });
});

describe("history", () => {
  const ex = (id: string, created: string, status = "queued") => ({ id, created, status }) as Export;
  it("keeps the newest first and replaces an export by its id", () => {
    let h = [ex("ex_b", "2026-10-02T00:00:00Z"), ex("ex_a", "2026-10-01T00:00:00Z")];
    h = upsertExport(h, ex("ex_c", "2026-10-03T00:00:00Z"));
    h = upsertExport(h, ex("ex_a", "2026-10-01T00:00:00Z", "succeeded"));
    expect(h.map((e) => `${e.id}:${e.status}`)).toEqual(["ex_c:queued", "ex_b:queued", "ex_a:succeeded"]);
  });
  it("follows queued and running exports only", () => {
    expect(["queued", "running", "succeeded", "failed", "cancelled", "expired"].map((status) => isLive({ status }))).toEqual([
      true, true, false, false, false, false,
    ]);
  });
});

describe("manifestParts", () => {
  it("reads the parts of a manifest, and none without one", () => {
    const manifest = {
      export_id: "ex_1",
      parts: [
        { name: "prices-2026-10.csv", month: "2026-10", start: "2026-10-01T00:00:00Z", end: "2026-11-01T00:00:00Z", rows: 24, bytes: 2400, sha256: "ab".repeat(32) },
        { month: "no name: not a part" },
      ],
    };
    expect(manifestParts(manifest)).toEqual([
      { name: "prices-2026-10.csv", month: "2026-10", start: "2026-10-01T00:00:00Z", end: "2026-11-01T00:00:00Z", rows: 24, bytes: 2400, sha256: "ab".repeat(32) },
    ]);
    expect(manifestParts(null)).toEqual([]);
    expect(manifestParts({ parts: "x" })).toEqual([]);
  });
});

describe("display", () => {
  it("sizes in binary units", () => {
    expect([0, 512, 1023, 1024, 2640, 15 * 1024 * 1024, 1023.99 * 1024, 1.25 * 1024 ** 3].map(formatBytes)).toEqual([
      "0 B", "512 B", "1023 B", "1.0 KiB", "2.6 KiB", "15 MiB", "1.0 MiB", "1.3 GiB",
    ]);
  });
  it("shortens a SHA-256", () => {
    expect(shortSha("0123456789abcdef".repeat(4))).toBe("0123456789ab…");
    expect(shortSha("")).toBe("");
  });
  it("summarises a stored spec", () => {
    const spec = { prices: { instruments: ["MISO.INDIANA.HUB"], start: "2026-10-01T05:00:00Z", end: "2026-10-02T05:00:00Z", market_runs: ["da"] }, format: "csv" };
    expect(specSummary(spec)).toBe("MISO.INDIANA.HUB · da · 2026-10-01 05:00 → 2026-10-02 05:00 UTC");
    expect(specSummary({ prices: { instruments: ["A.B"], market_runs: [] } })).toBe("A.B · all runs · ? → ? UTC");
    expect(specSummary({})).toBe("");
  });
  it("makes a signed link's path absolute", () => {
    expect(absoluteUrl("http://127.0.0.1:8080", "/api/v1/downloads/t/ex_1/prices-2026-10.csv?expires=1&sig=ab")).toBe(
      "http://127.0.0.1:8080/api/v1/downloads/t/ex_1/prices-2026-10.csv?expires=1&sig=ab",
    );
  });
  it("defaults to the last full month", () => {
    expect(lastMonth(new Date(2026, 9, 15))).toEqual({ start: "2026-09-01", end: "2026-10-01" });
    expect(lastMonth(new Date(2027, 0, 1))).toEqual({ start: "2026-12-01", end: "2027-01-01" });
  });
  it("names the field an API error is about", () => {
    expect(fieldOf("instrument_id")).toBe("instruments");
    expect(fieldOf("market_run")).toBe("marketRuns");
    expect(fieldOf("query")).toBe(null);
    expect(fieldOf(undefined)).toBe(null);
  });
});
