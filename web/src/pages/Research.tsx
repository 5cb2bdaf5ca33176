import { useEffect, useState } from "react";
import { getJson, jobRun, sendMaybeJob, type Job, type ResearchRunInfo, type Schemas, type SeriesInfo } from "../api";
import { Chart } from "../Chart";
import { researchBody, type ResearchForm } from "../query";

// A run's output is free-form JSON in the API's schema (`output: object`):
// the fields this page charts, as the decomposition and regime analyses
// (carbon-service's research.rs) write them.
interface Seasonal {
  period: number;
  values: number[];
  strength: number | null;
}
interface Candidate {
  k: number;
  llf: number;
  bic: number;
  converged: boolean;
}
interface Output {
  times: string[];
  warnings?: string[];
  decomposition?: { trend: number[]; seasonal: Seasonal[]; trend_strength: number | null };
  model?: { smoothed?: number[][] };
  candidates?: Candidate[];
  chosen?: number;
}
type Run = Omit<ResearchRunInfo, "output"> & { output?: Output | null };

const toSecs = (ts: string[]) => ts.map((t) => Date.parse(t) / 1000);

/** Research: a decomposition or a regime model of a fundamentals series or a
 * price, run and stored by the API, charted here. */
export function Research() {
  const [series, setSeries] = useState<SeriesInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [run, setRun] = useState<Run | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [form, setForm] = useState<ResearchForm>({
    kind: "decompose",
    source: "",
    instrument: "",
    marketRun: "da",
    start: "",
    end: "",
    resample: "",
    periods: "52",
    transform: "log_return",
    states: "2,3",
  });
  const set = (k: keyof ResearchForm, v: string) => setForm((f) => ({ ...f, [k]: v }));

  useEffect(() => {
    getJson<Schemas["Data_SeriesInfo"]>("/api/v1/fundamentals/series")
      .then((r) => {
        setSeries(r.data);
        if (r.data.length) set("source", `${r.data[0].entity}/${r.data[0].variable}`);
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, []);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setRun(null);
    setJob(null);
    try {
      const { path, body } = researchBody(form);
      // A long analysis continues as a job: follow it, then read its run.
      setRun(
        await sendMaybeJob<Run>(path, body, setJob, (j) => {
          const id = jobRun(j, "research_run");
          if (!id) throw new Error(`job ${j.id} stored no research run`);
          return getJson<Run>(`/api/v1/research/runs/${id}`);
        }),
      );
    } catch (err) {
      setError(String((err as Error).message ?? err));
    } finally {
      setBusy(false);
    }
  };

  const o = run?.output;
  return (
    <section aria-label="Research">
      <h1>Research</h1>
      {series === null && !error && <p className="loading">Loading series…</p>}
      {job && busy && (
        <p role="status" data-testid="job">
          Continued as job <code>{job.id}</code>: {job.status} {Math.round(job.progress * 100)}% {job.message}
        </p>
      )}
      <form onSubmit={submit} aria-label="Research query" className="selectors">
        <label>
          Analysis
          <select value={form.kind} onChange={(e) => set("kind", e.target.value)}>
            <option value="decompose">Decomposition (STL / MSTL)</option>
            <option value="regimes">Regimes (Markov switching)</option>
            <option value="hmm">Regimes (Gaussian HMM on return features)</option>
          </select>
        </label>
        <label>
          Fundamentals series
          <select value={form.source} onChange={(e) => set("source", e.target.value)}>
            <option value="">— a price instead —</option>
            {(series ?? []).map((s) => (
              <option key={`${s.entity}/${s.variable}`} value={`${s.entity}/${s.variable}`}>
                {s.entity} · {s.variable} ({s.unit}, {s.intervals})
              </option>
            ))}
          </select>
        </label>
        {form.source === "" && (
          <>
            <label>
              Instrument <input value={form.instrument} onChange={(e) => set("instrument", e.target.value)} placeholder="MISO.INDIANA.HUB" />
            </label>
            <label>
              Market run <input value={form.marketRun} onChange={(e) => set("marketRun", e.target.value)} />
            </label>
          </>
        )}
        <label>
          From <input type="date" value={form.start} onChange={(e) => set("start", e.target.value)} />
        </label>
        <label>
          To <input type="date" value={form.end} onChange={(e) => set("end", e.target.value)} />
        </label>
        <label>
          Resample
          <select value={form.resample} onChange={(e) => set("resample", e.target.value)}>
            <option value="">none</option>
            <option value="1h">1h</option>
            <option value="1d">1d</option>
            <option value="1w">1w</option>
            <option value="1mo">1mo</option>
          </select>
        </label>
        {form.kind === "decompose" ? (
          <label>
            Periods <input value={form.periods} onChange={(e) => set("periods", e.target.value)} placeholder="24,168" />
          </label>
        ) : (
          <>
            <label>
              States <input value={form.states} onChange={(e) => set("states", e.target.value)} placeholder="2,3" />
            </label>
            {form.kind === "regimes" && (
              <label>
                Transform
                <select value={form.transform} onChange={(e) => set("transform", e.target.value)}>
                  <option value="level">level</option>
                  <option value="diff">diff</option>
                  <option value="log_return">log return</option>
                </select>
              </label>
            )}
          </>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Running…" : "Run"}
        </button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {run && o && (
        <div data-testid="research-result">
          <p className="at">
            Stored as run <code data-testid="run-id">{run.run_id}</code> · {run.kind} · {run.subject} · {run.model_version}
          </p>
          {(o.warnings ?? []).map((w) => (
            <p key={w} className="warning">
              {w}
            </p>
          ))}
          {o.decomposition && (
            <>
              <Chart
                testId="decomposition-chart"
                timeZone="UTC"
                unit=""
                data={[toSecs(o.times), o.decomposition.trend, ...o.decomposition.seasonal.map((s) => s.values)]}
                series={[
                  { label: "trend", color: "#1f6feb" },
                  ...o.decomposition.seasonal.map((s, i) => ({
                    label: `seasonal ${s.period}`,
                    color: ["#d29922", "#8957e5", "#2da44e"][i % 3],
                  })),
                ]}
              />
              <table>
                <tbody>
                  <tr>
                    <th>Trend strength</th>
                    <td data-testid="trend-strength">{o.decomposition.trend_strength?.toFixed(3) ?? "—"}</td>
                  </tr>
                  {o.decomposition.seasonal.map((s) => (
                    <tr key={s.period}>
                      <th>Seasonal strength ({s.period})</th>
                      <td>{s.strength?.toFixed(3) ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
          {o.model?.smoothed && (
            <>
              <Chart
                testId="regime-chart"
                timeZone="UTC"
                unit="probability"
                height={220}
                data={[toSecs(o.times), o.model.smoothed.map((p) => p[p.length - 1])]}
                series={[{ label: "Pr(most volatile / highest regime)", color: "#cf222e" }]}
              />
              <table data-testid="candidates">
                <thead>
                  <tr>
                    <th>k</th>
                    <th>log-likelihood</th>
                    <th>BIC</th>
                    <th>converged</th>
                  </tr>
                </thead>
                <tbody>
                  {(o.candidates ?? []).map((c, i) => (
                    <tr key={c.k} aria-current={i === o.chosen ? "true" : undefined}>
                      <td>{c.k}{i === o.chosen ? " (chosen)" : ""}</td>
                      <td>{c.llf.toFixed(2)}</td>
                      <td>{c.bic.toFixed(2)}</td>
                      <td>{c.converged ? "yes" : "no"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </div>
      )}
    </section>
  );
}
