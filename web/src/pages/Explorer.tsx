import { useEffect, useMemo, useState } from "react";
import { getJson, getText, type Instrument, type InstrumentPage, type MarketInfo, type Price, type PricePage, type Schemas } from "../api";
import { Chart, type ChartSeries } from "../Chart";
import { downloadsPath } from "../exports";
import { align, formatInstant, pricesUrl, series, spread, type Block, type Component, type PriceQuery } from "../query";

const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2"];
const COMPONENTS: Component[] = ["lmp", "energy", "congestion", "loss"];

/** Instrument search, a zoomable chart with the query's selectors, DA vs RT
 * overlay and DART spread, a table, a CSV download of exactly the query, and
 * "Export…": the same query on the Downloads page (`navigate` moves there). */
export function Explorer({ navigate }: { navigate: (path: string) => void }) {
  const [markets, setMarkets] = useState<MarketInfo[]>([]);
  const [market, setMarket] = useState("");
  const [kind, setKind] = useState("");
  const [text, setText] = useState("");
  const [found, setFound] = useState<Instrument[] | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const [q, setQ] = useState<Omit<PriceQuery, "instruments">>({
    start: "2026-10-01",
    end: "2026-10-02",
    marketRun: "da",
    components: ["lmp"],
    resample: "",
    agg: "mean",
    block: "flat",
    timezone: "",
  });
  const [overlay, setOverlay] = useState(false);
  const [rows, setRows] = useState<Price[] | null>(null);
  const [rtRows, setRtRows] = useState<Price[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [view, setView] = useState<"chart" | "table">("chart");

  useEffect(() => {
    getJson<Schemas["Data_MarketInfo"]>("/api/v1/markets").then((m) => {
      setMarkets(m.data);
      if (m.data[0]) setMarket(m.data[0].code);
    }, (e) => setError(e.message));
  }, []);

  useEffect(() => {
    if (!market) return;
    const p = new URLSearchParams({ market, limit: "50" });
    if (kind) p.set("kind", kind);
    if (text) p.set("q", text);
    const t = setTimeout(() => {
      getJson<InstrumentPage>(`/api/v1/instruments?${p}`).then((r) => setFound(r.data), (e) => setError(e.message));
    }, 200);
    return () => clearTimeout(t);
  }, [market, kind, text]);

  const query: PriceQuery = useMemo(() => ({ ...q, instruments: picked, resample: q.resample || undefined, timezone: q.timezone || undefined }), [q, picked]);
  const zone = q.timezone === "UTC" ? "UTC" : markets.find((m) => m.code === (picked[0]?.split(".")[0] ?? market))?.zone ?? "UTC";

  useEffect(() => {
    if (!picked.length) {
      setRows(null);
      return;
    }
    setLoading(true);
    setError(null);
    const main = getJson<PricePage>(pricesUrl(query));
    const rt = overlay ? getJson<PricePage>(pricesUrl({ ...query, marketRun: query.marketRun === "da" ? "rt" : "da" })) : Promise.resolve(null);
    Promise.all([main, rt])
      .then(([a, b]) => {
        setRows(a.data);
        setRtRows(b ? b.data : null);
      })
      .catch((e) => setError(e.message))
      .finally(() => setLoading(false));
  }, [query, overlay, picked.length]);

  const comp = query.components[0] ?? "lmp";
  const chart = useMemo(() => {
    if (!rows) return null;
    const parts = picked.map((id) => series(rows, id, comp));
    const labels: ChartSeries[] = picked.map((id, i) => ({ label: `${id} ${query.marketRun}`, color: COLORS[i % COLORS.length] }));
    if (rtRows && picked[0]) {
      parts.push(series(rtRows, picked[0], comp));
      labels.push({ label: `${picked[0]} ${query.marketRun === "da" ? "rt" : "da"}`, color: "#64748b", dash: true });
    }
    const data = align(parts);
    if (rtRows && picked[0]) {
      const da = query.marketRun === "da" ? data[1] : data[data.length - 1];
      const rt = query.marketRun === "da" ? data[data.length - 1] : data[1];
      data.push(spread(da, rt));
      labels.push({ label: "DART (DA − RT)", color: "#16a34a" });
    }
    return { data, labels };
  }, [rows, rtRows, picked, comp, query.marketRun]);

  const download = async () => {
    try {
      const csv = await getText(pricesUrl(query, "csv"));
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      a.download = `prices_${picked.join("_")}_${q.start}_${q.end}.csv`;
      a.click();
      URL.revokeObjectURL(a.href);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const exportPath = downloadsPath(pricesUrl(query));
  const set = <K extends keyof typeof q>(k: K, v: (typeof q)[K]) => setQ((old) => ({ ...old, [k]: v }));
  return (
    <section aria-label="Explorer" className="explorer">
      <aside>
        <h1>Explorer</h1>
        <label>Market
          <select name="market" value={market} onChange={(e) => setMarket(e.target.value)}>
            {markets.map((m) => <option key={m.code} value={m.code}>{m.code}</option>)}
          </select>
        </label>
        <label>Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">any</option>
            {["hub", "zone", "node", "interface", "load_zone", "generator"].map((k) => <option key={k}>{k}</option>)}
          </select>
        </label>
        <label>Search
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="INDIANA, SP15…" />
        </label>
        {found === null ? <p className="loading">Searching…</p> : found.length === 0 ? <p className="empty">No instruments.</p> : (
          <ul className="found" aria-label="Instruments">
            {found.map((i) => (
              <li key={i.id}>
                <label>
                  <input type="checkbox" checked={picked.includes(i.id)} onChange={(e) => setPicked((p) => (e.target.checked ? [...p, i.id] : p.filter((x) => x !== i.id)))} />
                  {i.id}
                </label>
              </li>
            ))}
          </ul>
        )}
      </aside>
      <div className="work">
        <form className="selectors" onSubmit={(e) => e.preventDefault()} aria-label="Query">
          <label>From <input type="date" value={q.start} onChange={(e) => set("start", e.target.value)} /></label>
          <label>To <input type="date" value={q.end} onChange={(e) => set("end", e.target.value)} /></label>
          <label>Range
            <select onChange={(e) => {
              const days = Number(e.target.value);
              if (!days) return;
              const end = new Date(q.end);
              set("start", new Date(end.getTime() - days * 86_400_000).toISOString().slice(0, 10));
            }} defaultValue="">
              <option value="">…</option><option value="1">1 day</option><option value="7">1 week</option><option value="31">1 month</option><option value="365">1 year</option>
            </select>
          </label>
          <label>Run
            <select value={q.marketRun} onChange={(e) => set("marketRun", e.target.value)}>
              {["da", "da_exante", "rt", "rt_prelim", "rtpd", "rt5"].map((r) => <option key={r}>{r}</option>)}
            </select>
          </label>
          <label>Component
            <select value={comp} onChange={(e) => set("components", [e.target.value as Component])}>
              {COMPONENTS.map((c) => <option key={c}>{c}</option>)}
            </select>
          </label>
          <label>Resample
            <select value={q.resample} onChange={(e) => set("resample", e.target.value)}>
              <option value="">none</option>{["5min", "15min", "1h", "1d", "1mo"].map((r) => <option key={r}>{r}</option>)}
            </select>
          </label>
          <label>Aggregation
            <select value={q.agg} onChange={(e) => set("agg", e.target.value)} disabled={!q.resample}>
              {["mean", "min", "max", "first", "last"].map((a) => <option key={a}>{a}</option>)}
            </select>
          </label>
          <label>Block
            <select value={q.block} onChange={(e) => set("block", e.target.value as Block)}>
              {["flat", "onpeak", "offpeak", "2x16", "7x8"].map((b) => <option key={b}>{b}</option>)}
            </select>
          </label>
          <label>Time zone
            <select value={q.timezone} onChange={(e) => set("timezone", e.target.value)}>
              <option value="">market</option><option value="UTC">UTC</option>
            </select>
          </label>
          <label className="check"><input type="checkbox" checked={overlay} onChange={(e) => setOverlay(e.target.checked)} /> DA vs RT + DART</label>
          <div className="buttons">
            <button type="button" onClick={() => setView(view === "chart" ? "table" : "chart")}>{view === "chart" ? "Table" : "Chart"}</button>
            <button type="button" onClick={download} disabled={!picked.length}>Download CSV</button>
            <a
              className="button secondary"
              href={exportPath}
              title="Export this query as files (one per month) on the Downloads page"
              onClick={(e) => {
                e.preventDefault();
                navigate(exportPath);
              }}
            >
              Export…
            </a>
          </div>
        </form>
        {error && <p role="alert" className="error">{error}</p>}
        {!picked.length ? <p className="empty">Pick one or more instruments.</p> : loading ? <p className="loading">Loading…</p> : rows && rows.length === 0 ? (
          <p className="empty">No prices for this query.</p>
        ) : chart && view === "chart" ? (
          <Chart data={chart.data} series={chart.labels} timeZone={zone} testId="explorer-chart" />
        ) : rows ? (
          <table data-testid="explorer-table">
            <thead><tr><th>Instrument</th><th>Run</th><th>Interval start ({zone})</th><th>{comp}</th></tr></thead>
            <tbody>
              {rows.slice(0, 2000).map((r, i) => (
                <tr key={i}><td>{r.instrument_id}</td><td>{r.market_run}</td><td>{formatInstant(r.interval_start_utc, zone)}</td><td>{String(r[comp] ?? "")}</td></tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </div>
    </section>
  );
}
