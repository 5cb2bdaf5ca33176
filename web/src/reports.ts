// Data shaping for the Reports page (monthly market briefs), kept free of
// React and the DOM so Vitest can test it: the default month, month names,
// what a brief's stored spec says, its two files from the manifest, status
// labels, the server's errors mapped to the form's fields.
//
// A brief is an export of dataset `market_brief` (`/api/v1/reports`): its
// `spec` and `manifest` are free-form JSON in the API's schema; `briefSpec`
// and `briefFiles` read the fields carbon-service's reports writes. The
// history's order, liveness, parts and sizes are the Downloads page's
// helpers (exports.ts), reused as they are.

import { placeError, type Export, type Job, type Schemas } from "./api";
import { lastMonth, manifestParts, type ManifestPart } from "./exports";

export { absoluteUrl, formatBytes, isLive, upsertExport as upsertReport } from "./exports";

/** The body of `POST /api/v1/reports`. */
export type NewReport = Schemas["NewReport"];

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** The previous calendar month before `today` (its local clock), `YYYY-MM`:
 * what the form asks for at first. */
export const previousMonth = (today: Date): string => lastMonth(today).start.slice(0, 7);

/** The current calendar month of `today` (its local clock), `YYYY-MM`: the
 * latest month the picker offers (the server judges on the market's clock). */
export const currentMonth = (today: Date): string =>
  `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, "0")}`;

/** `2021-02` → `February 2021` (as the brief titles it); anything else as given. */
export function monthName(month: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(month.trim());
  const i = m ? Number(m[2]) - 1 : -1;
  return m && i >= 0 && i < 12 ? `${MONTHS[i]} ${m[1]}` : month;
}

/** The body of `POST /api/v1/reports` (the key left out when empty). */
export function reportBody(market: string, month: string, idempotencyKey = ""): NewReport {
  const body: NewReport = { market: market.trim(), month: month.trim() };
  if (idempotencyKey.trim()) body.idempotency_key = idempotencyKey.trim();
  return body;
}

/** What a brief's stored spec says: its market and month, the hubs it was
 * limited to (`null`: every hub of the market), whether it shows curves and
 * fundamentals. */
export interface BriefSpec {
  market: string;
  month: string;
  hubs: string[] | null;
  curves: boolean;
  fundamentals: boolean;
}

export function briefSpec(spec: unknown): BriefSpec {
  const s = (typeof spec === "object" && spec !== null ? spec : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  return {
    market: str(s.market),
    month: str(s.month),
    hubs: Array.isArray(s.hubs) ? s.hubs.filter((h): h is string => typeof h === "string") : null,
    curves: s.curves === true,
    fundamentals: s.fundamentals === true,
  };
}

/** A brief's two files (`brief-MISO-2021-02.html`, `….pdf`), from its
 * manifest: `undefined` for one it does not list (yet). */
export function briefFiles(manifest: unknown): { html?: ManifestPart; pdf?: ManifestPart } {
  const parts = manifestParts(manifest);
  const ending = (ext: string) => parts.find((p) => p.name.toLowerCase().endsWith(ext));
  return { html: ending(".html"), pdf: ending(".pdf") };
}

/** A brief's status, for people. */
export const STATUS_LABEL: Record<string, string> = {
  queued: "Queued",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  cancelled: "Cancelled",
  expired: "Expired",
};
export const statusLabel = (status: string) => STATUS_LABEL[status] ?? status;

/** How far the job writing a live brief is, for people: `40% · rendering
 * the PDF`; empty before the job is known. */
export function progressText(job: Pick<Job, "progress" | "message"> | undefined): string {
  if (!job) return "";
  const pct = Number.isFinite(job.progress) ? `${Math.round(Math.min(1, Math.max(0, job.progress)) * 100)}%` : "";
  return [pct, job.message.trim()].filter(Boolean).join(" · ");
}

/** The briefs of one market (all of them for `""`), in the order given. */
export const briefsOf = (briefs: Export[], market: string): Export[] =>
  market ? briefs.filter((b) => briefSpec(b.spec).market === market) : briefs;

/** The form's fields the server may name. */
export type ReportField = "market" | "month";

/**
 * Where an API error belongs on the form: the field its problem+json
 * `param` names (`market`, `month`), or — a 403, which is about the market's
 * entitlement — the market; else the form as a whole (`field: null`). The
 * message is always the server's `detail`, never a generic failure.
 */
export function fieldError(e: { status?: number; param?: string; message: string }): { field: ReportField | null; message: string } {
  return placeError<ReportField>(e, ["market", "month"], { 403: "market" });
}
