import { describe, expect, it } from "vitest";
import { align, applyTick, changeVsYesterday, contractsToCsv, formatInstant, parseCsv, pricesUrl, researchBody, series, spread, type Card } from "../src/query";

describe("pricesUrl", () => {
  it("builds the same URL for the chart and the CSV download", () => {
    const q = {
      instruments: ["MISO.INDIANA.HUB", "MISO.MICHIGAN.HUB"],
      start: "2026-10-01",
      end: "2026-10-02",
      marketRun: "da",
      components: ["lmp", "congestion"] as ("lmp" | "congestion")[],
      resample: "1d",
      block: "onpeak" as const,
    };
    expect(pricesUrl(q)).toBe(
      "/api/v1/prices?instrument_id=MISO.INDIANA.HUB&instrument_id=MISO.MICHIGAN.HUB&start=2026-10-01&end=2026-10-02" +
        "&market_run=da&components=lmp%2Ccongestion&resample=1d&agg=mean&block=onpeak",
    );
    expect(pricesUrl(q, "csv")).toBe(pricesUrl(q) + "&format=csv");
  });
  it("leaves out flat blocks and absent resampling", () => {
    const url = pricesUrl({ instruments: ["A.B"], start: "s", end: "e", marketRun: "rt", components: [], block: "flat" });
    expect(url).toBe("/api/v1/prices?instrument_id=A.B&start=s&end=e&market_run=rt");
  });
});

describe("formatInstant", () => {
  it("shows MISO's fixed EST clock and UTC", () => {
    expect(formatInstant("2026-10-01T05:00:00Z", "Etc/GMT+5")).toBe("2026-10-01 00:00 UTC-5");
    expect(formatInstant("2026-10-01T05:00:00Z", "UTC")).toBe("2026-10-01 05:00 UTC+0");
  });
  it("tells the two 01:00 hours of the Pacific fall-back day apart", () => {
    const first = formatInstant("2026-11-01T08:00:00Z", "America/Los_Angeles");
    const second = formatInstant("2026-11-01T09:00:00Z", "America/Los_Angeles");
    expect(first).toBe("2026-11-01 01:00 UTC-7");
    expect(second).toBe("2026-11-01 01:00 UTC-8");
  });
});

describe("series, align, spread", () => {
  const rows = [
    { instrument_id: "X", market_run: "da", interval_start_utc: "2026-10-01T05:00:00Z", lmp: 30 },
    { instrument_id: "X", market_run: "da", interval_start_utc: "2026-10-01T06:00:00Z", lmp: 31.5 },
    { instrument_id: "Y", market_run: "da", interval_start_utc: "2026-10-01T06:00:00Z", lmp: null },
  ];
  it("splits rows by instrument", () => {
    expect(series(rows, "X", "lmp")).toEqual([[1790830800, 1790834400], [30, 31.5]]);
    expect(series(rows, "Y", "lmp")).toEqual([[1790834400], [null]]);
  });
  it("aligns on the union of times and subtracts where both exist", () => {
    const [xs, a, b] = align([
      [[1, 2, 3], [10, 20, 30]],
      [[2, 3, 4], [5, 25, 1]],
    ]);
    expect(xs).toEqual([1, 2, 3, 4]);
    expect(a).toEqual([10, 20, 30, null]);
    expect(spread(a, b)).toEqual([null, 15, 5, null]);
  });
  it("compares with the same hour yesterday", () => {
    const xs = [0, 3600, 86_400];
    expect(changeVsYesterday(xs, [40, 41, 43.25])).toBe(3.25);
    expect(changeVsYesterday([0, 3600], [1, 2])).toBeNull();
  });
});

describe("CSV", () => {
  it("parses quoted fields and CRLF", () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi"""\r\n')).toEqual([["a", "b"], ["x, y", 'say "hi"']]);
  });
  it("turns spreadsheet cells into contracts CSV", () => {
    const pasted = "name\tstart\tend\tprice\nJan-27\t2027-01-01\t2027-01-31\t62\n";
    expect(contractsToCsv(pasted)).toBe("name,start,end,price\nJan-27,2027-01-01,2027-01-31,62\n");
    expect(contractsToCsv("name,start,end,price\nA,2027-01-01,2027-01-31,1")).toBe(
      "name,start,end,price\nA,2027-01-01,2027-01-31,1\n",
    );
  });
});

describe("applyTick", () => {
  const card: Card = { instrument: "CAISO.TH_SP15_GEN-APND", run: "rt5", market: "CAISO", last: 40, at: "2026-10-01T07:05:00Z", change: 1, spark: [1, 2] };
  const tick = (at: string, lmp: number, run = "rt5", id = card.instrument) => ({
    instrument_id: id,
    market_run: run,
    interval_start_utc: at,
    components: { lmp },
  });
  it("moves a card forward and never back", () => {
    const later = applyTick([card], tick("2026-10-01T07:10:00Z", 41.5));
    expect(later).toEqual([{ ...card, last: 41.5, at: "2026-10-01T07:10:00Z" }]);
    expect(applyTick(later, tick("2026-10-01T07:00:00Z", 10))).toEqual(later);
  });
  it("adds a card for a hub's first price in a run and ignores other runs", () => {
    const added = applyTick([card], tick("2026-10-01T07:00:00Z", 35.25, "da"));
    expect(added.length).toBe(2);
    expect(added[1]).toEqual({ instrument: card.instrument, run: "da", market: "CAISO", last: 35.25, at: "2026-10-01T07:00:00Z", change: null, spark: [] });
    expect(applyTick([card], tick("2026-10-01T07:00:00Z", 1, "da_exante"))).toEqual([card]);
  });
});

describe("researchBody", () => {
  const base = { kind: "decompose", source: "Total Lower 48/storage", instrument: "", marketRun: "da", start: "", end: "", resample: "", periods: "52", transform: "log_return", states: "2,3" };
  it("asks for a decomposition of a fundamentals series", () => {
    expect(researchBody(base)).toEqual({
      path: "/api/v1/research/decompose",
      body: { series: { entity: "Total Lower 48", variable: "storage" }, periods: [52] },
    });
  });
  it("splits the entity at the last slash and builds regime candidates", () => {
    const r = researchBody({ ...base, kind: "regimes", source: "Dallas / Fort Worth/temperature", states: "2, 3,x", resample: "1d", start: "2020-01-01" });
    expect(r.body).toEqual({
      series: { entity: "Dallas / Fort Worth", variable: "temperature", start: "2020-01-01", resample: "1d" },
      transform: "log_return",
      candidates: [{ k: 2, switching_variance: true }, { k: 3, switching_variance: true }],
    });
  });
  it("reads a price when no fundamentals series is picked, and the HMM method", () => {
    const r = researchBody({ ...base, kind: "hmm", source: "", instrument: " MISO.INDIANA.HUB ", marketRun: "rt", states: "2" });
    expect(r).toEqual({
      path: "/api/v1/research/regimes",
      body: { series: { instrument_id: "MISO.INDIANA.HUB", market_run: "rt" }, method: "gaussian_hmm", states: [2] },
    });
  });
});
