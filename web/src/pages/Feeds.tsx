import { Fragment, useCallback, useEffect, useRef, useState, type FormEvent, type ReactElement } from "react";
import { ApiError, getJson, send, type Export, type ExportFormat, type Job, type MarketInfo, type NewLink, type Schemas, type SignedLink } from "../api";
import { FORMAT_LABEL, FORMATS, absoluteUrl, formatCount, isLive, upsertExport } from "../exports";
import {
  destinationWords,
  emptyFeedForm,
  feedBody,
  feedFieldError,
  feedHealth,
  isBriefRun,
  nextDueWords,
  runFiles,
  runLinksPath,
  runPath,
  runTarget,
  scheduleWords,
  upsertFeed,
  whatWords,
  type Feed,
  type FeedField,
  type FeedForm,
  type FeedKind,
  type FeedPatch,
} from "../feeds";
import { useFieldErrors } from "../fields";
import { progressText, statusLabel } from "../reports";

const when = (t?: string | null) => (t ? t.slice(0, 19).replace("T", " ") : "");
/** A feed's times to the minute (a slot is a minute of the market clock). */
const minute = (t?: string | null) => when(t).slice(0, 16);
const message = (e: unknown) => String((e as Error)?.message ?? e);
/** How long a link made here is good for: it is used at once. */
const LINK_TTL_SECONDS = 600;
/** How often an unfinished run (and its job) is asked how it is doing. */
const POLL_MS = 500;
/** How often the feeds are read again: soon while one is due (the server's
 * scheduler fires it at its next tick), else now and then. */
const DUE_REFRESH_MS = 3_000;
const REFRESH_MS = 30_000;

/**
 * Feeds, on the Downloads page: the tenant's standing orders for a file —
 * prices every (week)day at a time on the market clock into the download
 * center or a destination, or the monthly market brief — made, paused,
 * resumed, deleted and fired by hand here, each with its runs (exports,
 * followed live; a download-center run's files behind signed links).
 * `instruments`: the export form's, offered to a new feed; `onRun`: a price
 * run fired here (an export, for the page's history).
 */
