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
