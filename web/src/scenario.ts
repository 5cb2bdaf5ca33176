// Data shaping for the Scenarios page, kept free of React and the DOM so
// Vitest can test it: validation errors as gutter markers, a run's report as
// chart series and table rows, the calibration as a sensitivity grid, and
// runs side by side.
//
// The validation errors, a scenario run's report and a calibration run's
// output are free-form JSON in the API's schema (`errors: object[]`,
// `report: object`, `output: object`): the interfaces below are the fields
// this page reads, as carbon-scenario and carbon-service's scenarios.rs
// write them. Every other API type comes from the generated schema.

import type { Schemas } from "./api";

/** The starting text of a new scenario. */
export const EXAMPLE = `name: Gas +1
instrument: MISO.INDIANA.HUB
market_run: rt
base: { curve_id: MISO_IND_FWD }
calibration: { start: 2021-01-01, end: 2022-01-01 }
drivers:
  gas: { shift: 1.0 }
monte_carlo: { paths: 300, seed: 7 }
`;

/** One error of `POST /api/v1/scenarios/validate` (carbon-scenario's `DslError`). */
export interface DslError {
  path: string;
  message: string;
  line?: number | null;
  column?: number | null;
}

/** The validation answer with its errors read. */
export type Checked = Omit<Schemas["Validation"], "errors"> & { errors: DslError[] };

/** The delivery blocks a scenario summarises. */
export type ScenarioBlock = "onpeak" | "offpeak";
export const BLOCKS: ScenarioBlock[] = ["onpeak", "offpeak"];
export const BLOCK_LABEL: Record<ScenarioBlock, string> = { onpeak: "On-peak", offpeak: "Off-peak" };

/** The move of a month × block per driver ($/MWh). */
export interface Attribution {
  gas: number;
  carbon: number;
  load: number;
  adder: number;
}

/** `report.summary[]`: a delivery month × block against its base. */
export interface SummaryRow {
  month: string; // YYYY-MM
  block: string;
  hours: number;
  base: number;
  scenario: number;
  delta: number;
  attribution: Attribution;
  beta_gas: number;
  fit: string;
  gas_shift: number;
  carbon_price: number;
}

/** `report.bands[]`: the Monte Carlo distribution of a month × block's average. */
export interface BandRow {
  month: string;
  block: string;
  scenario: number;
  mean: number;
  std_error: number;
  p5: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
}

/** `report.calibration`: where the sensitivities came from. */
export interface CalibrationRef {
  run_id: string;
  start: string;
  end: string;
  used: number;
  gas_carried_days: number;
  fallbacks: { month: number; block: string; fit: string; reason?: string | null }[];
}

/** A scenario run's report (a curve run's `report` with `kind: scenario`). */
export interface ScenarioReport {
  kind?: string;
  summary: SummaryRow[];
  bands: BandRow[] | null;
  calibration: CalibrationRef;
}

/** A calibration run's `output.cells[]`: one calendar month × block. */
export interface Cell {
  month: number; // 1–12
  block: string;
  fit: string; // cell, month_pooled, all_pooled
  fallback?: string | null;
  beta_gas: number;
  beta_gas_se: number;
  beta_load?: number | null;
  r2: number;
  n: number;
  cell_days: number;
  alpha: number;
}

/** A calibration run's output (the fields read here). */
export interface CalibrationOutput {
  cells: Cell[];
}

/** Numbers as the tables show them (two decimals; a dash for none). */
export function fmt2(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(2);
}

/** Lines in a text as an editor numbers them (a final newline opens one more). */
export function lineCount(text: string): number {
  return text.split("\n").length;
}

/** An error as people read it: `path: message (line L, column C)`, the
 * way the server words it (a `[key]` message follows its path directly). */
export function describeError(e: DslError): string {
  const where = e.message.startsWith("[") ? `${e.path}${e.message}` : `${e.path}: ${e.message}`;
  if (e.line != null && e.column != null) return `${where} (line ${e.line}, column ${e.column})`;
  if (e.line != null) return `${where} (line ${e.line})`;
  return where;
}

