// The hub talks to the API on its own origin; the session is the HttpOnly
// `carbon_session` cookie set at login (channel `hub`), never a token in JS.
// Every request carries the session's CSRF token (the `carbon_csrf` cookie,
// readable by this page only) in `X-CSRF-Token`; the server refuses a state
// change on the session without it.

import type { components } from "./api/schema";

/** The session's CSRF token, from its cookie ("" when signed out). */
export function csrfToken(): string {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === "carbon_csrf") return decodeURIComponent(v.join("="));
  }
  return "";
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = csrfToken();
  return t ? { ...extra, "x-csrf-token": t } : extra;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public param?: string,
  ) {
    super(message);
  }
}

/**
 * Where an API error belongs on a form: the field its problem+json `param`
 * names when the form has that field; else, when it names none, the field
 * its status is about (`byStatus`: a 403 at what is not entitled, a 409 at
 * the name that is taken); else the form as a whole (`field: null`). The
 * message is always the server's `detail`, never reworded.
 */
export function placeError<F extends string>(
  e: { status?: number; param?: string; message: string },
  fields: readonly F[],
  byStatus: Partial<Record<number, F>> = {},
): { field: F | null; message: string } {
  const named = fields.find((f) => f === e.param);
  const field = named ?? (!e.param && e.status !== undefined ? byStatus[e.status] ?? null : null);
  return { field, message: e.message };
}

async function problem(r: Response): Promise<ApiError> {
  try {
    const p = (await r.json()) as Partial<Problem>;
    return new ApiError(r.status, p.code ?? "error", p.detail ?? r.statusText, p.param ?? undefined);
  } catch {
    return new ApiError(r.status, "error", r.statusText || `HTTP ${r.status}`);
  }
}

export async function getJson<T = unknown>(url: string): Promise<T> {
  const r = await fetch(url, { credentials: "same-origin", headers: headers({ accept: "application/json" }) });
  if (!r.ok) throw await problem(r);
  return (await r.json()) as T;
}

export async function getText(url: string): Promise<string> {
  const r = await fetch(url, { credentials: "same-origin", headers: headers() });
  if (!r.ok) throw await problem(r);
  return r.text();
}

export async function send<T = unknown>(method: string, url: string, body?: unknown): Promise<T> {
  const r = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: headers(body === undefined ? {} : { "content-type": "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw await problem(r);
  const text = await r.text();
  return (text ? JSON.parse(text) : null) as T;
}

// The API's types, generated from the server's OpenAPI document
// (src/api/openapi.json → src/api/schema.d.ts: `npm run gen:api`; never
// declared by hand here, so the hub cannot drift from the server).
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type Market = Schemas["Market"];
export type Component = Schemas["Component"];
export type Block = Schemas["Block"];
export type Me = Schemas["Me"];
export type AuthConfig = Schemas["AuthConfig"];
export type OidcInfo = Schemas["OidcInfo"];
export type Session = Schemas["Session"];
export type MarketInfo = Schemas["MarketInfo"];
export type Instrument = Schemas["Instrument"];
export type InstrumentPage = Schemas["InstrumentPage"];
export type Price = Schemas["Price"];
export type PricePage = Schemas["PricePage"];
export type LatestPrices = Schemas["LatestPrices"];
export type CurveRunInfo = Schemas["CurveRunInfo"];
export type BuildSpec = Schemas["BuildSpec"];
export type Built = Schemas["Built"];
export type Forward = Schemas["Forward"];
export type ResearchRunInfo = Schemas["ResearchRunInfo"];
export type SeriesInfo = Schemas["SeriesInfo"];
export type IngestRun = Schemas["IngestRun"];
export type Key = Schemas["Key"];
export type NewKey = Schemas["NewKey"];
export type CreatedKey = Schemas["CreatedKey"];
export type Rotate = Schemas["Rotate"];
export type RotatedKey = Schemas["RotatedKey"];
export type Tenant = Schemas["Tenant"];
export type NewTenant = Schemas["NewTenant"];
export type User = Schemas["User"];
export type NewUser = Schemas["NewUser"];
export type UserPatch = Schemas["UserPatch"];
export type Grant = Schemas["Grant"];
export type GrantSpec = Schemas["GrantSpec"];
export type ScenarioSummary = Schemas["ScenarioSummary"];
export type ScenarioVersion = Schemas["ScenarioVersion"];
export type ScenarioRun = Schemas["ScenarioRun"];
export type ScenarioDocument = Schemas["Document"];
export type Validation = Schemas["Validation"];
export type NewRun = Schemas["NewRun"];
export type Change = Schemas["Change"];
/** A file export of a price query (`/api/v1/exports`): its status, totals and manifest. */
export type Export = Schemas["Export"];
export type ExportFormat = Schemas["ExportFormat"];
export type ExportEstimate = Schemas["ExportEstimate"];
export type NewExport = Schemas["NewExport"];
export type NewLink = Schemas["NewLink"];
/** A signed, expiring link to one file of an export (`POST /api/v1/exports/{id}/links`). */
export type SignedLink = Schemas["Link"];
export type Frequency = Schemas["Frequency"];
export type Aggregation = Schemas["Aggregation"];
/** A durable job (`/api/v1/jobs`). */
export type Job = Schemas["Job"];

/** The stored run a job made (its `result.research_run` or `result.curve_run`). */
export function jobRun(j: Job, key: "research_run" | "curve_run"): string | undefined {
  const run = j.result?.[key];
  return typeof run === "string" ? run : undefined;
}

const FINAL = ["succeeded", "failed", "cancelled"];

/** Waits for a job to end, reporting each state seen; the ended job. An
 * aborted `signal` stops the waiting (not the job) with an `AbortError`. */
export async function followJob(job: Job, onUpdate: (j: Job) => void, everyMs = 500, signal?: AbortSignal): Promise<Job> {
  let j = job;
  onUpdate(j);
  while (!FINAL.includes(j.status)) {
    await new Promise((r) => setTimeout(r, everyMs));
    signal?.throwIfAborted();
    j = await getJson<Job>(`/api/v1/jobs/${j.id}`);
    signal?.throwIfAborted();
    onUpdate(j);
  }
  return j;
}

/**
 * POSTs work that may continue as a job: a quick answer (200/201) is
 * returned as it is; a 202 carries the job, which is followed (`onJob`
 * sees it move) to its end — then the stored output is read with `read`.
 */
export async function sendMaybeJob<T>(
  url: string,
  body: unknown,
  onJob: (j: Job) => void,
  read: (job: Job) => Promise<T>,
): Promise<T> {
  const r = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: headers({ "content-type": "application/json" }),
    body: JSON.stringify(body),
  });
  if (!r.ok) throw await problem(r);
  const answer = await r.json();
  if (r.status !== 202) return answer as T;
  const ended = await followJob(answer as Job, onJob);
  if (ended.status !== "succeeded") {
    throw new Error(`job ${ended.id} ${ended.status}${ended.error ? `: ${ended.error}` : ""}`);
  }
  return read(ended);
}
