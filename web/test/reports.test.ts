import { describe, expect, it } from "vitest";
import type { Export } from "../src/api";
import { ApiError } from "../src/api";
import {
  briefFiles,
  briefSpec,
  briefsOf,
  currentMonth,
  fieldError,
  formatBytes,
  isLive,
  monthName,
  previousMonth,
  progressText,
  reportBody,
  statusLabel,
  upsertReport,
} from "../src/reports";

/** A brief as the server lists it (fields the page reads; the rest plausible). */
function brief(id: string, market: string, month: string, created: string, extra: Partial<Export> = {}): Export {
  return {
    id,
    tenant: "platform",
    owner: "admin",
    job_id: `job_${id}`,
    dataset: "market_brief",
    format: "html+pdf",
    gzip: false,
    spec: { market, month, hubs: null, curves: true, fundamentals: true },
    status: "queued",
    created,
    expires: "2030-01-01T00:00:00Z",
    rows: 0,
    bytes: 0,
    ...extra,
  };
}

describe("previousMonth", () => {
  it("is the calendar month before today's, on the local clock", () => {
    expect(previousMonth(new Date(2026, 9, 15))).toBe("2026-09");
    expect(previousMonth(new Date(2021, 2, 1, 0, 0, 1))).toBe("2021-02");
    expect(previousMonth(new Date(2021, 2, 31, 23, 59))).toBe("2021-02");
  });
  it("crosses a year boundary: January's previous month is last December", () => {
    expect(previousMonth(new Date(2021, 0, 1))).toBe("2020-12");
    expect(previousMonth(new Date(2027, 0, 31, 23, 59))).toBe("2026-12");
  });
  it("is never the current month", () => {
    const d = new Date(2024, 1, 29);
    expect(previousMonth(d)).toBe("2024-01");
    expect(currentMonth(d)).toBe("2024-02");
    expect(currentMonth(new Date(2026, 11, 31))).toBe("2026-12");
  });
});

describe("monthName", () => {
  it("names the month as the brief's title does", () => {
    expect(monthName("2021-02")).toBe("February 2021");
    expect(monthName("2020-12")).toBe("December 2020");
    expect(monthName(" 2021-01 ")).toBe("January 2021");
  });
  it("leaves anything that is not YYYY-MM as it is", () => {
    expect(monthName("2021-13")).toBe("2021-13");
    expect(monthName("2021-00")).toBe("2021-00");
    expect(monthName("Feb 2021")).toBe("Feb 2021");
    expect(monthName("")).toBe("");
  });
});

describe("reportBody", () => {
  it("is what POST /api/v1/reports takes, the key only when given", () => {
    expect(reportBody("MISO", "2021-02")).toEqual({ market: "MISO", month: "2021-02" });
    expect(reportBody(" CAISO ", " 2021-02 ", " k1 ")).toEqual({ market: "CAISO", month: "2021-02", idempotency_key: "k1" });
    expect(reportBody("MISO", "2021-02", "  ")).not.toHaveProperty("idempotency_key");
  });
});

describe("briefSpec", () => {
  it("reads the stored spec, hubs limited or not", () => {
    expect(briefSpec({ market: "CAISO", month: "2021-02", hubs: ["CAISO.TH_SP15_GEN-APND", "CAISO.TH_NP15_GEN-APND"], curves: false, fundamentals: false })).toEqual({
      market: "CAISO",
      month: "2021-02",
      hubs: ["CAISO.TH_SP15_GEN-APND", "CAISO.TH_NP15_GEN-APND"],
      curves: false,
      fundamentals: false,
    });
    expect(briefSpec({ market: "MISO", month: "2021-02", hubs: null, curves: true, fundamentals: true }).hubs).toBeNull();
  });
  it("copes with a spec missing fields or not an object", () => {
    expect(briefSpec(null)).toEqual({ market: "", month: "", hubs: null, curves: false, fundamentals: false });
    expect(briefSpec({ market: 3, hubs: ["A", 1] })).toMatchObject({ market: "", hubs: ["A"] });
  });
});

