// Data shaping for the Downloads page's feeds (a tenant's standing orders
// for a file), kept free of React and the DOM so Vitest can test it: the
// "New feed" form as the body of `POST /api/v1/feeds`, a stored feed in
// words (what, when, where), its health, and its runs (each an export, or a
// brief for a brief feed): where each is read, linked and delivered.
//
// A feed's `spec` and a run's `spec` are free-form JSON in the API's schema
// (`object`): `feedSpec` and `runTarget` read the fields carbon-service's
// feeds.rs stores (every field with its default filled in). File formats,
// liveness, the history's order and parts are the Downloads page's helpers
// (exports.ts); status labels, progress and month names the Reports page's
// (reports.ts); the error placement is api.ts's, as the Reports form uses it.

import { placeError, type Export, type ExportFormat, type Schemas } from "./api";
import { FORMAT_LABEL, FORMATS, manifestParts } from "./exports";
import { monthName } from "./reports";

export type Feed = Schemas["Feed"];
export type FeedSpec = Schemas["FeedSpec"];
export type FeedKind = Schemas["FeedKind"];
export type FeedDays = Schemas["FeedDays"];
export type NewFeed = Schemas["NewFeed"];
export type FeedPatch = Schemas["FeedPatch"];

/** The "New feed" form, as typed (lists comma-separated, numbers as text). */
export interface FeedForm {
  kind: FeedKind;
  name: string;
  /** Prices: instruments of one market. */
  instruments: string;
  /** Prices: market runs (`da`, `rt`). */
  marketRuns: string;
  format: ExportFormat;
  gzip: boolean;
  /** `HH:MM` on the market clock. */
  at: string;
  days: FeedDays;
  /** Prices: market days covered before the firing day (empty: 1). */
  daysBack: string;
  /** Prices: a destination's name; empty: the download center. */
  destination: string;
  /** Prices: the folder (empty: the feed's name). */
  prefix: string;
  /** Brief: the market. */
  market: string;
  /** Brief: the firing day of the month (empty: 2). */
  dayOfMonth: string;
  /** Fire it at once too. */
  runNow: boolean;
}

/** The form at first: the server's defaults (07:00 every day, yesterday's
 * day-ahead prices as Parquet into the download center). */
export function emptyFeedForm(instruments = "", market = ""): FeedForm {
  return {
    kind: "prices",
    name: "",
    instruments,
    marketRuns: "da",
    format: "parquet",
    gzip: false,
    at: "07:00",
    days: "every",
    daysBack: "1",
    destination: "",
    prefix: "",
    market,
    dayOfMonth: "2",
    runNow: false,
  };
}

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** A whole number as typed (`undefined`, so the server's default, when empty
 * or not one). */
function whole(s: string): number | undefined {
  const t = s.trim();
  return /^-?\d+$/.test(t) ? Number(t) : undefined;
}

/**
 * The body of `POST /api/v1/feeds`. What the form says goes as it is, even
 * when wrong (an empty time, no instrument, `../x`): the server names the
 * field at fault and the form shows its words there. Only what is left empty
 * and has a default is left out (destination, prefix, days back, day of
 * month); a brief carries no instruments, destination or prefix (the server
 * refuses them), and an XLSX workbook is never gzipped.
 */
export function feedBody(f: FeedForm): NewFeed {
  const at = f.at.trim();
  if (f.kind === "brief") {
    const spec: FeedSpec = { kind: "brief", market: f.market.trim(), at };
    const day = whole(f.dayOfMonth);
    if (day !== undefined) spec.day_of_month = day;
    return { name: f.name.trim(), spec, run_now: f.runNow };
  }
  const spec: FeedSpec = {
    kind: "prices",
    instruments: list(f.instruments),
    market_runs: list(f.marketRuns),
    format: f.format,
    gzip: f.gzip && f.format !== "xlsx",
    at,
    days: f.days,
  };
  const back = whole(f.daysBack);
  if (back !== undefined) spec.days_back = back;
  if (f.destination.trim()) spec.destination = f.destination.trim();
  if (f.prefix.trim()) spec.prefix = f.prefix.trim();
  return { name: f.name.trim(), spec, run_now: f.runNow };
}

