// The hub talks to the API on its own origin; the session is the HttpOnly
// `carbon_session` cookie set at login (channel `hub`), never a token in JS.
// Every request carries the session's CSRF token (the `carbon_csrf` cookie,
// readable by this page only) in `X-CSRF-Token`; the server refuses a state
// change on the session without it.

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

async function problem(r: Response): Promise<ApiError> {
  try {
    const p = await r.json();
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

export interface Me {
  subject: string;
  tenant: string;
  roles: string[];
  admin: boolean;
  channels: { rest: string; stream: string };
  entitlements?: unknown[];
}

export interface MarketInfo {
  code: string;
  name: string;
  zone: string;
}

export interface Instrument {
  id: string;
  market: string;
  kind: string;
  name?: string;
}

/** A durable job (`/api/v1/jobs`). */
export interface Job {
  id: string;
  kind: string;
  tenant: string;
  owner: string;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  progress: number;
  message: string;
  created: string;
  started: string | null;
  finished: string | null;
  result: { research_run?: string; curve_run?: string } | null;
  error: string | null;
  attempts: number;
}

const FINAL = ["succeeded", "failed", "cancelled"];

/** Waits for a job to end, reporting each state seen; the ended job. */
export async function followJob(job: Job, onUpdate: (j: Job) => void, everyMs = 500): Promise<Job> {
  let j = job;
  onUpdate(j);
  while (!FINAL.includes(j.status)) {
    await new Promise((r) => setTimeout(r, everyMs));
    j = await getJson<Job>(`/api/v1/jobs/${j.id}`);
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
