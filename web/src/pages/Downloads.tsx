import { Fragment, useEffect, useMemo, useState } from "react";
import {
  ApiError,
  getJson,
  send,
  type Export,
  type ExportEstimate,
  type ExportFormat,
  type NewLink,
  type Schemas,
  type SignedLink,
} from "../api";
import {
  AGGREGATIONS,
  BLOCKS,
  FORMAT_LABEL,
  FORMATS,
  FREQUENCIES,
  absoluteUrl,
  emptyForm,
  exportBody,
  fieldOf,
  formatBytes,
  formatCount,
  isLive,
  lastMonth,
  manifestParts,
  parseExportQuery,
  shortSha,
  specSummary,
  upsertExport,
  type ExportForm,
} from "../exports";
import { Feeds } from "./Feeds";

const when = (t?: string | null) => (t ? t.slice(0, 19).replace("T", " ") : "");
const message = (e: unknown) => String((e as Error)?.message ?? e);
/** How long a link made here is good for (the API allows up to 7 days). */
const LINK_TTL_SECONDS = 3600;
/** How often an unfinished export is asked for its status. */
const POLL_MS = 500;

/** The form at first: a query handed over in the URL (`?query=`, e.g. from
 * the explorer's "Export…"), else last month with no instruments. */
function initialForm(): ExportForm {
  const base = emptyForm(lastMonth(new Date()));
  const given = new URLSearchParams(window.location.search).get("query");
  return given ? parseExportQuery(given, base) : base;
}

/** Downloads: a price query exported as files (one per month) by a job of
 * the server — estimated first, followed live, cancellable — and the
 * tenant's exports with their parts, each behind a signed link that needs no
 * credential (to hand to a program or another person). */