/** The form's fields the server may name, as it names them (`param`). */
export type FeedField =
  | "name"
  | "instruments"
  | "market_runs"
  | "format"
  | "gzip"
  | "at"
  | "days"
  | "days_back"
  | "destination"
  | "prefix"
  | "market"
  | "day_of_month";

/** The fields the form shows for each kind. */
export const FEED_FIELDS: Record<FeedKind, readonly FeedField[]> = {
  prices: ["name", "instruments", "market_runs", "format", "gzip", "at", "days", "days_back", "destination", "prefix"],
  brief: ["name", "market", "day_of_month", "at"],
};

/**
 * Where an API error of the form belongs (the Reports form's placement): the
 * field its `param` names when the form shows it; a 403 (no entitlement) at
 * what is delivered — the instruments, or a brief's market; a 409 (the name
 * is taken) at the name; else the form as a whole. The server's words.
 */
export function feedFieldError(
  e: { status?: number; param?: string; message: string },
  kind: FeedKind,
): { field: FeedField | null; message: string } {
  return placeError(e, FEED_FIELDS[kind], { 403: kind === "brief" ? "market" : "instruments", 409: "name" });
}

/** A stored feed spec, every field read (the server's defaults where one is
 * missing or not of its type). */
export interface SpecView {
  kind: FeedKind;
  market: string;
  dayOfMonth: number;
  instruments: string[];
  marketRuns: string[];
  /** Empty: all. */
  components: string[];
  format: ExportFormat;
  gzip: boolean;
  at: string;
  days: FeedDays;
  daysBack: number;
  destination: string | null;
  prefix: string | null;
}

export function feedSpec(spec: unknown): SpecView {
  const s = (typeof spec === "object" && spec !== null ? spec : {}) as Record<string, unknown>;
  const str = (v: unknown, d: string) => (typeof v === "string" ? v : d);
  const strs = (v: unknown, d: string[]) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : d);
  const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d);
  const opt = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  return {
    kind: s.kind === "brief" ? "brief" : "prices",
    market: str(s.market, ""),
    dayOfMonth: num(s.day_of_month, 2),
    instruments: strs(s.instruments, []),
    marketRuns: strs(s.market_runs, ["da"]),
    components: strs(s.components, []),
    format: FORMATS.includes(s.format as ExportFormat) ? (s.format as ExportFormat) : "parquet",
    gzip: s.gzip === true,
    at: str(s.at, "07:00"),
    days: s.days === "weekdays" ? "weekdays" : "every",
    daysBack: num(s.days_back, 1),
    destination: opt(s.destination),
    prefix: opt(s.prefix),
  };
}

/** What a feed delivers, in a line: `MISO.INDIANA.HUB da · Parquet`,
 * `MISO.INDIANA.HUB, MISO.MICHIGAN.HUB da, rt lmp · CSV · gzip · last 7
 * market days`, `Monthly brief · MISO`. */
export function whatWords(spec: unknown): string {
  const s = feedSpec(spec);
  if (s.kind === "brief") return `Monthly brief · ${s.market || "?"}`;
  const head = [s.instruments.join(", ") || "?", s.marketRuns.join(", "), s.components.join(", ")].filter(Boolean).join(" ");
  const out = [head, FORMAT_LABEL[s.format]];
  if (s.gzip) out.push("gzip");
  if (s.daysBack > 1) out.push(`last ${s.daysBack} market days`);
  return out.join(" · ");
}

/** When a feed fires, in words: `every day at 07:00 market time`,
 * `weekdays at 07:00 market time`, `monthly on day 2 at 06:00 market time`. */
export function scheduleWords(spec: unknown): string {
  const s = feedSpec(spec);
  const at = `at ${s.at} market time`;
  if (s.kind === "brief") return `monthly on day ${s.dayOfMonth} ${at}`;
  return `${s.days === "weekdays" ? "weekdays" : "every day"} ${at}`;
}

/** A feed's name as the server makes it a folder when it names no prefix:
 * letters and digits kept (lower case), runs of anything else one `-`. */