describe("briefFiles", () => {
  const manifest = {
    parts: [
      { name: "brief-MISO-2021-02.pdf", media_type: "application/pdf", bytes: 91_234, sha256: "b".repeat(64) },
      { name: "brief-MISO-2021-02.html", media_type: "text/html", bytes: 48_000, sha256: "a".repeat(64) },
    ],
  };
  it("picks the .html and the .pdf by their names, in whatever order", () => {
    const f = briefFiles(manifest);
    expect(f.html?.name).toBe("brief-MISO-2021-02.html");
    expect(f.pdf?.name).toBe("brief-MISO-2021-02.pdf");
    expect(f.pdf?.bytes).toBe(91_234);
    expect(f.html?.sha256).toBe("a".repeat(64));
  });
  it("has neither before the manifest exists, and only what it lists", () => {
    expect(briefFiles(null)).toEqual({ html: undefined, pdf: undefined });
    expect(briefFiles({ parts: "nope" })).toEqual({ html: undefined, pdf: undefined });
    const onlyPdf = briefFiles({ parts: [{ name: "brief-CAISO-2021-02.PDF", bytes: 5 }, { bytes: 3 }] });
    expect(onlyPdf.html).toBeUndefined();
    expect(onlyPdf.pdf?.name).toBe("brief-CAISO-2021-02.PDF");
  });
});

describe("fieldError", () => {
  it("puts a problem naming `month` or `market` next to that field, with the server's words", () => {
    const future = new ApiError(400, "invalid_parameter", "2099-01 has not begun on the MISO clock", "month");
    expect(fieldError(future)).toEqual({ field: "month", message: "2099-01 has not begun on the MISO clock" });
    const unknown = new ApiError(400, "invalid_parameter", "unknown market `XYZ`", "market");
    expect(fieldError(unknown)).toEqual({ field: "market", message: "unknown market `XYZ`" });
  });
  it("puts a 403 (no entitlement to the market's reports) at the market", () => {
    const refused = new ApiError(403, "forbidden", "tenant `pilot_caiso` has no entitlement to MISO on the `reports` channel");
    expect(fieldError(refused)).toEqual({ field: "market", message: refused.message });
  });
  it("leaves anything else to the form as a whole, never reworded", () => {
    expect(fieldError(new ApiError(422, "too_many_exports", "4 exports are running; wait for one to end"))).toEqual({
      field: null,
      message: "4 exports are running; wait for one to end",
    });
    expect(fieldError(new ApiError(400, "invalid_parameter", "1–128 characters", "idempotency_key")).field).toBeNull();
    expect(fieldError({ message: "Failed to fetch" })).toEqual({ field: null, message: "Failed to fetch" });
  });
});

describe("status and progress", () => {
  it("labels each status, and passes an unknown one through", () => {
    expect(["queued", "running", "succeeded", "failed", "cancelled", "expired"].map(statusLabel)).toEqual([
      "Queued",
      "Running",
      "Succeeded",
      "Failed",
      "Cancelled",
      "Expired",
    ]);
    expect(statusLabel("paused")).toBe("paused");
  });
  it("says how far the job is, clamped, with its message", () => {
    expect(progressText(undefined)).toBe("");
    expect(progressText({ progress: 0.4, message: "rendering the PDF" })).toBe("40% · rendering the PDF");
    expect(progressText({ progress: 1.7, message: " " })).toBe("100%");
    expect(progressText({ progress: Number.NaN, message: "queued" })).toBe("queued");
  });
  it("is live while queued or running only", () => {
    expect(isLive({ status: "queued" })).toBe(true);
    expect(isLive({ status: "running" })).toBe(true);
    for (const s of ["succeeded", "failed", "cancelled", "expired"]) expect(isLive({ status: s })).toBe(false);
  });
});

describe("the list", () => {
  const a = brief("rp_a", "MISO", "2021-01", "2026-10-01T10:00:00Z");
  const b = brief("rp_b", "CAISO", "2021-02", "2026-10-02T10:00:00Z");
  const c = brief("rp_c", "MISO", "2021-02", "2026-10-03T10:00:00Z");
  it("keeps the newest first, and an update replaces the brief of its id", () => {
    const list = [a, c, b].reduce(upsertReport, [] as Export[]);
    expect(list.map((x) => x.id)).toEqual(["rp_c", "rp_b", "rp_a"]);
    const done = { ...b, status: "succeeded", bytes: 140_000 };
    const after = upsertReport(list, done);
    expect(after.map((x) => x.id)).toEqual(["rp_c", "rp_b", "rp_a"]);
    expect(after[1].status).toBe("succeeded");
  });
  it("filters by market, all of them for none", () => {
    const list = [a, b, c];
    expect(briefsOf(list, "MISO").map((x) => x.id)).toEqual(["rp_a", "rp_c"]);
    expect(briefsOf(list, "CAISO").map((x) => x.id)).toEqual(["rp_b"]);
    expect(briefsOf(list, "PJM")).toEqual([]);
    expect(briefsOf(list, "")).toBe(list);
  });
  it("sizes files in binary units", () => {
    expect(formatBytes(140_000)).toBe("137 KiB");
    expect(formatBytes(900)).toBe("900 B");
  });
});
