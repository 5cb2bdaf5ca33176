import { useEffect, useMemo, useState } from "react";
import { getJson, send, type BuildSpec, type Built as BuiltAnswer, type CurveRunInfo, type Forward, type Market, type Schemas } from "../api";
import { Chart } from "../Chart";
import { contractsToCsv, formatInstant } from "../query";

// The build report is free-form JSON in the API's schema (`report: object`):
// the fields this page reads, as carbon-curves writes them.
interface ContractReport { name: string; start: string; end: string; block: string; quoted: number; repriced: number; error: number; dual: number | null; dropped: boolean }
interface Finding { kind: string; parent?: string; children?: string[]; parent_price?: number; implied?: number; gap?: number; contracts?: string[] }
interface Report { contracts: ContractReport[]; reconciliation: Finding[]; objective: number; solver: { name: string; status: string; iterations: number; seconds: number }; market: string; grid: string; engine: string }
type WithReport<T> = Omit<T, "report"> & { report: Report };
type Built = WithReport<BuiltAnswer>;

const SAMPLE = `name,start,end,price
Jan-27,2027-01-01,2027-01-31,62.0
Feb-27,2027-02-01,2027-02-28,58.5
Mar-27,2027-03-01,2027-03-31,47.25
Q2-27,2027-04-01,2027-06-30,39.8
Q3-27,2027-07-01,2027-09-30,63.1
`;

/** Build a curve from pasted or uploaded contracts, chart it with the
 * contracts as bars over their delivery, the repricing table, findings,
 * lineage; browse stored curves. */