export function Feeds({ instruments, onRun }: { instruments: string; onRun?: (e: Export) => void }) {
  const [feeds, setFeeds] = useState<Feed[] | null>(null);
  const [unavailable, setUnavailable] = useState<string | null>(null);
  const [destinations, setDestinations] = useState<string[]>([]);
  const [markets, setMarkets] = useState<MarketInfo[]>([]);
  const [formOpen, setFormOpen] = useState(false);
  const [form, setForm] = useState<FeedForm>(() => emptyFeedForm());
  const [busy, setBusy] = useState(false);
  const fields = useFieldErrors<FeedField>("feed", "feed-");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const [runs, setRuns] = useState<Record<string, Export[]>>({});
  const [jobs, setJobs] = useState<Record<string, Job>>({});
  const [confirming, setConfirming] = useState<string | null>(null);
  const [acting, setActing] = useState<string | null>(null);
  const openRef = useRef(open);
  openRef.current = open;

  /** A feed's runs, merged into those known. */
  const loadRuns = useCallback(async (id: string) => {
    try {
      const r = await getJson<Schemas["Data_Export"]>(`/api/v1/feeds/${encodeURIComponent(id)}/runs`);
      setRuns((all) => ({ ...all, [id]: r.data.reduce(upsertExport, all[id] ?? []) }));
    } catch (e) {
      setRuns((all) => ({ ...all, [id]: all[id] ?? [] }));
      setError(message(e));
    }
  }, []);

  /** The feeds read again (and the runs of those whose runs are shown). */
  const refresh = useCallback(async () => {
    try {
      const r = await getJson<Schemas["Data_Feed"]>("/api/v1/feeds");
      setFeeds(r.data);
      for (const id of Object.keys(openRef.current)) if (openRef.current[id]) loadRuns(id);
    } catch {
      // Kept as they are: the next refresh asks again.
    }
  }, [loadRuns]);

  useEffect(() => {
    getJson<Schemas["Data_Feed"]>("/api/v1/feeds").then(
      (r) => setFeeds(r.data),
      (e) => {
        setFeeds([]);
        // A tenant without downloads, a server that keeps no feeds: said, not alarmed.
        if (e instanceof ApiError && (e.status === 403 || e.status === 404)) setUnavailable(e.message);
        else setError(message(e));
      },
    );
    getJson<Schemas["Destinations"]>("/api/v1/feeds/destinations").then(
      (r) => setDestinations(r.data),
      () => setDestinations([]),
    );
    getJson<Schemas["Data_MarketInfo"]>("/api/v1/markets").then(
      (r) => {
        setMarkets(r.data);
        setForm((f) => (f.market ? f : { ...f, market: r.data[0]?.code ?? "" }));
      },
      () => setMarkets([]),
    );
  }, []);

  // A feed due now (made with "Run now too", or a slot passed) is fired by
  // the server's scheduler at its next tick: read the feeds again soon.
  useEffect(() => {
    if (feeds === null || unavailable) return;
    const due = feeds.some((f) => f.enabled && Date.parse(f.next_due) <= Date.now());
    const timer = setTimeout(refresh, due ? DUE_REFRESH_MS : REFRESH_MS);
    return () => clearTimeout(timer);
  }, [feeds, unavailable, refresh]);

  // A run seen unfinished and now ended (by the polling below, or the runs
  // read again): its feed is read again, for its last success or failures.
  // The server records the outcome on the feed just after the run's status,
  // so a second read follows a moment later.
  const wasLive = useRef(new Set<string>());
  useEffect(() => {
    const now = new Set<string>();
    const ended = new Set<string>();
    for (const [feed, rs] of Object.entries(runs)) {
      for (const r of rs) {
        if (isLive(r)) now.add(`${feed}|${r.id}`);
        else if (wasLive.current.has(`${feed}|${r.id}`)) ended.add(feed);
      }
    }
    wasLive.current = now;
    // Not cancelled when the runs change again: each read is wanted.
    for (const feed of ended) {
      for (const ms of [300, 1500]) {
        setTimeout(() => {
          getJson<Feed>(`/api/v1/feeds/${encodeURIComponent(feed)}`).then(
            (f) => setFeeds((fs) => (fs && fs.some((x) => x.id === f.id) ? upsertFeed(fs, f) : fs)),
            () => undefined,
          );
        }, ms);
      }
    }
  }, [runs]);

  // Every unfinished run, and the job writing it, is asked how it is doing
  // every POLL_MS until it ends (then its feed is read again: last success,
  // failures); the loop restarts whenever the set of unfinished runs changes.
  const live = Object.entries(runs)
    .flatMap(([feed, rs]) => rs.filter(isLive).map((r) => `${feed}|${runPath(r)}|${r.job_id ?? ""}`))
    .join(" ");
  useEffect(() => {
    if (!live) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      const got = await Promise.all(
        live.split(" ").map(async (key) => {
          const [feed, path, job] = key.split("|");
          const [run, j] = await Promise.all([
            getJson<Export>(path).catch(() => null),
            // The job only adds how far it is: the run's own status rules.
            job ? getJson<Job>(`/api/v1/jobs/${encodeURIComponent(job)}`).catch(() => null) : null,
          ]);
          return { feed, run, job: j };
        }),
      );
      if (stopped) return;
      setJobs((js) => got.reduce((acc, g) => (g.job ? { ...acc, [g.job.id]: g.job } : acc), js));
      setRuns((all) => got.reduce((acc, g) => (g.run ? { ...acc, [g.feed]: upsertExport(acc[g.feed] ?? [], g.run) } : acc), all));
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

  const set = <K extends keyof FeedForm>(k: K, v: FeedForm[K], field?: FeedField) => {
    setForm((f) => ({ ...f, [k]: v }));
    if (field) fields.clearField(field);
  };

  const openForm = () => {
    clear();
    setForm((f) => (f.instruments.trim() || !instruments.trim() ? f : { ...f, instruments }));
    setFormOpen((o) => !o);
  };

  const setKind = (kind: FeedKind) => {
    fields.clear();
    setForm((f) => ({ ...f, kind }));
  };

  const create = async (ev: FormEvent) => {
    ev.preventDefault();
    clear();
    setBusy(true);
    try {
      const made = await send<Feed>("POST", "/api/v1/feeds", feedBody(form));
      setFeeds((fs) => upsertFeed(fs ?? [], made));
      setNotice(
        `Feed “${made.name}” made: ${scheduleWords(made.spec)}` +
          (form.runNow ? "; its first run starts at the server's next tick." : "."),
      );
      setForm((f) => ({ ...emptyFeedForm(f.instruments, f.market), kind: f.kind }));
      setFormOpen(false);
    } catch (e) {
      const { field, message: text } =
        e instanceof ApiError ? feedFieldError({ status: e.status, param: e.param, message: e.message }, form.kind) : { field: null, message: message(e) };
      if (field) fields.show(field, text);
      else setError(text);
    } finally {
      setBusy(false);
    }
  };

  /** An action on one feed: its errors above the list, in the server's words. */
  const act = async (f: Feed, what: () => Promise<void>) => {
    clear();
    setActing(f.id);
    try {
      await what();
    } catch (e) {
      setError(`${f.name}: ${message(e)}`);
    } finally {
      setActing(null);
    }
  };

  const runNow = (f: Feed) =>
    act(f, async () => {
      const run = await send<Export>("POST", `/api/v1/feeds/${encodeURIComponent(f.id)}/run`);
      const known = (runs[f.id] ?? []).some((r) => r.id === run.id) || !isLive(run);
      setRuns((all) => ({ ...all, [f.id]: upsertExport(all[f.id] ?? [], run) }));
      if (!isBriefRun(run)) onRun?.(run);
      setNotice(
        known
          ? `“${f.name}” ran for today's market day already: run ${run.id} (${statusLabel(run.status).toLowerCase()}).`
          : `“${f.name}” is running for today's market day: run ${run.id}.`,
      );
    });

  const setEnabled = (f: Feed, enabled: boolean) =>
    act(f, async () => {
      const patch: FeedPatch = { enabled };
      const got = await send<Feed>("PATCH", `/api/v1/feeds/${encodeURIComponent(f.id)}`, patch);
      setFeeds((fs) => upsertFeed(fs ?? [], got));
      setNotice(enabled ? `“${f.name}” resumed: next run ${minute(got.next_due)} UTC.` : `“${f.name}” paused.`);
    });

  const remove = (f: Feed) =>
    act(f, async () => {
      await send("DELETE", `/api/v1/feeds/${encodeURIComponent(f.id)}`);
      setConfirming(null);
      setFeeds((fs) => (fs ?? []).filter((x) => x.id !== f.id));
      setOpen((o) => ({ ...o, [f.id]: false }));
      setNotice(`“${f.name}” deleted (its past runs stay in the history).`);
    });

  const toggleRuns = (f: Feed) => {
    const show = !open[f.id];
    setOpen((o) => ({ ...o, [f.id]: show }));
    if (show) loadRuns(f.id);
  };

  /** A file of a download-center run: a fresh signed link, downloaded. */
  const download = (f: Feed, run: Export, file: string) =>
    act(f, async () => {
      const ask: NewLink = { file, ttl_seconds: LINK_TTL_SECONDS };
      const link = await send<SignedLink>("POST", runLinksPath(run), ask);
      const a = document.createElement("a");
      a.href = absoluteUrl(window.location.origin, link.url);
      a.download = file;
      a.rel = "noopener";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setNotice(`Downloading ${file} of ${run.id}.`);
    });

  const field = (f: FeedField, label: string, control: ReactElement, hint?: string) => (
    <div className="field">
      <label htmlFor={`feed-${f}`}>{label}</label>
      {control}
      {hint && (
        <span id={`feed-${f}-hint`} className="hint">
          {hint}
        </span>
      )}
      {fields.message(f)}
    </div>
  );
  const hinted = (f: FeedField, hint: boolean) => fields.aria(f, hint ? `feed-${f}-hint` : undefined);

  const newFeed = (
    <form id="new-feed" className="selectors" aria-label="New feed" onSubmit={create} noValidate>
      <h3>New feed</h3>
      <fieldset className="kind">
        <legend>Kind</legend>
        <label className="check">
          <input type="radio" name="kind" value="prices" checked={form.kind === "prices"} onChange={() => setKind("prices")} /> Prices
        </label>
        <label className="check">
          <input type="radio" name="kind" value="brief" checked={form.kind === "brief"} onChange={() => setKind("brief")} /> Monthly brief
        </label>
      </fieldset>
      <div className="fields">
        {field(
          "name",
          "Name",
          <input id="feed-name" name="name" value={form.name} onChange={(e) => set("name", e.target.value, "name")} placeholder="daily hubs" {...fields.aria("name")} required />,
        )}
        {form.kind === "prices" ? (
          <>
            {field(
              "instruments",
              "Instruments",
              <input
                id="feed-instruments"
                name="instruments"
                className="wide"
                value={form.instruments}
                onChange={(e) => set("instruments", e.target.value, "instruments")}
                placeholder="MISO.INDIANA.HUB, MISO.MICHIGAN.HUB"
                {...hinted("instruments", true)}
                required
              />,
              "of one market, comma-separated",
            )}
            {field(
              "market_runs",
              "Market runs",
              <input id="feed-market_runs" name="market_runs" value={form.marketRuns} onChange={(e) => set("marketRuns", e.target.value, "market_runs")} placeholder="da, rt" {...fields.aria("market_runs")} />,
            )}
          </>
        ) : (
          field(
            "market",
            "Market",
            <select id="feed-market" name="market" value={form.market} onChange={(e) => set("market", e.target.value, "market")} disabled={!markets.length} {...fields.aria("market")}>
              {markets.map((m) => (
                <option key={m.code} value={m.code}>
                  {m.code}
                </option>
              ))}
            </select>,
          )
        )}
      </div>
      <div className="fields">
        {form.kind === "prices" ? (
          <>
            {field(
              "days",
              "Days",
              <select id="feed-days" name="days" value={form.days} onChange={(e) => set("days", e.target.value as FeedForm["days"], "days")} {...fields.aria("days")}>
                <option value="every">every day</option>
                <option value="weekdays">weekdays</option>
              </select>,
            )}
            {field(
              "days_back",
              "Days back",
              <input id="feed-days_back" type="number" name="days_back" min={1} max={31} value={form.daysBack} onChange={(e) => set("daysBack", e.target.value, "days_back")} {...hinted("days_back", true)} />,
              "1 = yesterday",
            )}
          </>
        ) : (
          field(
            "day_of_month",
            "Day of month",
            <input id="feed-day_of_month" type="number" name="day_of_month" min={1} max={28} value={form.dayOfMonth} onChange={(e) => set("dayOfMonth", e.target.value, "day_of_month")} {...hinted("day_of_month", true)} />,
            "1–28; delivers the month before",
          )
        )}
        {field(
          "at",
          "Time of day",
          <input id="feed-at" type="time" name="at" value={form.at} onChange={(e) => set("at", e.target.value, "at")} {...hinted("at", true)} required />,
          "on the market's clock",
        )}
        {form.kind === "prices" && (
          <>
            {field(
              "format",
              "File format",
              <select id="feed-format" name="format" value={form.format} onChange={(e) => set("format", e.target.value as ExportFormat, "format")} {...fields.aria("format")}>
                {FORMATS.map((f) => (
                  <option key={f} value={f}>
                    {FORMAT_LABEL[f]}
                  </option>
                ))}
              </select>,
            )}
            <div className="field check-field">
              <label className="check" title={form.format === "xlsx" ? "An XLSX workbook is compressed already" : undefined}>
                <input
                  type="checkbox"
                  name="gzip"
                  checked={form.gzip && form.format !== "xlsx"}
                  disabled={form.format === "xlsx"}
                  onChange={(e) => set("gzip", e.target.checked, "gzip")}
                  {...fields.aria("gzip")}
                />{" "}
                Gzip the file
              </label>
              {fields.message("gzip")}
            </div>
          </>
        )}
      </div>
      {form.kind === "prices" && (
        <div className="fields">
          {field(
            "destination",
            "Destination",
            <select id="feed-destination" name="destination" value={form.destination} onChange={(e) => set("destination", e.target.value, "destination")} {...fields.aria("destination")}>
              <option value="">Download center</option>
              {destinations.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>,
          )}
          {field(
            "prefix",
            "Prefix",
            <input id="feed-prefix" name="prefix" value={form.prefix} onChange={(e) => set("prefix", e.target.value, "prefix")} placeholder="miso/da" {...hinted("prefix", true)} />,
            "folder for each run's day; empty: the feed's name",
          )}
        </div>
      )}
      <div className="fields submit">
        <label className="check">
          <input type="checkbox" name="run_now" checked={form.runNow} onChange={(e) => set("runNow", e.target.checked)} /> Run now too
        </label>
        <div className="buttons">
          <button type="submit" disabled={busy}>
            {busy ? "Creating…" : "Create feed"}
          </button>
          <button type="button" className="secondary" onClick={() => setFormOpen(false)}>
            Close
          </button>
        </div>
      </div>
    </form>
  );

  const runsOf = (f: Feed) => {
    const rs = runs[f.id];
    if (!rs) return <p className="loading">Loading runs…</p>;
    if (rs.length === 0) return <p className="empty">{f.enabled ? `No runs yet: the first is due ${minute(f.next_due)} UTC.` : "No runs yet."}</p>;
    return (
      <table className="parts numbers" data-testid={`feed-runs-${f.id}`}>
        <caption>
          Runs of {f.name}, newest first. A download-center run's files are fetched through a link made when asked.
        </caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Folder</th>
            <th scope="col">Status</th>
            <th scope="col">Rows</th>
            <th scope="col">Created (UTC)</th>
            <th scope="col">Files</th>
          </tr>
        </thead>
        <tbody>
          {rs.map((run) => {
            const target = runTarget(run);
            const running = isLive(run);
            const job = run.job_id ? jobs[run.job_id] : undefined;
            const progress = running ? progressText(job) : "";
            const files = runFiles(run);
            return (
              <tr key={run.id} data-testid={`feed-run-${run.id}`} data-status={run.status}>
                <td>
                  <code>{run.id}</code>
                </td>
                <td data-testid={`run-folder-${run.id}`}>
                  {target.destination ? `${target.destination}: ` : ""}
                  <code>{target.folder}</code>
                </td>
                <td data-testid={`run-status-${run.id}`}>
                  {running && <progress max={1} value={job ? job.progress : undefined} aria-label={`Progress of ${run.id}`} />} {statusLabel(run.status)}
                  {progress && <span className="progress-text"> · {progress}</span>}
                  {run.error && <div className="error">{run.error}</div>}
                </td>
                <td>{run.status === "succeeded" && !isBriefRun(run) ? formatCount(run.rows) : ""}</td>
                <td>{when(run.created)}</td>
                <td>
                  {target.destination ? (
                    <span className="hint">in {target.destination} (your bucket: no link)</span>
                  ) : (
                    <span className="actions">
                      {files.map((file) => (
                        <button key={file} type="button" className="secondary" onClick={() => download(f, run, file)} aria-label={`Download ${file} of ${run.id}`}>
                          {file}
                        </button>
                      ))}
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    );
  };

  const actions = (f: Feed) => {
    const busyHere = acting === f.id;
    if (confirming === f.id) {
      return (
        <span className="actions" role="group" aria-label={`Delete ${f.name}?`}>
          <span>Delete?</span>
          <button type="button" onClick={() => remove(f)} disabled={busyHere} aria-label={`Yes, delete ${f.name}`}>
            Yes, delete
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(null)} aria-label={`Keep ${f.name}`} autoFocus>
            Keep
          </button>
        </span>
      );
    }
    return (
      <span className="actions">
        <button type="button" onClick={() => runNow(f)} disabled={busyHere} aria-label={`Run ${f.name} now`}>
          Run now
        </button>
        <button type="button" className="secondary" onClick={() => setEnabled(f, !f.enabled)} disabled={busyHere} aria-label={`${f.enabled ? "Pause" : "Resume"} ${f.name}`}>
          {f.enabled ? "Pause" : "Resume"}
        </button>
        <button
          type="button"
          className="secondary"
          aria-expanded={!!open[f.id]}
          aria-controls={`runs-of-${f.id}`}
          onClick={() => toggleRuns(f)}
          aria-label={`Runs of ${f.name}`}
        >
          {open[f.id] ? "Hide runs" : "Runs"}
        </button>
        <button type="button" className="secondary" onClick={() => setConfirming(f.id)} disabled={busyHere} aria-label={`Delete ${f.name}`}>
          Delete
        </button>
      </span>
    );
  };

  return (
    <section className="feeds" aria-labelledby="feeds-heading">
      <div className="toolbar">
        <h2 id="feeds-heading">Feeds</h2>
        {!unavailable && (
          <button type="button" className="secondary" aria-expanded={formOpen} aria-controls="new-feed" onClick={openForm}>
            New feed
          </button>
        )}
      </div>
      <p>
        A standing order for a file: yesterday's prices every day (or weekday) at a time on the market's clock, into the
        download center or a destination of your tenant, or each month's market brief. Each run is an export, kept with
        the feed.
      </p>
      {formOpen && newFeed}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <p role="status" className="notice">
        {notice}
      </p>
      {feeds === null ? (
        <p className="loading">Loading…</p>
      ) : unavailable ? (
        <p className="empty" data-testid="feeds-unavailable">
          {unavailable}
        </p>
      ) : feeds.length === 0 ? (
        <p className="empty" data-testid="feeds-empty">
          No feeds yet: make one with New feed.
        </p>
      ) : (
        <table data-testid="feeds-table" className="numbers">
          <caption>By name. Schedules are on the market's clock; the times in the columns are UTC.</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">What</th>
              <th scope="col">Schedule</th>
              <th scope="col">Destination</th>
              <th scope="col">Next due (UTC)</th>
              <th scope="col">Last success (UTC)</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {feeds.map((f) => {
              const health = feedHealth(f);
              return (
                <Fragment key={f.id}>
                  <tr data-testid={`feed-${f.id}`} data-name={f.name} data-state={health.state} data-failing={health.failing}>
                    <th scope="row">{f.name}</th>
                    <td className="query">{whatWords(f.spec)}</td>
                    <td className="wrap" data-testid={`feed-schedule-${f.id}`}>
                      {scheduleWords(f.spec)}
                    </td>
                    <td className="wrap">{destinationWords(f.spec, f.name)}</td>
                    <td>{nextDueWords(f, minute)}</td>
                    <td>{f.last_success ? minute(f.last_success) : "never"}</td>
                    <td data-testid={`feed-state-${f.id}`}>
                      <span className={`badge ${health.state}`}>{health.label}</span>
                      {health.failing && (
                        <>
                          {" "}
                          <span className="badge failing" data-testid={`feed-failing-${f.id}`}>
                            {health.badge}
                          </span>
                          {health.why && <div className="error">{health.why}</div>}
                        </>
                      )}
                    </td>
                    <td>{actions(f)}</td>
                  </tr>
                  {open[f.id] && (
                    <tr className="parts-row" id={`runs-of-${f.id}`}>
                      <td colSpan={8}>{runsOf(f)}</td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