export function slug(name: string): string {
  let s = "";
  for (const c of name) {
    if (/^[A-Za-z0-9]$/.test(c)) s += c.toLowerCase();
    else if (!s.endsWith("-")) s += "-";
  }
  s = s.replace(/^-+|-+$/g, "");
  return s || "feed";
}

/** Where a feed's files go: `Download center`, or a destination and the
 * folder in it (`my-bucket · miso/da/`; the feed's name as a folder when it
 * names no prefix). */
export function destinationWords(spec: unknown, name: string): string {
  const s = feedSpec(spec);
  if (s.kind === "brief" || !s.destination) return "Download center";
  return `${s.destination} · ${s.prefix ?? slug(name)}/`;
}

/** A feed's health for people: paused or active, and failing when its
 * last runs failed (how many in a row, and why the last one did). */
export interface FeedHealth {
  state: "active" | "paused";
  label: "Active" | "Paused";
  failing: boolean;
  /** `Failing · 2 runs in a row`; empty when not failing. */
  badge: string;
  /** Why the last run failed (empty when not failing). */
  why: string;
}

export function feedHealth(f: Pick<Feed, "enabled" | "failures" | "last_error">): FeedHealth {
  const failing = f.failures > 0;
  return {
    state: f.enabled ? "active" : "paused",
    label: f.enabled ? "Active" : "Paused",
    failing,
    badge: failing ? `Failing · ${f.failures} ${f.failures === 1 ? "run" : "runs in a row"}` : "",
    why: failing ? (f.last_error ?? "").trim() : "",
  };
}

/** When a feed fires next, for people: the time (as `when` shows it), or
 * `paused`: a paused feed does not fire. */
export function nextDueWords(f: Pick<Feed, "enabled" | "next_due">, when: (t: string) => string): string {
  return f.enabled ? when(f.next_due) : "paused";
}

/** The feeds with `f` in it (replacing the feed of its id), by name as the
 * server lists them. */
export function upsertFeed(feeds: Feed[], f: Feed): Feed[] {
  const out = feeds.filter((x) => x.id !== f.id);
  out.push(f);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether a run is a monthly brief (a brief feed's), read and linked under
 * `/api/v1/reports`, not `/api/v1/exports`. */
export const isBriefRun = (run: Pick<Export, "id" | "dataset">) => run.dataset === "market_brief" || run.id.startsWith("rp_");

/** Where a run is read again (to follow it). */
export const runPath = (run: Pick<Export, "id" | "dataset">) =>
  `/api/v1/${isBriefRun(run) ? "reports" : "exports"}/${encodeURIComponent(run.id)}`;

/** Where links to a run's files are made. */
export const runLinksPath = (run: Pick<Export, "id" | "dataset">) => `${runPath(run)}/links`;

/** Where a run was delivered: the destination (`null`: the download center,
 * where its files are linked) and the folder (`<prefix>/<market day>`; a
 * brief's: its month). */
export function runTarget(run: Pick<Export, "id" | "dataset" | "spec">): { destination: string | null; folder: string } {
  const spec = (run.spec ?? {}) as Record<string, unknown>;
  const feed = (typeof spec.feed === "object" && spec.feed !== null ? spec.feed : {}) as Record<string, unknown>;
  const destination = typeof feed.destination === "string" && feed.destination ? feed.destination : null;
  let folder = typeof feed.folder === "string" ? feed.folder : "";
  if (!folder && isBriefRun(run) && typeof spec.month === "string") folder = monthName(spec.month);
  return { destination, folder };
}

/** The files of a finished run to link from the download center: its parts
 * and, for prices, the manifest (a day without prices has no part, only
 * the manifest). None for a run in a destination (the tenant's own bucket:
 * no link) or one not succeeded. */
export function runFiles(run: Pick<Export, "id" | "dataset" | "spec" | "status" | "manifest">): string[] {
  if (run.status !== "succeeded" || runTarget(run).destination) return [];
  const parts = manifestParts(run.manifest).map((p) => p.name);
  return isBriefRun(run) ? parts : [...parts, "manifest.json"];
}
