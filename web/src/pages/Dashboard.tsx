import { useEffect, useRef, useState } from "react";
import { getJson, type IngestRun, type Instrument, type InstrumentPage, type LatestPrices, type MarketInfo, type PricePage, type Schemas } from "../api";
import { Sparkline } from "../Chart";
import { applyTick, changeVsYesterday, formatInstant, RUNS, series, type Card } from "../query";

type Conn = "connecting" | "live" | "reconnecting";

/** The user's entitled markets' hubs: latest DA and RT, change vs yesterday,
 * the last 24 h, data freshness and ingest status; live over the WebSocket. */
export function Dashboard() {
  const [markets, setMarkets] = useState<MarketInfo[] | null>(null);
  const [cards, setCards] = useState<Card[] | null>(null);
  const [runs, setRuns] = useState<IngestRun[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [conn, setConn] = useState<Conn>("connecting");
  const [ticks, setTicks] = useState(0);
  // Every entitled hub is subscribed, so a hub whose first price arrives
  // while the page is open gets its card from the tick.
  const [hubIds, setHubIds] = useState<string[]>([]);
  const ws = useRef<WebSocket | null>(null);

  useEffect(() => {
    let stop = false;
    (async () => {
      try {
        const m = await getJson<Schemas["Data_MarketInfo"]>("/api/v1/markets");
        if (stop) return;
        setMarkets(m.data);
        const hubs: Instrument[] = [];
        for (const mk of m.data) {
          const r = await getJson<InstrumentPage>(`/api/v1/instruments?market=${mk.code}&kind=hub&limit=50`).catch((): InstrumentPage => ({ data: [] }));
          hubs.push(...r.data);
        }
        const out: Card[] = [];
        if (!stop) setHubIds(hubs.map((h) => h.id));
        if (hubs.length) {
          const ids = hubs.map((h) => `instrument_id=${encodeURIComponent(h.id)}`).join("&");
          const latest = await getJson<LatestPrices>(`/api/v1/prices/latest?${ids}&lookback_days=366`);
          for (const row of latest.data) {
            if (!RUNS.includes(row.market_run)) continue;
            const end = new Date(Date.parse(row.interval_start_utc) + 3_600_000);
            const start = new Date(end.getTime() - 49 * 3_600_000);
            const hist = await getJson<PricePage>(
              `/api/v1/prices?instrument_id=${encodeURIComponent(row.instrument_id)}&market_run=${row.market_run}` +
                `&start=${start.toISOString()}&end=${end.toISOString()}&components=lmp&resample=1h&agg=mean`,
            ).catch((): PricePage => ({ data: [] }));
            const [xs, ys] = series(hist.data, row.instrument_id, "lmp");
            out.push({
              instrument: row.instrument_id,
              run: row.market_run,
              market: row.instrument_id.split(".")[0],
              last: typeof row.lmp === "number" ? row.lmp : null,
              at: row.interval_start_utc,
              change: changeVsYesterday(xs, ys),
              spark: ys.slice(-24),
            });
          }
        }
        if (!stop) setCards(out);
        const r = await getJson<Schemas["Data_IngestRun"]>("/api/v1/ingest/runs?limit=20").catch((): Schemas["Data_IngestRun"] => ({ data: [] }));
        if (!stop) setRuns(r.data);
      } catch (e) {
        if (!stop) setError(String((e as Error).message));
      }
    })();
    return () => {
      stop = true;
    };
  }, []);

  // Live ticks: update the matching card; reconnect with backoff.
  useEffect(() => {
    if (!hubIds.length) return;
    let closed = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const open = () => {
      const proto = window.location.protocol === "https:" ? "wss" : "ws";
      const sock = new WebSocket(`${proto}://${window.location.host}/api/v1/stream`);
      ws.current = sock;
      sock.onopen = () => {
        attempt = 0;
        setConn("live");
        sock.send(JSON.stringify({ op: "subscribe", instruments: hubIds }));
      };
      sock.onmessage = (ev) => {
        const m = JSON.parse(ev.data);
        if (m.type !== "tick") return;
        setTicks((t) => t + 1);
        setCards((cs) => applyTick(cs ?? [], m));
      };
      sock.onclose = () => {
        if (closed) return;
        setConn("reconnecting");
        attempt += 1;
        timer = setTimeout(open, Math.min(30_000, 500 * 2 ** attempt));
      };
    };
    open();
    return () => {
      closed = true;
      clearTimeout(timer);
      ws.current?.close();
    };
  }, [hubIds]);

  const zone = (code: string) => markets?.find((m) => m.code === code)?.zone ?? "UTC";
  if (error) return <p role="alert" className="error">Could not load the dashboard: {error}</p>;
  if (!cards) return <p className="loading">Loading prices…</p>;
  return (
    <section aria-label="Dashboard">
      <div className="toolbar">
        <h1>Hubs</h1>
        <span className={`conn ${conn}`} data-testid="conn" role="status">
          {conn === "live" ? `live · ${ticks} ticks` : conn === "connecting" ? "connecting…" : "reconnecting…"}
        </span>
      </div>
      {cards.length === 0 ? (
        <p className="empty">No hub prices you are entitled to see yet. Load data with <code>carbon ingest file …</code>.</p>
      ) : (
        <div className="cards">
          {cards.map((c) => (
            <article key={`${c.instrument}/${c.run}`} className="card" data-testid={`card-${c.instrument}-${c.run}`}>
              <h2>{c.instrument}</h2>
              <p className="run">{c.run.toUpperCase()}</p>
              <p className="price" data-testid="price">
                {c.last === null ? "—" : c.last.toFixed(2)}
              </p>
              <p className={`change ${c.change !== null && c.change < 0 ? "down" : "up"}`}>
                {c.change === null ? "no price a day earlier" : `${c.change >= 0 ? "+" : ""}${c.change.toFixed(2)} vs yesterday`}
              </p>
              <Sparkline values={c.spark} />
              <p className="at">{c.at ? formatInstant(c.at, zone(c.market)) : ""}</p>
            </article>
          ))}
        </div>
      )}
      <h2>Sources</h2>
      {runs.length === 0 ? (
        <p className="empty">No ingest runs yet.</p>
      ) : (
        <table>
          <thead>
            <tr><th>Source</th><th>Status</th><th>Finished</th><th>Error</th></tr>
          </thead>
          <tbody>
            {latestPerSource(runs).map((r) => (
              <tr key={r.connector}>
                <td>{r.connector}</td>
                <td className={r.status}>{r.status}</td>
                <td>{r.finished ? formatInstant(r.finished, "UTC") : "—"}</td>
                <td>{r.error ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The newest run of each source (runs come newest first). */
function latestPerSource(runs: IngestRun[]): IngestRun[] {
  const seen = new Set<string>();
  return runs.filter((r) => !seen.has(r.connector) && seen.add(r.connector) !== undefined);
}
