import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { ApiError, getJson, send, type Export, type Job, type MarketInfo, type NewLink, type Schemas, type SignedLink } from "../api";
import {
  absoluteUrl,
  briefFiles,
  briefsOf,
  briefSpec,
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
  type ReportField,
} from "../reports";
import { useFieldErrors } from "../fields";

const when = (t?: string | null) => (t ? t.slice(0, 19).replace("T", " ") : "");
const message = (e: unknown) => String((e as Error)?.message ?? e);
/** How long a link made here is good for: it is used at once. */
const LINK_TTL_SECONDS = 600;
/** How often an unfinished brief (and its job) is asked how it is doing. */
const POLL_MS = 500;

/** Reports: monthly market briefs (HTML to read, PDF to keep) of the
 * markets the caller may see, written by a job of the server and followed
 * live; each file handed over through a signed link made when asked. */
export function Reports() {
  const [markets, setMarkets] = useState<MarketInfo[] | null>(null);
  const [market, setMarket] = useState("");
  const [month, setMonth] = useState(() => previousMonth(new Date()));
  const [busy, setBusy] = useState(false);
  const fields = useFieldErrors<ReportField>("report");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<ReactNode>(null);
  const [filter, setFilter] = useState("");
  const [briefs, setBriefs] = useState<Export[] | null>(null);
  const [jobs, setJobs] = useState<Record<string, Job>>({});

  // The markets the caller may see: the only ones the form offers.
  useEffect(() => {
    getJson<Schemas["Data_MarketInfo"]>("/api/v1/markets").then(
      (r) => {
        setMarkets(r.data);
        setMarket((m) => m || r.data[0]?.code || "");
      },
      (e) => {
        setMarkets([]);
        setError(message(e));
      },
    );
  }, []);

  // The briefs (of one market when filtered), merged into those known.
  useEffect(() => {
    const q = new URLSearchParams({ limit: "50" });
    if (filter) q.set("market", filter);
    let stopped = false;
    getJson<Schemas["Data_Export"]>(`/api/v1/reports?${q}`).then(
      (r) => {
        if (!stopped) setBriefs((b) => r.data.reduce(upsertReport, b ?? []));
      },
      (e) => {
        if (stopped) return;
        setBriefs((b) => b ?? []);
        setError(message(e));
      },
    );
    return () => {
      stopped = true;
    };
  }, [filter]);

  // Every unfinished brief, and the job writing it, is asked how it is doing
  // every POLL_MS until it ends; the loop restarts whenever the set of
  // unfinished briefs changes.
  const live = (briefs ?? [])
    .filter(isLive)
    .map((b) => `${b.id}:${b.job_id ?? ""}`)
    .join(" ");
  useEffect(() => {
    if (!live) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      const got = await Promise.all(
        live.split(" ").map(async (pair) => {
          const [id, job] = pair.split(":");
          const [brief, j] = await Promise.all([
            getJson<Export>(`/api/v1/reports/${encodeURIComponent(id)}`).catch((e) => {
              if (!stopped) setError(message(e));
              return null;
            }),
            // The job only adds how far it is: the brief's own status rules.
            job ? getJson<Job>(`/api/v1/jobs/${encodeURIComponent(job)}`).catch(() => null) : null,
          ]);
          return { brief, job: j };
        }),
      );
      if (stopped) return;
      setJobs((js) => got.reduce((acc, g) => (g.job ? { ...acc, [g.job.id]: g.job } : acc), js));
      setBriefs((b) => got.reduce((acc, g) => (g.brief ? upsertReport(acc, g.brief) : acc), b ?? []));
      timer = setTimeout(poll, POLL_MS);
    };
    timer = setTimeout(poll, POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [live]);

  const clear = () => {
    setError(null);
    fields.clear();
    setNotice(null);
  };
  /** An API error of the form next to the field it names, else above the
   * list (where a row's actions report theirs). */
  const fail = (e: unknown) => {
    if (e instanceof ApiError) {
      const { field, message: text } = fieldError({ status: e.status, param: e.param, message: e.message });
      if (field) {
        fields.show(field, text);
        return;
      }
    }
    setError(message(e));
  };

  const generate = async (ev: FormEvent) => {
    ev.preventDefault();
    clear();
    setBusy(true);
    try {
      const made = await send<Export>("POST", "/api/v1/reports", reportBody(market, month));
      const known = (briefs ?? []).some((b) => b.id === made.id);
      setBriefs((b) => upsertReport(b ?? [], made));
      const spec = briefSpec(made.spec);
      // A filter on another market would hide it.
      if (filter && filter !== spec.market) setFilter("");
      setNotice(
        known
          ? `The brief of ${spec.market} ${monthName(spec.month)} was already asked for.`
          : `The brief of ${spec.market} ${monthName(spec.month)} is queued.`,
      );
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
    }
  };

  const cancel = async (b: Export) => {
    clear();
    try {
      const e = await send<Export>("DELETE", `/api/v1/reports/${encodeURIComponent(b.id)}`);
      setBriefs((h) => upsertReport(h ?? [], e));
    } catch (e) {
      setError(message(e));
    }
  };

  /** A fresh signed link to one file of a brief, absolute. */
  const mint = async (b: Export, file: string) => {
    const ask: NewLink = { file, ttl_seconds: LINK_TTL_SECONDS };
    const link = await send<SignedLink>("POST", `/api/v1/reports/${encodeURIComponent(b.id)}/links`, ask);
    return absoluteUrl(window.location.origin, link.url);
  };

  const openHtml = async (b: Export, file: string) => {
    clear();
    try {
      const url = await mint(b, file);
      window.open(url, "_blank", "noopener");
      setNotice(
        <>
          Opened <code>{file}</code> in a new tab (blocked?{" "}
          <a href={url} target="_blank" rel="noopener">open it here</a>).
        </>,
      );
    } catch (e) {
      setError(message(e));
    }
  };

  const downloadPdf = async (b: Export, file: string) => {
    clear();
    try {
      const url = await mint(b, file);
      const a = document.createElement("a");
      a.href = url;
      a.download = file;
      a.rel = "noopener";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setNotice(
        <>
          Downloading <code>{file}</code>.
        </>,
      );
    } catch (e) {
      setError(message(e));
    }
  };

  const shown = briefsOf(briefs ?? [], filter);

  const actions = (b: Export) => {
    if (isLive(b)) {
      return (
        <button type="button" className="secondary" onClick={() => cancel(b)} aria-label={`Cancel ${b.id}`}>
          Cancel
        </button>
      );
    }
    if (b.status !== "succeeded") return null;
    const { html, pdf } = briefFiles(b.manifest);
    return (
      <span className="actions">
        <button type="button" disabled={!html} onClick={() => html && openHtml(b, html.name)} aria-label={`Open HTML of ${b.id}`}>
          Open HTML
        </button>
        <button type="button" className="secondary" disabled={!pdf} onClick={() => pdf && downloadPdf(b, pdf.name)} aria-label={`Download PDF of ${b.id}`}>
          Download PDF
        </button>
      </span>
    );
  };

  return (
    <section aria-label="Reports" className="reports">
      <h1>Reports</h1>
      <p>
        A monthly market brief: the month's hub prices (on-peak, off-peak, minimum, maximum, volatility), the daily
        chart, the forward curve against a month ago and the fundamentals — of what your tenant may see — written by a
        job of the server as an HTML page to read and a PDF to keep.
      </p>
      <form className="selectors" aria-label="Generate a brief" onSubmit={generate} noValidate>
        <h2>Generate a brief</h2>
        <div className="fields">
          <div className="field">
            <label htmlFor="report-market">Market</label>
            <select
              id="report-market"
              name="market"
              value={market}
              onChange={(e) => {
                setMarket(e.target.value);
                fields.clearField("market");
              }}
              disabled={!markets?.length}
              {...fields.aria("market")}
            >
              {(markets ?? []).map((m) => (
                <option key={m.code} value={m.code}>
                  {m.code}
                </option>
              ))}
            </select>
            {fields.message("market")}
          </div>
          <div className="field">
            <label htmlFor="report-month">Month</label>
            <input
              id="report-month"
              type="month"
              name="month"
              value={month}
              max={currentMonth(new Date())}
              onChange={(e) => {
                setMonth(e.target.value);
                fields.clearField("month");
              }}
              {...fields.aria("month")}
              required
            />
            {fields.message("month")}
          </div>
          <div className="buttons">
            <button type="submit" disabled={busy || !market}>
              {busy ? "Generating…" : "Generate"}
            </button>
          </div>
        </div>
        {markets?.length === 0 && !error && <p className="empty">Your tenant may see no market, so no brief can be made.</p>}
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <p role="status" className="notice">
        {notice}
      </p>

      <div className="toolbar">
        <h2>Briefs</h2>
        <label htmlFor="report-filter">Filter by market</label>
        <select id="report-filter" name="filter" value={filter} onChange={(e) => setFilter(e.target.value)}>
          <option value="">All markets</option>
          {(markets ?? []).map((m) => (
            <option key={m.code} value={m.code}>
              {m.code}
            </option>
          ))}
        </select>
      </div>
      {briefs === null ? (
        <p className="loading">Loading…</p>
      ) : shown.length === 0 ? (
        <p className="empty" data-testid="reports-empty">
          {filter ? `No briefs of ${filter} yet.` : "No briefs yet: generate one above."}
        </p>
      ) : (
        <table data-testid="reports-table" className="numbers">
          <caption>Newest first. Files are kept until the time under Expires.</caption>
          <thead>
            <tr>
              <th scope="col">Market</th>
              <th scope="col">Month</th>
              <th scope="col">Status</th>
              <th scope="col">Created (UTC)</th>
              <th scope="col">Size</th>
              <th scope="col">Expires (UTC)</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((b) => {
              const spec = briefSpec(b.spec);
              const job = b.job_id ? jobs[b.job_id] : undefined;
              const running = isLive(b);
              const progress = running ? progressText(job) : "";
              return (
                <tr
                  key={b.id}
                  data-testid={`report-${b.id}`}
                  data-status={b.status}
                  className={["failed", "cancelled", "expired"].includes(b.status) ? "dropped" : ""}
                >
                  <td>
                    {spec.market}
                    {spec.hubs && (
                      <span className="scope" title={spec.hubs.join(", ")}>
                        {" "}
                        · {spec.hubs.length} {spec.hubs.length === 1 ? "hub" : "hubs"}
                      </span>
                    )}
                  </td>
                  <td>{monthName(spec.month)}</td>
                  <td data-testid={`report-status-${b.id}`}>
                    {running && (
                      <progress
                        max={1}
                        value={job ? job.progress : undefined}
                        aria-label={`Progress of ${spec.market} ${monthName(spec.month)}`}
                      />
                    )}{" "}
                    {statusLabel(b.status)}
                    {progress && <span className="progress-text"> · {progress}</span>}
                    {b.error && <div className="error">{b.error}</div>}
                  </td>
                  <td>{when(b.created)}</td>
                  <td>{b.status === "succeeded" ? formatBytes(b.bytes) : ""}</td>
                  <td>{when(b.expires)}</td>
                  <td>{actions(b)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