/** A mark in the editor's gutter: the line and what is wrong there. */
export interface Marker {
  line: number;
  messages: string[];
}

/** Gutter markers for validation errors: one per line that has any, in line
 * order; an error without a line marks none, one past the end marks the last. */
export function errorMarkers(errors: DslError[], lines: number): Marker[] {
  const at = new Map<number, string[]>();
  for (const e of errors) {
    if (e.line == null || !Number.isFinite(e.line)) continue;
    const line = Math.min(Math.max(1, Math.trunc(e.line)), Math.max(1, lines));
    at.set(line, [...(at.get(line) ?? []), describeError(e)]);
  }
  return [...at.entries()].sort((a, b) => a[0] - b[0]).map(([line, messages]) => ({ line, messages }));
}

/** Summary rows in delivery order, on-peak before off-peak within a month. */
export function attributionRows(summary: SummaryRow[]): SummaryRow[] {
  const rank = (b: string) => (b === "onpeak" ? 0 : 1);
  return [...summary].sort((a, b) => a.month.localeCompare(b.month) || rank(a.block) - rank(b.block));
}

/** The chart of one block: months (as labels and x = 0, 1, …), base and
 * scenario, and the P5 / P95 band where the run simulated one. */
export interface BlockSeries {
  months: string[];
  base: number[];
  scenario: number[];
  p5: (number | null)[] | null;
  p95: (number | null)[] | null;
}

export function blockSeries(report: Pick<ScenarioReport, "summary" | "bands">, block: ScenarioBlock): BlockSeries {
  const rows = attributionRows(report.summary.filter((r) => r.block === block));
  const months = rows.map((r) => r.month);
  const bands = report.bands?.filter((b) => b.block === block) ?? null;
  const band = (k: "p5" | "p95") =>
    bands && bands.length ? months.map((m) => bands.find((b) => b.month === m)?.[k] ?? null) : null;
  return {
    months,
    base: rows.map((r) => r.base),
    scenario: rows.map((r) => r.scenario),
    p5: band("p5"),
    p95: band("p95"),
  };
}

/** A row of the sensitivity table: a calendar month's β_gas per block. */
export interface SensitivityRow {
  month: number;
  cells: Record<ScenarioBlock, Cell | null>;
}

/** The 24 calibration cells as 12 months × (on-peak, off-peak). */
export function sensitivityRows(cells: Cell[]): SensitivityRow[] {
  return Array.from({ length: 12 }, (_, i) => {
    const month = i + 1;
    const find = (b: ScenarioBlock) => cells.find((c) => c.month === month && c.block === b) ?? null;
    return { month, cells: { onpeak: find("onpeak"), offpeak: find("offpeak") } };
  });
}

const FIT_LABEL: Record<string, string> = { cell: "own cell", month_pooled: "month pooled", all_pooled: "all pooled" };

/** How a cell's fit reads: `null` for its own cell's fit, else the level and why. */
export function fallbackNote(c: Cell): string | null {
  if (c.fit === "cell" && !c.fallback) return null;
  const level = FIT_LABEL[c.fit] ?? c.fit;
  return c.fallback ? `${level}: ${c.fallback}` : level;
}

/** Labels of compared runs, in the order they were chosen. */
export const SIDES = ["low", "central", "high"] as const;

/** Months of several runs side by side: one row per month any run has, the
 * scenario price of each run (null where it has no such month). */
export interface SideRow {
  month: string;
  values: (number | null)[];
}

export function sideBySide(summaries: SummaryRow[][], block: ScenarioBlock): SideRow[] {
  const months = [...new Set(summaries.flatMap((s) => s.filter((r) => r.block === block).map((r) => r.month)))].sort();
  return months.map((month) => ({
    month,
    values: summaries.map((s) => s.find((r) => r.month === month && r.block === block)?.scenario ?? null),
  }));
}

/** A value in the diff table (`from` / `to` of a change): JSON, or a dash when absent. */
export function showValue(v: unknown): string {
  return v === undefined || v === null ? "—" : typeof v === "string" ? v : JSON.stringify(v);
}
