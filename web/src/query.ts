// Data shaping for the hub, kept free of React and the DOM so Vitest can
// test it: query URLs, time-zone display, series alignment, CSV.

import type { Schemas } from "./api";

/** A price component (`components=`; the API's `Component`). */
export type Component = Schemas["Component"];
/** A delivery block (`block=`; the API's `Block`). */
export type Block = Schemas["Block"];

export interface PriceQuery {
  instruments: string[];
  start: string; // YYYY-MM-DD or RFC 3339
  end: string;
  marketRun: string; // da, rt, rt5, ...
  components: Component[];
  resample?: string; // 5min, 15min, 1h, 1d, 1mo
  agg?: string; // mean, min, max, first, last, sum
  block?: Block;
  timezone?: string; // output zone; empty = the market's
}

/** `/api/v1/prices?...` for a query (format json or csv). Keys in a fixed
 * order so the same query is the same URL (the CSV download and the chart
 * ask for exactly the same thing). */
export function pricesUrl(q: PriceQuery, format: "json" | "csv" = "json"): string {
  const p = new URLSearchParams();
  for (const id of q.instruments) p.append("instrument_id", id);
  p.set("start", q.start);
  p.set("end", q.end);
  p.set("market_run", q.marketRun);
  if (q.components.length) p.set("components", q.components.join(","));
  if (q.resample) {
    p.set("resample", q.resample);
    p.set("agg", q.agg ?? "mean");
  }
  if (q.block && q.block !== "flat") p.set("block", q.block);
  if (q.timezone) p.set("timezone", q.timezone);
  if (format !== "json") p.set("format", format);
  return `/api/v1/prices?${p.toString()}`;
}

/** Formats a UTC instant on a clock: `YYYY-MM-DD HH:mm` plus the zone's
 * abbreviation or offset (so 01:00 twice on the fall-back day is told apart). */
export function formatInstant(utc: string | number, timeZone: string): string {
  const d = typeof utc === "number" ? new Date(utc * 1000) : new Date(utc);
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "shortOffset",
  }).formatToParts(d);
  const get = (t: string) => parts.find((x) => x.type === t)?.value ?? "";
  const zone = get("timeZoneName").replace("GMT", "UTC").replace(/^UTC$/, "UTC+0");
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")} ${zone}`;
}

/** The fields of a price row (the API's `Price`) that `series` reads. */
export interface Row {
  instrument_id: string;
  market_run: string;
  interval_start_utc: string;
  [component: string]: unknown;
}

/** One series as parallel arrays (seconds since the epoch, values) for the chart. */
export function series(rows: Row[], instrument: string, component: Component): [number[], (number | null)[]] {
  const xs: number[] = [];
  const ys: (number | null)[] = [];
  for (const r of rows) {
    if (r.instrument_id !== instrument) continue;
    xs.push(Date.parse(r.interval_start_utc) / 1000);
    const v = r[component];
    ys.push(typeof v === "number" ? v : null);
  }
  return [xs, ys];
}

/** Aligns series on the union of their x values (nulls where one has no point),
 * as uPlot wants. */
export function align(all: [number[], (number | null)[]][]): [number[], ...(number | null)[][]] {
  const xs = Array.from(new Set(all.flatMap(([x]) => x))).sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = all.map(([x, y]) => {
    const out: (number | null)[] = new Array(xs.length).fill(null);
    x.forEach((t, i) => (out[index.get(t)!] = y[i]));
    return out;
  });
  return [xs, ...ys];
}

