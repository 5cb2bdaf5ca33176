// Data shaping for the Downloads page, kept free of React and the DOM so
// Vitest can test it: the export form as a `/prices` query string (built with
// the explorer's `pricesUrl`) and back, the request bodies, the history's
// order, the manifest's parts, sizes in human units.
//
// An export's `manifest` and `spec` are free-form JSON in the API's schema
// (`object`): `ManifestPart` and `specSummary` read the fields that
// carbon-service's exports.rs writes. Every other API type comes from the
// generated schema.

import type { Aggregation, Block, Component, Export, ExportFormat, Frequency, NewExport } from "./api";
import { pricesUrl } from "./query";

/** The file formats, as the form offers them. */
export const FORMAT_LABEL: Record<ExportFormat, string> = {
  csv: "CSV",
  parquet: "Parquet",
  jsonl: "JSON Lines",
  xlsx: "Excel (XLSX)",
};
export const FORMATS = Object.keys(FORMAT_LABEL) as ExportFormat[];

const BLOCK_SET: Record<Block, true> = { flat: true, onpeak: true, offpeak: true, "2x16": true, "7x8": true };
export const BLOCKS = Object.keys(BLOCK_SET) as Block[];
const FREQUENCY_SET: Record<Frequency, true> = { "5min": true, "15min": true, "1h": true, "1d": true, "1mo": true };
export const FREQUENCIES = Object.keys(FREQUENCY_SET) as Frequency[];
const AGGREGATION_SET: Record<Aggregation, true> = { mean: true, min: true, max: true, first: true, last: true };
export const AGGREGATIONS = Object.keys(AGGREGATION_SET) as Aggregation[];

/** The export form's query fields, as typed (lists comma-separated). */
export interface ExportForm {
  instruments: string;
  start: string;
  end: string;
  /** Market runs; empty: every run. */
  marketRuns: string;
  /** Price components; empty: all (the file's columns are the same either way). */
  components: string;
  resample: string;
  agg: string;
  block: string;
  /** `market` clock when empty, `UTC` or an IANA zone. */
  timezone: string;
  /** Point-in-time instant; empty: the latest versions. */
  asOf: string;
}