export function Downloads() {
  const [form, setForm] = useState<ExportForm>(initialForm);
  const [format, setFormat] = useState<ExportFormat>("csv");
  const [gzip, setGzip] = useState(false);
  const [key, setKey] = useState("");
  const [estimate, setEstimate] = useState<{ for: string; value: ExportEstimate } | null>(null);
  const [busy, setBusy] = useState<"estimate" | "export" | null>(null);
  const [history, setHistory] = useState<Export[] | null>(null);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const [links, setLinks] = useState<Record<string, SignedLink>>({});
  const [error, setError] = useState<string | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const body = useMemo(() => exportBody(form, format, gzip), [form, format, gzip]);
  const bodyKey = JSON.stringify(body);
  const shownEstimate = estimate?.for === bodyKey ? estimate.value : null;

  useEffect(() => {
    getJson<Schemas["Data_Export"]>("/api/v1/exports?limit=50").then(
      (r) => setHistory((h) => r.data.reduce(upsertExport, h ?? [])),
      (e) => {
        setHistory((h) => h ?? []);
        setError(message(e));
      },
    );
  }, []);

  // Every unfinished export is asked for its status every POLL_MS until it
  // ends; the loop restarts whenever the set of unfinished exports changes.
  const live = (history ?? []).filter(isLive).map((e) => e.id).join(" ");
  useEffect(() => {
    if (!live) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      const got = await Promise.all(
        live.split(" ").map((id) =>
          getJson<Export>(`/api/v1/exports/${encodeURIComponent(id)}`).catch((e) => {
            if (!stopped) setError(message(e));
            return null;
          }),
        ),
      );
      if (stopped) return;
      setHistory((h) => got.reduce((acc, e) => (e ? upsertExport(acc, e) : acc), h ?? []));
      timer = setTimeout(poll, POLL_MS);
    };
    timer = setTimeout(poll, POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [live]);

  const fail = (e: unknown) => {
    setError(message(e));
    setInvalid(e instanceof ApiError ? fieldOf(e.param) : null);
  };
  const clear = () => {
    setError(null);
    setInvalid(null);
    setNotice(null);
  };

  const runEstimate = async () => {
    clear();
    setBusy("estimate");
    try {
      const value = await send<ExportEstimate>("POST", "/api/v1/exports/estimate", body);
      setEstimate({ for: bodyKey, value });
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  const runExport = async () => {
    clear();
    setBusy("export");
    try {
      const made = await send<Export>("POST", "/api/v1/exports", exportBody(form, format, gzip, key));
      const known = (history ?? []).some((e) => e.id === made.id);
      setHistory((h) => upsertExport(h ?? [], made));
      setNotice(known ? `Export ${made.id} was already made with this idempotency key.` : `Export ${made.id} queued.`);
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  const cancel = async (id: string) => {
    clear();
    try {
      const e = await send<Export>("DELETE", `/api/v1/exports/${encodeURIComponent(id)}`);
      setHistory((h) => upsertExport(h ?? [], e));
    } catch (e) {
      fail(e);
    }
  };

  const makeLink = async (id: string, file: string) => {
    clear();
    try {
      const ask: NewLink = { file, ttl_seconds: LINK_TTL_SECONDS };
      const link = await send<SignedLink>("POST", `/api/v1/exports/${encodeURIComponent(id)}/links`, ask);
      setLinks((l) => ({ ...l, [`${id}/${file}`]: { ...link, url: absoluteUrl(window.location.origin, link.url) } }));
    } catch (e) {
      fail(e);
    }
  };

  const copy = async (inputId: string, url: string) => {
    try {
      await navigator.clipboard.writeText(url);
      setNotice("Link copied.");
    } catch {
      // No clipboard (an insecure origin, a denied permission): select the
      // text so a keystroke copies it.
      const input = document.getElementById(inputId) as HTMLInputElement | null;
      input?.focus();
      input?.select();
      setNotice("Press Ctrl+C (⌘C) to copy the selected link.");
    }
  };

  const set = <K extends keyof ExportForm>(k: K, v: ExportForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const bad = (field: string) => (invalid === field ? true : undefined);

  const linkRow = (e: Export, file: string) => {
    const link = links[`${e.id}/${file}`];
    if (!link) return null;
    const inputId = `link-${e.id}-${file}`;
    return (
      <tr className="link-row">
        <td colSpan={6}>
          <div className="signed-link">
            <input id={inputId} readOnly value={link.url} aria-label={`Signed link to ${file}`} onFocus={(ev) => ev.currentTarget.select()} />
            <button type="button" className="secondary" onClick={() => copy(inputId, link.url)} aria-label={`Copy link to ${file}`}>Copy</button>
            <a href={link.url} download={file} data-testid="download-link">Download</a>
            <span className="expires">good until {when(link.expires)} UTC</span>
          </div>
        </td>
      </tr>
    );
  };

  const parts = (e: Export) => {
    const files = manifestParts(e.manifest);
    return (
      <table className="parts numbers" data-testid={`parts-${e.id}`}>
        <caption>Files of {e.id}; a link works without signing in, for {LINK_TTL_SECONDS / 3600} hour.</caption>
        <thead>
          <tr><th>File</th><th>Month (UTC)</th><th>Rows</th><th>Size</th><th>SHA-256</th><th /></tr>
        </thead>
        <tbody>
          {files.map((p) => (
            <Fragment key={p.name}>
              <tr data-testid={`part-${p.name}`}>
                <td><code>{p.name}</code></td>
                <td>{p.month}</td>
                <td>{formatCount(p.rows)}</td>
                <td>{formatBytes(p.bytes)}</td>
                <td><code title={p.sha256}>{shortSha(p.sha256)}</code></td>
                <td><button type="button" className="secondary" onClick={() => makeLink(e.id, p.name)} aria-label={`Link to ${p.name}`}>Link</button></td>
              </tr>
              {linkRow(e, p.name)}
            </Fragment>
          ))}
          <tr data-testid="part-manifest.json">
            <td><code>manifest.json</code></td>
            <td colSpan={4}>every part's rows, size and SHA-256; the query</td>
            <td><button type="button" className="secondary" onClick={() => makeLink(e.id, "manifest.json")} aria-label="Link to manifest.json">Link</button></td>
          </tr>
          {linkRow(e, "manifest.json")}
        </tbody>
      </table>
    );
  };

  return (
    <section aria-label="Downloads" className="downloads">
      <h1>Downloads</h1>
      <p>
        A price query written as files, one per calendar month (UTC), by a job of the server, with a manifest of their
        rows and SHA-256 written last. Build the query here, or in the Explorer and press its <em>Export…</em> button.
      </p>
      <form className="selectors" aria-label="New export" onSubmit={(e) => { e.preventDefault(); runEstimate(); }}>
        <h2>New export</h2>
        <div className="fields">
          <label className="wide">Instruments
            <input name="instruments" value={form.instruments} onChange={(e) => set("instruments", e.target.value)} placeholder="MISO.INDIANA.HUB, MISO.MICHIGAN.HUB" aria-invalid={bad("instruments")} required />
          </label>
          <label>Start
            <input name="start" value={form.start} onChange={(e) => set("start", e.target.value)} placeholder="YYYY-MM-DD or RFC 3339" aria-invalid={bad("start")} required />
          </label>
          <label>End
            <input name="end" value={form.end} onChange={(e) => set("end", e.target.value)} placeholder="exclusive" aria-invalid={bad("end")} required />
          </label>
          <label>Market runs
            <input name="market_run" value={form.marketRuns} onChange={(e) => set("marketRuns", e.target.value)} placeholder="da, rt (empty: all)" aria-invalid={bad("marketRuns")} />
          </label>
          <label>Components
            <input name="components" value={form.components} onChange={(e) => set("components", e.target.value)} placeholder="all" aria-invalid={bad("components")} />
          </label>
          <label>Block
            <select name="block" value={form.block} onChange={(e) => set("block", e.target.value)} aria-invalid={bad("block")}>
              {BLOCKS.map((b) => <option key={b}>{b}</option>)}
            </select>
          </label>
          <label>Resample
            <select name="resample" value={form.resample} onChange={(e) => set("resample", e.target.value)} aria-invalid={bad("resample")}>
              <option value="">none</option>
              {FREQUENCIES.map((r) => <option key={r}>{r}</option>)}
            </select>
          </label>
          <label>Aggregation
            <select name="agg" value={form.agg} onChange={(e) => set("agg", e.target.value)} disabled={!form.resample} aria-invalid={bad("agg")}>
              {AGGREGATIONS.map((a) => <option key={a}>{a}</option>)}
            </select>
          </label>
          <label>Time zone
            <input name="timezone" value={form.timezone} onChange={(e) => set("timezone", e.target.value)} placeholder="market" aria-invalid={bad("timezone")} />
          </label>
          <label>As of
            <input name="as_of" value={form.asOf} onChange={(e) => set("asOf", e.target.value)} placeholder="latest" aria-invalid={bad("asOf")} />
          </label>
        </div>
        <div className="fields">
          <label>File format
            <select name="format" value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)} aria-invalid={bad("format")}>
              {FORMATS.map((f) => <option key={f} value={f}>{FORMAT_LABEL[f]}</option>)}
            </select>
          </label>
          <label className="check" title={format === "xlsx" ? "An XLSX workbook is compressed already" : undefined}>
            <input type="checkbox" name="gzip" checked={gzip && format !== "xlsx"} disabled={format === "xlsx"} onChange={(e) => setGzip(e.target.checked)} /> Gzip each part
          </label>
          <label>Idempotency key
            <input name="idempotency_key" value={key} onChange={(e) => setKey(e.target.value)} placeholder="optional" aria-invalid={bad("idempotencyKey")} />
          </label>
          <div className="buttons">
            <button type="submit" className="secondary" disabled={busy !== null}>Estimate</button>
            <button type="button" onClick={runExport} disabled={busy !== null}>Export</button>
          </div>
        </div>
      </form>
      {shownEstimate && (
        <p className="estimate" data-testid="estimate" data-rows={shownEstimate.rows} data-within-limits={shownEstimate.within_limits}>
          About <strong>{formatCount(shownEstimate.rows)}</strong> rows · {formatBytes(shownEstimate.bytes)} ·{" "}
          {shownEstimate.parts} {shownEstimate.parts === 1 ? "part" : "parts"} ·{" "}
          {shownEstimate.within_limits ? <span className="ok">within the limits</span> : <span className="error">over the limits: narrow the range or the instruments</span>}
        </p>
      )}
      {error && <p role="alert" className="error">{error}</p>}
      <p role="status" className="notice">{notice}</p>

      <h2>History</h2>
      {history === null ? <p className="loading">Loading…</p> : history.length === 0 ? <p className="empty">No exports yet.</p> : (
        <table data-testid="exports-table" className="numbers">
          <thead>
            <tr><th>Id</th><th>Query</th><th>Created</th><th>Format</th><th>Status</th><th>Rows</th><th>Size</th><th>Expires</th><th /></tr>
          </thead>
          <tbody>
            {history.map((e) => {
              const running = isLive(e);
              const expanded = !!open[e.id] && e.status === "succeeded";
              return (
                <Fragment key={e.id}>
                  <tr data-testid={`export-${e.id}`} data-status={e.status} className={["failed", "cancelled", "expired"].includes(e.status) ? "dropped" : ""}>
                    <td><code>{e.id}</code></td>
                    <td className="query">{specSummary(e.spec)}</td>
                    <td>{when(e.created)}</td>
                    <td>{e.format}{e.gzip ? ".gz" : ""}</td>
                    <td data-testid={`export-status-${e.id}`}>
                      {running && <progress aria-label={`${e.id} ${e.status}`} />} {e.status}
                      {e.error && <div className="error">{e.error}</div>}
                    </td>
                    <td>{e.status === "succeeded" ? formatCount(e.rows) : ""}</td>
                    <td>{e.status === "succeeded" ? formatBytes(e.bytes) : ""}</td>
                    <td>{when(e.expires)}</td>
                    <td>
                      {running && <button type="button" onClick={() => cancel(e.id)} aria-label={`Cancel ${e.id}`}>Cancel</button>}
                      {e.status === "succeeded" && (
                        <button
                          type="button"
                          className="secondary"
                          aria-expanded={expanded}
                          aria-controls={`parts-of-${e.id}`}
                          aria-label={`Parts of ${e.id}`}
                          onClick={() => setOpen((o) => ({ ...o, [e.id]: !o[e.id] }))}
                        >
                          {expanded ? "Hide parts" : `Parts (${manifestParts(e.manifest).length})`}
                        </button>
                      )}
                    </td>
                  </tr>
                  {expanded && (
                    <tr className="parts-row" id={`parts-of-${e.id}`}>
                      <td colSpan={9}>{parts(e)}</td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}

      <Feeds instruments={form.instruments} onRun={(e) => setHistory((h) => upsertExport(h ?? [], e))} />
    </section>
  );
}