/** a − b where both have a value (DA − RT: the DART spread). */
export function spread(a: (number | null)[], b: (number | null)[]): (number | null)[] {
  return a.map((v, i) => (v === null || b[i] === null || b[i] === undefined ? null : round6(v - (b[i] as number))));
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** Change of the last value against the value 24 hours before it (null when
 * there is none). */
export function changeVsYesterday(xs: number[], ys: (number | null)[]): number | null {
  if (!xs.length) return null;
  const last = xs.length - 1;
  const target = xs[last] - 86_400;
  const i = xs.indexOf(target);
  const now = ys[last];
  const then = i >= 0 ? ys[i] : null;
  return now === null || then === null ? null : round6(now - then);
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes) into rows of strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Contracts typed or pasted into the curve builder: CSV with a header
 * (name,start,end,price[,bid,ask,block,weight]) or tab-separated cells
 * copied from a spreadsheet. Returns CSV text for `contracts_csv`. */
export function contractsToCsv(pasted: string): string {
  const text = pasted.trim();
  if (!text) return "";
  const lines = text.split(/\r?\n/);
  const tabbed = lines[0].includes("\t");
  const rows = tabbed ? lines.map((l) => l.split("\t").map((c) => c.trim())) : parseCsv(text + "\n");
  const quote = (c: string) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return rows.map((r) => r.map(quote).join(",")).join("\n") + "\n";
}

/** A dashboard card: one hub's latest price in one market run. */
export interface Card {
  instrument: string;
  run: string;
  market: string;
  last: number | null;
  at: string | null;
  change: number | null;
  spark: (number | null)[];
}

/** The market runs the dashboard shows. */
export const RUNS = ["da", "rt", "rt5", "rtpd"];

/** A stream tick (the fields the dashboard reads). */
export interface Tick {
  instrument_id: string;
  market_run: string;
  interval_start_utc: string;
  components?: { lmp?: number };
}

/** A tick moves its card's price forward (never back to an older interval);
 * a hub/run pair without a card gets one. */
export function applyTick(cards: Card[], m: Tick): Card[] {
  if (!RUNS.includes(m.market_run)) return cards;
  const lmp = typeof m.components?.lmp === "number" ? m.components.lmp : null;
  let found = false;
  const out = cards.map((c) => {
    if (c.instrument !== m.instrument_id || c.run !== m.market_run) return c;
    found = true;
    return !c.at || m.interval_start_utc >= c.at ? { ...c, last: lmp ?? c.last, at: m.interval_start_utc } : c;
  });
  if (found) return out;
  const card: Card = {
    instrument: m.instrument_id,
    run: m.market_run,
    market: m.instrument_id.split(".")[0],
    last: lmp,
    at: m.interval_start_utc,
    change: null,
    spark: [],
  };
  return [...out, card];
}


/** The research page's form. */
export interface ResearchForm {
  kind: "decompose" | "regimes" | "hmm" | string;
  /** `ENTITY/VARIABLE` of a fundamentals series, or "" for a price. */
  source: string;
  instrument: string;
  marketRun: string;
  start: string;
  end: string;
  resample: string;
  periods: string;
  transform: string;
  states: string;
}

const numbers = (s: string) =>
  s
    .split(",")
    .map((x) => Number(x.trim()))
    .filter((x) => Number.isInteger(x) && x > 0);

/** The API route and JSON body for the research form. */
export function researchBody(f: ResearchForm): { path: string; body: Record<string, unknown> } {
  const series: Record<string, string> = {};
  if (f.source) {
    const cut = f.source.lastIndexOf("/");
    series.entity = f.source.slice(0, cut);
    series.variable = f.source.slice(cut + 1);
  } else {
    series.instrument_id = f.instrument.trim();
    series.market_run = f.marketRun.trim() || "da";
  }
  if (f.start) series.start = f.start;
  if (f.end) series.end = f.end;
  if (f.resample) series.resample = f.resample;
  if (f.kind === "decompose") return { path: "/api/v1/research/decompose", body: { series, periods: numbers(f.periods) } };
  if (f.kind === "hmm") return { path: "/api/v1/research/regimes", body: { series, method: "gaussian_hmm", states: numbers(f.states) } };
  return {
    path: "/api/v1/research/regimes",
    body: { series, transform: f.transform, candidates: numbers(f.states).map((k) => ({ k, switching_variance: true })) },
  };
}