/** The last full calendar month before `today` (dates on its local clock). */
export function lastMonth(today: Date): { start: string; end: string } {
  const ymd = (y: number, m: number) => {
    const d = new Date(y, m, 1);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-01`;
  };
  return { start: ymd(today.getFullYear(), today.getMonth() - 1), end: ymd(today.getFullYear(), today.getMonth()) };
}

/** An empty form over `range`. */
export function emptyForm(range: { start: string; end: string }): ExportForm {
  return { instruments: "", marketRuns: "da", components: "", resample: "", agg: "mean", block: "flat", timezone: "", asOf: "", ...range };
}

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * The `/prices` query string of the form — exactly what `GET /api/v1/prices`
 * takes, built by the explorer's `pricesUrl` (same keys, same order), with
 * market runs repeated like instruments (none: every run) and `as_of` last.
 */
export function exportQuery(f: ExportForm): string {
  const runs = list(f.marketRuns);
  const url = pricesUrl({
    instruments: list(f.instruments),
    start: f.start.trim(),
    end: f.end.trim(),
    marketRun: runs.join(","),
    components: list(f.components) as Component[],
    resample: f.resample || undefined,
    agg: f.agg || undefined,
    block: (f.block || "flat") as Block,
    timezone: f.timezone.trim() || undefined,
  });
  const out = new URLSearchParams();
  for (const [k, v] of new URLSearchParams(url.slice(url.indexOf("?") + 1))) {
    if (k === "market_run") runs.forEach((r) => out.append(k, r));
    else out.append(k, v);
  }
  if (f.asOf.trim()) out.set("as_of", f.asOf.trim());
  return out.toString();
}

/**
 * A form from a `/prices` query string (with or without `?`, or a whole
 * `/api/v1/prices?…` URL), over `base` for what it does not say. `format`,
 * `limit` and `cursor` are the export's, not the query's: dropped.
 */
export function parseExportQuery(text: string, base: ExportForm): ExportForm {
  const p = new URLSearchParams(text.includes("?") ? text.slice(text.indexOf("?") + 1) : text);
  const all = (k: string) => p.getAll(k).flatMap(list).join(", ");
  const one = (k: string, fallback: string) => p.get(k)?.trim() ?? fallback;
  return {
    instruments: p.has("instrument_id") ? all("instrument_id") : base.instruments,
    start: one("start", base.start),
    end: one("end", base.end),
    marketRuns: p.has("market_run") ? all("market_run") : "",
    components: all("components"),
    resample: one("resample", ""),
    agg: one("agg", base.agg),
    block: one("block", "flat"),
    timezone: one("timezone", ""),
    asOf: one("as_of", ""),
  };
}

/** `/downloads?query=…`: the Downloads page over a price query (a
 * `/api/v1/prices?…` URL or its query string). */
export function downloadsPath(priceQuery: string): string {
  const q = priceQuery.includes("?") ? priceQuery.slice(priceQuery.indexOf("?") + 1) : priceQuery;
  return `/downloads?query=${encodeURIComponent(q)}`;
}

/** The body of `POST /api/v1/exports` (and, without the key, of its estimate).
 * An XLSX workbook is compressed already: never gzipped. */
export function exportBody(f: ExportForm, format: ExportFormat, gzip: boolean, idempotencyKey = ""): NewExport {
  const body: NewExport = { query: exportQuery(f), format, gzip: gzip && format !== "xlsx" };
  if (idempotencyKey.trim()) body.idempotency_key = idempotencyKey.trim();
  return body;
}

/** The form field an API error's `param` is about (for `aria-invalid`). */
export function fieldOf(param: string | undefined): keyof ExportForm | "format" | "gzip" | "idempotencyKey" | null {
  const fields: Record<string, keyof ExportForm | "format" | "gzip" | "idempotencyKey"> = {
    instrument_id: "instruments",
    start: "start",
    end: "end",
    market_run: "marketRuns",
    components: "components",
    resample: "resample",
    agg: "agg",
    block: "block",
    timezone: "timezone",
    as_of: "asOf",
    format: "format",
    gzip: "gzip",
    idempotency_key: "idempotencyKey",
  };
  return (param && fields[param]) || null;
}

/** States an export leaves no more (`expired`: its files were deleted). */
export const FINAL_STATES = ["succeeded", "failed", "cancelled", "expired"];
/** Whether an export is still queued or being written. */
export const isLive = (e: Pick<Export, "status">) => !FINAL_STATES.includes(e.status);

/** The history with `e` in it (replacing the export of its id), newest first. */
export function upsertExport(history: Export[], e: Export): Export[] {
  const out = history.filter((x) => x.id !== e.id);
  out.push(e);
  return out.sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
}

/** One part of an export's manifest (`manifest.parts[]`). */
export interface ManifestPart {
  name: string;
  /** `YYYY-MM`, the UTC calendar month it holds. */
  month: string;
  start: string;
  end: string;
  rows: number;
  bytes: number;
  sha256: string;
}

/** The parts a manifest lists (none when there is no manifest yet). */
export function manifestParts(manifest: unknown): ManifestPart[] {
  const parts = (manifest as { parts?: unknown } | null | undefined)?.parts;
  if (!Array.isArray(parts)) return [];
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  return parts
    .filter((p): p is Record<string, unknown> => typeof p === "object" && p !== null && typeof (p as { name?: unknown }).name === "string")
    .map((p) => ({
      name: str(p.name),
      month: str(p.month),
      start: str(p.start),
      end: str(p.end),
      rows: num(p.rows),
      bytes: num(p.bytes),
      sha256: str(p.sha256),
    }));
}

/** What an export's stored spec asks for, in one line:
 * `MISO.INDIANA.HUB · da · 2026-10-01 05:00 → 2026-10-02 05:00 UTC`. */
export function specSummary(spec: unknown): string {
  const prices = (spec as { prices?: Record<string, unknown> } | null | undefined)?.prices;
  if (!prices) return "";
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const at = (v: unknown) => (typeof v === "string" ? v.slice(0, 16).replace("T", " ") : "?");
  const runs = strings(prices.market_runs);
  return [strings(prices.instruments).join(", "), runs.length ? runs.join(", ") : "all runs", `${at(prices.start)} → ${at(prices.end)} UTC`].join(" · ");
}

/** The first 12 hex digits of a SHA-256 (the whole one belongs in a title). */
export const shortSha = (sha: string) => (sha.length > 12 ? `${sha.slice(0, 12)}…` : sha);

/** Bytes in binary units: `512 B`, `2.6 KiB`, `14 MiB`, `1.2 GiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "";
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n / 1024;
  let i = 0;
  const shown = (x: number) => (x < 10 ? x.toFixed(1) : String(Math.round(x)));
  while (Number(shown(v)) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${shown(v)} ${units[i]}`;
}

/** A count with thousands separators (`1,234,567`). */
export const formatCount = (n: number) => n.toLocaleString("en-US");

/** The absolute URL of a signed link's path, to copy or hand to a program. */
export function absoluteUrl(origin: string, path: string): string {
  return new URL(path, origin).toString();
}
