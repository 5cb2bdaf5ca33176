import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import {
  followJob,
  getJson,
  jobRun,
  send,
  type Change,
  type CurveRunInfo,
  type Job,
  type NewRun,
  type ResearchRunInfo,
  type ScenarioDocument,
  type ScenarioRun,
  type ScenarioSummary,
  type ScenarioVersion,
  type Schemas,
} from "../api";
import {
  BLOCK_LABEL,
  BLOCKS,
  EXAMPLE,
  SIDES,
  attributionRows,
  blockSeries,
  describeError,
  errorMarkers,
  fallbackNote,
  fmt2,
  lineCount,
  sensitivityRows,
  showValue,
  sideBySide,
  type BlockSeries,
  type CalibrationOutput,
  type Cell,
  type Checked,
  type ScenarioBlock,
  type ScenarioReport,
} from "../scenario";

// A scenario run is a curve run whose report is the scenario's, and its
// calibration a research run (both free-form JSON in the API's schema).
type ScenarioCurveRun = Omit<CurveRunInfo, "report"> & { report: ScenarioReport | null };
type CalibrationRun = Omit<ResearchRunInfo, "output"> & { output: CalibrationOutput | null };

interface Result {
  curveRunId: string;
  run: ScenarioCurveRun;
  report: ScenarioReport;
  cells: Cell[] | null;
  /** Why the calibration run could not be read (the rest of the run still shows). */
  cellsError: string | null;
}

/** A run picked for the side-by-side table, with its scenario's name. */
interface Picked {
  run: ScenarioRun;
  name: string;
}