export function Curves() {
  const [contracts, setContracts] = useState(SAMPLE);
  const [prior, setPrior] = useState("");
  const [form, setForm] = useState({ curve_id: "", market: "MISO" as Market, trade_date: new Date().toISOString().slice(0, 10), grid: "daily", policy: "strict", prior_mode: "additive" });
  const [built, setBuilt] = useState<Built | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [runs, setRuns] = useState<CurveRunInfo[] | null>(null);

  const loadRuns = () => getJson<Schemas["Data_CurveRunInfo"]>("/api/v1/curves?limit=50").then((r) => setRuns(r.data), () => setRuns([]));
  useEffect(() => {
    loadRuns();
  }, []);

  const build = async () => {
    setBusy(true);
    setError(null);
    try {
      const body: BuildSpec = { market: form.market, trade_date: form.trade_date, grid: form.grid, policy: form.policy, contracts_csv: contractsToCsv(contracts) };
      if (form.curve_id) body.curve_id = form.curve_id;
      if (prior.trim()) {
        body.prior_csv = contractsToCsv(prior);
        body.prior_mode = form.prior_mode;
      }
      setBuilt(await send<Built>("POST", "/api/v1/curves/build", body));
      if (form.curve_id) loadRuns();
    } catch (e) {
      setError((e as Error).message);
      setBuilt(null);
    } finally {
      setBusy(false);
    }
  };

  const open = async (run: CurveRunInfo) => {
    setError(null);
    try {
      const [detail, fwd] = await Promise.all([
        getJson<WithReport<CurveRunInfo>>(`/api/v1/curves/runs/${run.run_id}`),
        getJson<Forward>(`/api/v1/curves/forward?run_id=${run.run_id}`),
      ]);
      setBuilt({ run_id: run.run_id, curve_id: run.curve_id, scenario_id: run.scenario_id, input_hash: detail.input_hash, points: fwd.data, report: detail.report });
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const zone = built?.report.market === "CAISO" ? "America/Los_Angeles" : "Etc/GMT+5";
  const chart = useMemo(() => {
    if (!built) return null;
    const xs = built.points.map((p) => Date.parse(p.delivery_start) / 1000);
    const curve = built.points.map((p) => p.price);
    // Each contract as a horizontal bar at its quote over its delivery.
    const bars = built.report.contracts.map((c) => {
      const from = Date.parse(c.start) / 1000;
      const to = Date.parse(c.end) / 1000 + 86_400;
      return xs.map((x) => (x >= from && x < to ? c.quoted : null));
    });
    return { data: [xs, curve, ...bars] as [number[], ...(number | null)[][]], series: [{ label: "curve", color: "#2563eb" }, ...built.report.contracts.map((c) => ({ label: c.name, color: "#f59e0b", dash: true }))] };
  }, [built]);

  const upload = (file: File | undefined, into: (s: string) => void) => file && file.text().then(into);
  return (
    <section aria-label="Curves" className="curves">
      <h1>Forward curves</h1>
      <div className="builder">
        <div>
          <label>Contracts (CSV or cells pasted from a spreadsheet: name, start, end, price [, bid, ask, block, weight])
            <textarea value={contracts} onChange={(e) => setContracts(e.target.value)} rows={9} spellCheck={false} data-testid="contracts" />
          </label>
          <input type="file" accept=".csv,text/csv" aria-label="Upload contracts CSV" onChange={(e) => upload(e.target.files?.[0], setContracts)} />
          <label>Prior (optional: date,value or timestamp,value per grid point)
            <textarea value={prior} onChange={(e) => setPrior(e.target.value)} rows={3} spellCheck={false} />
          </label>
        </div>
        <form className="selectors" onSubmit={(e) => { e.preventDefault(); build(); }} aria-label="Curve parameters">
          <label>Curve id (to store) <input value={form.curve_id} onChange={(e) => setForm({ ...form, curve_id: e.target.value })} placeholder="MISO_IND_FWD" /></label>
          <label>Market <select value={form.market} onChange={(e) => setForm({ ...form, market: e.target.value as Market })}><option>MISO</option><option>CAISO</option></select></label>
          <label>Trade date <input type="date" value={form.trade_date} onChange={(e) => setForm({ ...form, trade_date: e.target.value })} /></label>
          <label>Grid <select value={form.grid} onChange={(e) => setForm({ ...form, grid: e.target.value })}><option>hourly</option><option>daily</option><option>monthly</option></select></label>
          <label>Policy <select value={form.policy} onChange={(e) => setForm({ ...form, policy: e.target.value })}>{["strict", "drop_parents", "least_squares", "bid_ask"].map((p) => <option key={p}>{p}</option>)}</select></label>
          <label>Prior mode <select value={form.prior_mode} onChange={(e) => setForm({ ...form, prior_mode: e.target.value })}><option>additive</option><option>multiplicative</option></select></label>
          <button type="submit" disabled={busy}>{busy ? "Building…" : "Build curve"}</button>
        </form>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {built && chart && (
        <>
          <Chart data={chart.data} series={chart.series} timeZone={zone} testId="curve-chart" />
          <table data-testid="repricing">
            <thead><tr><th>Contract</th><th>Delivery</th><th>Block</th><th>Quoted</th><th>Repriced</th><th>Error</th><th>Dual</th></tr></thead>
            <tbody>
              {built.report.contracts.map((c) => (
                <tr key={c.name} className={c.dropped ? "dropped" : ""}>
                  <td>{c.name}</td><td>{c.start} – {c.end}</td><td>{c.block}</td><td>{c.quoted}</td>
                  <td data-testid="repriced">{c.repriced.toFixed(6)}</td><td>{c.error.toExponential(2)}</td><td>{c.dual === null ? "—" : c.dual.toFixed(4)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Reconciliation</h2>
          {built.report.reconciliation.length === 0 ? <p className="empty">No nested or overlapping contracts.</p> : (
            <ul>{built.report.reconciliation.map((f, i) => (
              <li key={i}>{f.kind === "nested" ? `${f.children?.join(" + ")} average ${f.implied?.toFixed(4)} against ${f.parent} at ${f.parent_price} (gap ${f.gap?.toFixed(4)})` : `${f.contracts?.join(" and ")} overlap`}</li>
            ))}</ul>
          )}
          <h2>Lineage</h2>
          <dl className="lineage">
            <dt>Run</dt><dd>{built.run_id ?? "not stored (give a curve id)"}</dd>
            <dt>Input hash</dt><dd><code>{built.input_hash}</code></dd>
            <dt>Engine</dt><dd>{built.report.engine}</dd>
            <dt>Solver</dt><dd>{built.report.solver.name}, {built.report.solver.status}, {built.report.solver.iterations} iterations, {(built.report.solver.seconds * 1000).toFixed(1)} ms</dd>
            <dt>Objective</dt><dd>{built.report.objective.toPrecision(8)}</dd>
          </dl>
        </>
      )}
      <h2>Stored curves</h2>
      {runs === null ? <p className="loading">Loading…</p> : runs.length === 0 ? <p className="empty">No stored curves yet.</p> : (
        <table>
          <thead><tr><th>Curve</th><th>As of</th><th>Scenario</th><th>Market</th><th>Grid</th><th>Status</th><th>Built</th><th /></tr></thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.run_id}>
                <td>{r.curve_id}</td><td>{r.as_of_date}</td><td>{r.scenario_id}</td><td>{r.market}</td><td>{r.granularity}</td><td>{r.status}</td>
                <td>{formatInstant(r.started, "UTC")}</td>
                <td>{r.status === "succeeded" ? <button onClick={() => open(r)}>Open</button> : <span title={r.error ?? ""}>failed</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
