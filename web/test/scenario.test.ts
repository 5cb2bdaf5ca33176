import { describe, expect, it } from "vitest";
import {
  EXAMPLE,
  attributionRows,
  blockSeries,
  describeError,
  errorMarkers,
  fallbackNote,
  fmt2,
  lineCount,
  sensitivityRows,
  showValue,
  sideBySide,
  type Cell,
  type SummaryRow,
} from "../src/scenario";

const row = (month: string, block: string, base: number, scenario: number): SummaryRow => ({
  month,
  block,
  hours: 400,
  base,
  scenario,
  delta: scenario - base,
  attribution: { gas: scenario - base, carbon: 0, load: 0, adder: 0 },
  beta_gas: 8,
  fit: "cell",
  gas_shift: 1,
  carbon_price: 0,
});

const cell = (month: number, block: string, extra: Partial<Cell> = {}): Cell => ({
  month,
  block,
  fit: "cell",
  beta_gas: month + (block === "onpeak" ? 0.5 : 0),
  beta_gas_se: 0.1,
  r2: 0.8,
  n: 20,
  cell_days: 20,
  alpha: 1,
  ...extra,
});

describe("the example document", () => {
  it("has the drivers on line 6 and gas on line 7, as the e2e expects", () => {
    const lines = EXAMPLE.split("\n");
    expect(lines[5]).toBe("drivers:");
    expect(lines[6]).toBe("  gas: { shift: 1.0 }");
    expect(lineCount(EXAMPLE)).toBe(9); // the final newline opens line 9
  });
});

describe("describeError", () => {
  it("words errors as the server does", () => {
    expect(describeError({ path: "drivers.gas.shift", message: '["2027-13"]: not a month', line: 7, column: 10 })).toBe(
      'drivers.gas.shift["2027-13"]: not a month (line 7, column 10)',
    );
    expect(describeError({ path: "name", message: "missing field", line: null, column: null })).toBe("name: missing field");
    expect(describeError({ path: ".", message: "bad", line: 3 })).toBe(".: bad (line 3)");
  });
});

describe("errorMarkers", () => {
  it("marks each line with its errors, in line order", () => {
    const m = errorMarkers(
      [
        { path: "b", message: "x", line: 7, column: 5 },
        { path: "a", message: "y", line: 2, column: 1 },
        { path: "c", message: "z", line: 7, column: 9 },
      ],
      9,
    );
    expect(m.map((x) => x.line)).toEqual([2, 7]);
    expect(m[1].messages).toEqual(["b: x (line 7, column 5)", "c: z (line 7, column 9)"]);
  });
  it("marks no line for an error without one, and the last line for one past the end", () => {
    expect(errorMarkers([{ path: ".", message: "empty" }], 3)).toEqual([]);
    expect(errorMarkers([{ path: ".", message: "eof", line: 12, column: 1 }], 3).map((x) => x.line)).toEqual([3]);
    expect(errorMarkers([{ path: ".", message: "eof", line: 0, column: 1 }], 3).map((x) => x.line)).toEqual([1]);
  });
});

describe("report shaping", () => {
  const summary = [row("2027-02", "offpeak", 30, 38), row("2027-01", "offpeak", 31, 39), row("2027-02", "onpeak", 40, 49), row("2027-01", "onpeak", 41, 50)];
  it("orders attribution rows by month, on-peak first", () => {
    expect(attributionRows(summary).map((r) => `${r.month} ${r.block}`)).toEqual([
      "2027-01 onpeak",
      "2027-01 offpeak",
      "2027-02 onpeak",
      "2027-02 offpeak",
    ]);
  });
  it("gives one block's base, scenario and band by month", () => {
    const band = (month: string, block: string, p5: number, p95: number) => ({ month, block, scenario: 0, mean: 0, std_error: 0, p5, p25: 0, p50: 0, p75: 0, p95 });
    const s = blockSeries({ summary, bands: [band("2027-02", "onpeak", 44, 55), band("2027-01", "onpeak", 45, 56), band("2027-01", "offpeak", 1, 2)] }, "onpeak");
    expect(s).toEqual({ months: ["2027-01", "2027-02"], base: [41, 40], scenario: [50, 49], p5: [45, 44], p95: [56, 55] });
    const off = blockSeries({ summary, bands: null }, "offpeak");
    expect(off.scenario).toEqual([39, 38]);
    expect(off.p5).toBeNull();
    expect(off.p95).toBeNull();
  });
  it("puts several runs side by side by month, null where one has no such month", () => {
    const other = [row("2027-02", "onpeak", 40, 60), row("2027-03", "onpeak", 40, 61)];
    expect(sideBySide([summary, other], "onpeak")).toEqual([
      { month: "2027-01", values: [50, null] },
      { month: "2027-02", values: [49, 60] },
      { month: "2027-03", values: [null, 61] },
    ]);
  });
});

describe("sensitivity", () => {
  it("lays 24 cells out as 12 months × on-peak, off-peak", () => {
    const cells = Array.from({ length: 12 }, (_, i) => [cell(i + 1, "offpeak"), cell(i + 1, "onpeak")]).flat();
    const rows = sensitivityRows(cells);
    expect(rows).toHaveLength(12);
    expect(rows[0].month).toBe(1);
    expect(rows[11].cells.onpeak?.beta_gas).toBe(12.5);
    expect(rows[11].cells.offpeak?.beta_gas).toBe(12);
    expect(sensitivityRows([])[3].cells.onpeak).toBeNull();
  });
  it("notes a pooled fit and why, and nothing for a cell's own fit", () => {
    expect(fallbackNote(cell(1, "onpeak"))).toBeNull();
    expect(fallbackNote(cell(1, "onpeak", { fit: "month_pooled", fallback: "8 days, fewer than 10" }))).toBe("month pooled: 8 days, fewer than 10");
    expect(fallbackNote(cell(1, "onpeak", { fit: "all_pooled" }))).toBe("all pooled");
  });
});

describe("formatting", () => {
  it("shows two decimals, a dash for nothing", () => {
    expect(fmt2(1.005)).toBe("1.00");
    expect(fmt2(-3.456)).toBe("-3.46");
    expect(fmt2(null)).toBe("—");
    expect(fmt2(Number.NaN)).toBe("—");
    expect(showValue(undefined)).toBe("—");
    expect(showValue(1.5)).toBe("1.5");
    expect(showValue({ "2027-01": 1 })).toBe('{"2027-01":1}');
    expect(showValue("a")).toBe("a");
  });
});