const FINAL = ["succeeded", "failed", "cancelled"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const when = (t?: string | null) => (t ? t.slice(0, 19).replace("T", " ") : "");
const message = (e: unknown) => String((e as Error)?.message ?? e);

/** Scenarios: the tenant's scenario documents, edited with validation as
 * you type (the server's, marked on the line at fault), saved as versions
 * and diffed; a version run as a job followed live; a run's base against
 * scenario with its P5–P95 band, attribution per driver, the calibrated
 * sensitivities; up to three runs side by side. */
export function Scenarios() {
  const [list, setList] = useState<ScenarioSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The editor: `editing` once a scenario is opened or a new one started;
  // `scenarioId` null while the new one is unsaved.
  const [editing, setEditing] = useState(false);
  const [scenarioId, setScenarioId] = useState<string | null>(null);
  const [text, setText] = useState("");
  const [check, setCheck] = useState<Checked | null>(null);
  const [checking, setChecking] = useState(false);
  const [versions, setVersions] = useState<ScenarioVersion[]>([]);
  const [shown, setShown] = useState<number | null>(null);
  const [changes, setChanges] = useState<Change[] | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  // Runs: the live job, the scenario's finished runs, the one shown.
  const [job, setJob] = useState<Job | null>(null);
  const [runs, setRuns] = useState<ScenarioRun[] | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [block, setBlock] = useState<ScenarioBlock>("onpeak");
  const [picked, setPicked] = useState<Picked[]>([]);
  const [reports, setReports] = useState<Record<string, ScenarioReport>>({});
  const following = useRef<AbortController | null>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const checkSeq = useRef(0);

  const loadList = () =>
    getJson<Schemas["Data_ScenarioSummary"]>("/api/v1/scenarios").then(
      (r) => setList(r.data),
      (e) => {
        setList([]);
        setError(message(e));
      },
    );
  useEffect(() => {
    loadList();
    return () => following.current?.abort();
  }, []);

  const loadRuns = async (id: string) => {
    const r = await getJson<Schemas["Data_ScenarioRun"]>(`/api/v1/scenarios/${encodeURIComponent(id)}/runs`);
    const newest = [...r.data].sort((a, b) => b.created.localeCompare(a.created));
    setRuns(newest);
    return newest;
  };

  // Validation as you type: the server checks the text 300 ms after the
  // last keystroke; an answer to older text is dropped.
  useEffect(() => {
    if (!editing) return;
    const n = ++checkSeq.current;
    setChecking(true);
    const t = setTimeout(() => {
      const body: ScenarioDocument = { document: text };
      send<Checked>("POST", "/api/v1/scenarios/validate", body).then(
        (v) => {
          if (checkSeq.current !== n) return;
          setCheck(v);
          setChecking(false);
        },
        (e) => {
          if (checkSeq.current !== n) return;
          setChecking(false);
          setError(message(e));
        },
      );
    }, 300);
    return () => clearTimeout(t);
  }, [text, editing]);

  // The selected run's report and its calibration.
  useEffect(() => {
    if (!runId) {
      setResult(null);
      return;
    }
    let live = true;
    (async () => {
      const run = await getJson<ScenarioCurveRun>(`/api/v1/curves/runs/${encodeURIComponent(runId)}`);
      const report = run.report;
      if (!report || !Array.isArray(report.summary)) throw new Error(`curve run ${runId} holds no scenario report`);
      const calId = report.calibration?.run_id;
      let cellsError: string | null = calId ? null : "the run names no calibration run";
      const cal = calId
        ? await getJson<CalibrationRun>(`/api/v1/research/runs/${encodeURIComponent(calId)}`).catch((e) => {
            cellsError = message(e);
            return null;
          })
        : null;
      if (!live) return;
      const cells = Array.isArray(cal?.output?.cells) ? cal.output.cells : null;
      if (cal && !cells) cellsError = `calibration run ${calId} holds no cells`;
      setResult({ curveRunId: runId, run, report, cells, cellsError });
      setReports((r) => ({ ...r, [runId]: report }));
    })().catch((e) => {
      if (live) {
        setResult(null);
        setError(message(e));
      }
    });
    return () => {
      live = false;
    };
  }, [runId]);

  // Reports of the runs picked for the side-by-side table.
  useEffect(() => {
    const missing = picked.map((p) => p.run.curve_run_id).filter((id) => !reports[id]);
    if (!missing.length) return;
    let live = true;
    Promise.all(missing.map((id) => getJson<ScenarioCurveRun>(`/api/v1/curves/runs/${encodeURIComponent(id)}`))).then(
      (got) => {
        if (!live) return;
        setReports((r) => {
          const next = { ...r };
          got.forEach((run, i) => {
            if (run.report) next[missing[i]] = run.report;
          });
          return next;
        });
      },
      (e) => live && setError(message(e)),
    );
    return () => {
      live = false;
    };
  }, [picked, reports]);

  const stopFollowing = () => {
    following.current?.abort();
    following.current = null;
    setJob(null);
  };

  const startNew = () => {
    stopFollowing();
    setError(null);
    setScenarioId(null);
    setEditing(true);
    setText(EXAMPLE);
    setCheck(null);
    setVersions([]);
    setShown(null);
    setChanges(null);
    setSaved(null);
    setRuns(null);
    setRunId(null);
  };

  const open = async (id: string) => {
    stopFollowing();
    setError(null);
    try {
      const vs = await getJson<Schemas["Data_ScenarioVersion"]>(`/api/v1/scenarios/${encodeURIComponent(id)}/versions`);
      const latest = vs.data[vs.data.length - 1];
      if (!latest) throw new Error(`scenario ${id} has no versions`);
      setScenarioId(id);
      setEditing(true);
      setVersions(vs.data);
      setShown(latest.version);
      setText(latest.document);
      setCheck(null);
      setChanges(null);
      setSaved(null);
      const rs = await loadRuns(id);
      setRunId(rs[0]?.curve_run_id ?? null);
    } catch (e) {
      setError(message(e));
    }
  };

  const showVersion = (v: number) => {
    const found = versions.find((x) => x.version === v);
    if (!found) return;
    setShown(v);
    setText(found.document);
    setChanges(null);
    setSaved(null);
  };

  const save = async () => {
    setSaving(true);
    setError(null);
    setSaved(null);
    try {
      const body: ScenarioDocument = { document: text };
      const v = scenarioId
        ? await send<ScenarioVersion>("PUT", `/api/v1/scenarios/${encodeURIComponent(scenarioId)}`, body)
        : await send<ScenarioVersion>("POST", "/api/v1/scenarios", body);
      const vs = await getJson<Schemas["Data_ScenarioVersion"]>(`/api/v1/scenarios/${encodeURIComponent(v.scenario_id)}/versions`);
      if (!scenarioId) setRuns([]);
      setScenarioId(v.scenario_id);
      setVersions(vs.data);
      setShown(v.version);
      setChanges(null);
      setSaved(`version ${v.version} saved`);
      loadList();
    } catch (e) {
      setError(message(e));
    } finally {
      setSaving(false);
    }
  };

  const diffWithPrevious = async () => {
    if (!scenarioId || !shown || shown < 2) return;
    setError(null);
    try {
      const d = await getJson<Schemas["Data_Change"]>(
        `/api/v1/scenarios/${encodeURIComponent(scenarioId)}/diff?from=${shown - 1}&to=${shown}`,
      );
      setChanges(d.data);
    } catch (e) {
      setError(message(e));
    }
  };

  const runScenario = async () => {
    if (!scenarioId || shown === null) return;
    following.current?.abort();
    const ctl = new AbortController();
    following.current = ctl;
    const id = scenarioId;
    setError(null);
    try {
      const body: NewRun = { version: shown };
      const queued = await send<Job>("POST", `/api/v1/scenarios/${encodeURIComponent(id)}/runs`, body);
      const ended = await followJob(queued, setJob, 500, ctl.signal);
      if (ended.status === "succeeded") {
        await loadRuns(id);
        const cr = jobRun(ended, "curve_run");
        if (cr) setRunId(cr);
      } else if (ended.status === "failed") {
        setError(`Run ${ended.id} failed: ${ended.error ?? ended.message}`);
      }
    } catch (e) {
      if ((e as Error)?.name !== "AbortError") setError(message(e));
    }
  };

  const cancel = async () => {
    if (!job) return;
    try {
      await send<Job>("DELETE", `/api/v1/jobs/${encodeURIComponent(job.id)}`);
    } catch (e) {
      setError(message(e));
    }
  };

  const togglePick = (run: ScenarioRun, on: boolean) => {
    setPicked((p) => {
      if (!on) return p.filter((x) => x.run.curve_run_id !== run.curve_run_id);
      if (p.length >= SIDES.length || p.some((x) => x.run.curve_run_id === run.curve_run_id)) return p;
      const name = list?.find((s) => s.scenario_id === run.scenario_id)?.name ?? run.scenario_id;
      return [...p, { run, name }];
    });
  };

  const lines = lineCount(text);
  const markers = useMemo(() => new Map(errorMarkers(check?.errors ?? [], lines).map((m) => [m.line, m])), [check, lines]);
  const running = job !== null && !FINAL.includes(job.status);
  const current = versions.find((v) => v.version === shown) ?? null;
  const dirty = current ? current.document !== text : editing;
  const series = useMemo(() => (result ? blockSeries(result.report, block) : null), [result, block]);
  const side = useMemo(() => {
    const all = picked.map((p) => reports[p.run.curve_run_id]);
    return all.every(Boolean) ? sideBySide(all.map((r) => r.summary), block) : null;
  }, [picked, reports, block]);
  const name = list?.find((s) => s.scenario_id === scenarioId)?.name;

  return (
    <section aria-label="Scenarios" className="scenarios">
      <h1>Scenarios</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="scenario-layout">
        <aside aria-label="Scenario list">
          <button onClick={startNew}>New scenario</button>
          {list === null ? (
            <p className="loading">Loading…</p>
          ) : list.length === 0 ? (
            <p className="empty">No scenarios yet.</p>
          ) : (
            <ul className="scenario-list" data-testid="scenario-list">
              {list.map((s) => (
                <li key={s.scenario_id}>
                  <button
                    className="secondary"
                    aria-current={s.scenario_id === scenarioId ? "true" : undefined}
                    onClick={() => open(s.scenario_id)}
                  >
                    <strong>{s.name}</strong>
                    <span>
                      {s.market} · v{s.latest_version}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </aside>
        <div className="scenario-main">
          {!editing ? (
            <p className="empty">Open a scenario, or start a new one.</p>
          ) : (
            <>
              <h2>
                {scenarioId ? (
                  <>
                    {name ?? "Scenario"} <code>{scenarioId}</code>
                  </>
                ) : (
                  "New scenario (not saved)"
                )}
              </h2>
              <label htmlFor="scenario-document">Document (YAML or JSON)</label>
              <div className={`editor${check && !check.valid ? " invalid" : ""}`}>
                <div className="gutter" ref={gutter} aria-hidden="true">
                  {Array.from({ length: lines }, (_, i) => {
                    const n = i + 1;
                    const m = markers.get(n);
                    return (
                      <div key={n} className={m ? "ln bad" : "ln"}>
                        {m && (
                          <span className="marker" data-testid="error-marker" data-line={n} title={m.messages.join("\n")}>
                            ●
                          </span>
                        )}
                        {n}
                      </div>
                    );
                  })}
                </div>
                <textarea
                  id="scenario-document"
                  data-testid="scenario-editor"
                  value={text}
                  onChange={(e) => {
                    setText(e.target.value);
                    setSaved(null);
                  }}
                  onScroll={(e) => {
                    if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
                  }}
                  rows={Math.min(Math.max(lines + 1, 12), 30)}
                  wrap="off"
                  spellCheck={false}
                  aria-describedby="validation-status"
                  aria-invalid={check ? !check.valid : undefined}
                />
              </div>
              <div id="validation-status" className="validation" role="status" aria-live="polite" aria-busy={checking}>
                {check === null ? (
                  <p className="loading">Checking…</p>
                ) : check.valid ? (
                  <p className="ok" data-testid="validation-ok">
                    ✓ valid ({check.format})
                  </p>
                ) : (
                  check.errors.map((e, i) => (
                    <p key={i} className="error" data-testid="validation-error">
                      {describeError(e)}
                    </p>
                  ))
                )}
              </div>
              <div className="toolbar scenario-actions">
                <button onClick={save} disabled={saving || check?.valid === false}>
                  {saving ? "Saving…" : "Save"}
                </button>
                {saved && (
                  <span className="saved" data-testid="saved" role="status">
                    {saved}
                  </span>
                )}
                {versions.length > 0 && (
                  <label className="check">
                    Version{" "}
                    <select value={shown ?? ""} onChange={(e) => showVersion(Number(e.target.value))}>
                      {[...versions].reverse().map((v) => (
                        <option key={v.version} value={v.version}>
                          v{v.version} · {when(v.created)} · {v.created_by}
                        </option>
                      ))}
                    </select>
                  </label>
                )}
                {versions.length > 0 && (
                  <button className="secondary" onClick={diffWithPrevious} disabled={!shown || shown < 2}>
                    Diff with previous
                  </button>
                )}
                {dirty && scenarioId && <span className="at">unsaved changes</span>}
                <button data-testid="run-scenario" onClick={runScenario} disabled={!scenarioId || shown === null || running}>
                  {running ? "Running…" : shown ? `Run v${shown}` : "Run"}
                </button>
              </div>
              {changes && (
                <table data-testid="diff">
                  <caption>
                    Changes from v{(shown ?? 2) - 1} to v{shown}
                  </caption>
                  <thead>
                    <tr>
                      <th>Field</th>
                      <th>From</th>
                      <th>To</th>
                    </tr>
                  </thead>
                  <tbody>
                    {changes.length === 0 ? (
                      <tr>
                        <td colSpan={3} className="empty">
                          No changes.
                        </td>
                      </tr>
                    ) : (
                      changes.map((c) => (
                        <tr key={c.path}>
                          <td>
                            <code>{c.path}</code>
                          </td>
                          <td>{showValue(c.from)}</td>
                          <td>{showValue(c.to)}</td>
                        </tr>
                      ))
                    )}
                  </tbody>
                </table>
              )}
              {job && (
                <div className="run-status">
                  <progress data-testid="run-progress" max={1} value={job.progress} aria-label="Run progress" />
                  <span role="status" aria-live="polite" data-testid="run-message">
                    Job <code>{job.id}</code>: {job.status} {Math.round(job.progress * 100)}%{job.message ? ` · ${job.message}` : ""}
                  </span>
                  {running && (
                    <button className="secondary" onClick={cancel} disabled={job.cancel_requested}>
                      Cancel
                    </button>
                  )}
                </div>
              )}
              {scenarioId && (
                <>
                  <h2>Runs</h2>
                  {runs === null ? (
                    <p className="loading">Loading…</p>
                  ) : runs.length === 0 ? (
                    <p className="empty">No runs yet.</p>
                  ) : (
                    <table data-testid="runs">
                      <thead>
                        <tr>
                          <th>Run</th>
                          <th>Version</th>
                          <th>Finished</th>
                          <th>By</th>
                          <th>Side by side</th>
                          <th />
                        </tr>
                      </thead>
                      <tbody>
                        {runs.map((r) => {
                          const at = picked.findIndex((p) => p.run.curve_run_id === r.curve_run_id);
                          const selected = r.curve_run_id === runId;
                          return (
                            <tr key={r.curve_run_id} aria-current={selected ? "true" : undefined} className={selected ? "selected" : ""}>
                              <td>
                                <code>{r.curve_run_id}</code>
                              </td>
                              <td>v{r.version}</td>
                              <td>{when(r.created)}</td>
                              <td>{r.created_by}</td>
                              <td>
                                <label className="check">
                                  <input
                                    type="checkbox"
                                    aria-label={`Compare ${r.curve_run_id}`}
                                    checked={at >= 0}
                                    disabled={at < 0 && picked.length >= SIDES.length}
                                    onChange={(e) => togglePick(r, e.target.checked)}
                                  />
                                  {at >= 0 ? SIDES[at] : "compare"}
                                </label>
                              </td>
                              <td>
                                <button className="secondary" onClick={() => setRunId(r.curve_run_id)} disabled={selected} aria-label={`Show ${r.curve_run_id}`}>
                                  {selected ? "Shown" : "Show"}
                                </button>
                              </td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  )}
                </>
              )}
            </>
          )}
          {(result || picked.length > 0) && (
            <fieldset className="blocks">
              <legend>Block</legend>
              {BLOCKS.map((b) => (
                <label key={b} className="check">
                  <input type="radio" name="scenario-block" value={b} checked={block === b} onChange={() => setBlock(b)} /> {BLOCK_LABEL[b]}
                </label>
              ))}
            </fieldset>
          )}
          {result && series && (
            <section aria-label="Run results" data-testid="scenario-results">
              <h2>
                Run <code>{result.curveRunId}</code>
              </h2>
              <p className="at">
                {result.run.curve_id} marked {result.run.as_of_date}
                {typeof result.run.request?.scenario_version === "number" ? ` · version ${result.run.request.scenario_version}` : ""}
                {typeof result.run.request?.base_run_id === "string" ? ` · base ${result.run.request.base_run_id}` : ""}
                {result.report.calibration
                  ? ` · calibrated on ${result.report.calibration.start} – ${result.report.calibration.end} (${result.report.calibration.used} day-blocks, gas carried on ${result.report.calibration.gas_carried_days} days)`
                  : ""}
              </p>
              <h3>
                {BLOCK_LABEL[block]}: base and scenario{series.p5 ? ", P5–P95 band" : ""} ($/MWh)
              </h3>
              <MonthChart series={series} testId="scenario-chart" />
              <h3>Attribution</h3>
              <table data-testid="attribution-table" className="numbers">
                <thead>
                  <tr>
                    <th>Month</th>
                    <th>Block</th>
                    <th>Base</th>
                    <th>Scenario</th>
                    <th>Δ</th>
                    <th>Gas</th>
                    <th>Carbon</th>
                    <th>Load</th>
                    <th>Adder</th>
                    <th>P5 – P95</th>
                  </tr>
                </thead>
                <tbody>
                  {attributionRows(result.report.summary).map((r) => {
                    const band = result.report.bands?.find((b) => b.month === r.month && b.block === r.block);
                    return (
                      <tr key={`${r.month}-${r.block}`}>
                        <td>{r.month}</td>
                        <td>{BLOCK_LABEL[r.block as ScenarioBlock] ?? r.block}</td>
                        <td>{fmt2(r.base)}</td>
                        <td>{fmt2(r.scenario)}</td>
                        <td>{fmt2(r.delta)}</td>
                        <td>{fmt2(r.attribution?.gas)}</td>
                        <td>{fmt2(r.attribution?.carbon)}</td>
                        <td>{fmt2(r.attribution?.load)}</td>
                        <td>{fmt2(r.attribution?.adder)}</td>
                        <td>{band ? `${fmt2(band.p5)} – ${fmt2(band.p95)}` : "—"}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              <h3>Sensitivity</h3>
              <p className="at" id="sensitivity-note">
                The implied heat rate β<sub>gas</sub> (MMBtu/MWh) ± its standard error, calibrated per calendar month and block; * marks a
                cell whose own fit was not used (the pooled fit and why on hover).
              </p>
              {result.cells === null ? (
                <p className="empty">The calibration run could not be read: {result.cellsError}</p>
              ) : (
                <table data-testid="sensitivity-table" className="numbers" aria-describedby="sensitivity-note">
                  <caption>
                    β<sub>gas</sub> by calendar month × block
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Month</th>
                      {BLOCKS.map((b) => (
                        <th key={b} scope="col">
                          {BLOCK_LABEL[b]}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {sensitivityRows(result.cells).map((r) => (
                      <tr key={r.month}>
                        <th scope="row">{MONTHS[r.month - 1]}</th>
                        {BLOCKS.map((b) => {
                          const c = r.cells[b];
                          if (!c) return <td key={b}>—</td>;
                          const note = fallbackNote(c);
                          return (
                            <td key={b} data-fit={c.fit} title={note ?? `own cell fit: R² ${fmt2(c.r2)}, ${c.n} days`}>
                              {fmt2(c.beta_gas)} ± {fmt2(c.beta_gas_se)}
                              {note && (
                                <>
                                  <span className="fallback" aria-hidden="true">
                                    *
                                  </span>
                                  <span className="sr-only"> (pooled: {note})</span>
                                </>
                              )}
                            </td>
                          );
                        })}
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          )}
          {picked.length > 0 && (
            <section aria-label="Side by side">
              <h2>Side by side: {BLOCK_LABEL[block]} scenario price ($/MWh)</h2>
              {side === null ? (
                <p className="loading">Loading…</p>
              ) : (
                <table data-testid="side-by-side" className="numbers">
                  <thead>
                    <tr>
                      <th>Month</th>
                      {picked.map((p, i) => (
                        <th key={p.run.curve_run_id}>
                          {SIDES[i]}
                          <br />
                          <small>
                            {p.name} v{p.run.version} · <code>{p.run.curve_run_id}</code>
                          </small>
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {side.map((r) => (
                      <tr key={r.month}>
                        <td>{r.month}</td>
                        {r.values.map((v, i) => (
                          <td key={i}>{fmt2(v)}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <button className="secondary" onClick={() => setPicked([])}>
                Clear comparison
              </button>
            </section>
          )}
        </div>
      </div>
    </section>
  );
}

/** Months on x (labelled `YYYY-MM`), base and scenario lines, and the
 * P5–P95 band filled between its two edges (uPlot). */
function MonthChart({ series, testId }: { series: BlockSeries; testId: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el || series.months.length === 0) return;
    const xs = series.months.map((_, i) => i);
    const label = (v: number | null) => (v == null ? "" : (series.months[v] ?? ""));
    const data: (number | null)[][] = [xs, series.base, series.scenario];
    const lines: uPlot.Series[] = [
      { label: "month", value: (_u, v) => label(v) },
      { label: "base", stroke: "#64748b", width: 1.5, dash: [6, 4] },
      { label: "scenario", stroke: "#2563eb", width: 2 },
    ];
    const bands: uPlot.Band[] = [];
    if (series.p5 && series.p95) {
      data.push(series.p95, series.p5);
      lines.push({ label: "P95", stroke: "#93c5fd", width: 1 }, { label: "P5", stroke: "#93c5fd", width: 1 });
      bands.push({ series: [3, 4], fill: "rgba(37, 99, 235, 0.12)" });
    }
    const size = () => ({ width: Math.max(320, el.clientWidth), height: 320 });
    const plot = new uPlot(
      {
        ...size(),
        scales: { x: { time: false } },
        axes: [{ splits: () => xs, values: (_u, ticks) => ticks.map(label) }, { label: "$/MWh" }],
        series: lines,
        bands,
      },
      data as uPlot.AlignedData,
      el,
    );
    const resize = () => plot.setSize(size());
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [series]);
  return <div ref={host} className="chart" data-testid={testId} data-points={series.months.length} />;
}
