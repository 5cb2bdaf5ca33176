import { useCallback, useEffect, useState } from "react";
import { getJson, jobRun, send, type Job, type Schemas } from "../api";

const when = (t?: string | null) => (t ? t.slice(0, 19).replace("T", " ") : "");
const ended = (j: Job) => ["succeeded", "failed", "cancelled"].includes(j.status);

/** Durable jobs of the caller's tenant (every tenant's for admins): status,
 * progress, where the output is, why it failed; queued and running jobs can
 * be cancelled. Refreshed every two seconds while any job is unfinished. */
export function Jobs() {
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    getJson<Schemas["Data_Job"]>("/api/v1/jobs?limit=100").then(
      (r) => {
        setJobs(r.data);
        setError(null);
      },
      (e) => {
        setJobs([]);
        setError(e.message);
      },
    );
  }, []);
  useEffect(load, [load]);
  const busy = (jobs ?? []).some((j) => !ended(j));
  useEffect(() => {
    if (!busy) return;
    const t = setInterval(load, 2000);
    return () => clearInterval(t);
  }, [busy, load]);

  const cancel = async (id: string) => {
    try {
      await send<Job>("DELETE", `/api/v1/jobs/${id}`);
    } catch (e) {
      setError((e as Error).message);
    }
    load();
  };

  const output = (j: Job) => {
    const run = jobRun(j, "research_run") || jobRun(j, "curve_run");
    return run ? <code>{run}</code> : j.error ?? "";
  };

  return (
    <section aria-label="Jobs">
      <h1>Jobs</h1>
      <p>
        Analyses, backtests and curve builds running in the background (submitted with{" "}
        <code>POST /api/v1/jobs</code>, or requests that took longer than the server waits).
      </p>
      {error && <p role="alert" className="error">{error}</p>}
      {jobs === null ? <p className="loading">Loading…</p> : jobs.length === 0 ? <p className="empty">No jobs.</p> : (
        <table>
          <thead>
            <tr><th>Id</th><th>Kind</th><th>Owner</th><th>Status</th><th>Progress</th><th>Created</th><th>Finished</th><th>Output or error</th><th /></tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.id} data-testid={`job-${j.id}`} className={j.status === "failed" || j.status === "cancelled" ? "dropped" : ""}>
                <td><code>{j.id}</code></td>
                <td>{j.kind}</td>
                <td>{j.owner}</td>
                <td data-testid="status">{j.status}</td>
                <td>
                  <progress max={1} value={j.progress} aria-label={`progress of ${j.id}`} /> {j.message}
                </td>
                <td>{when(j.created)}</td>
                <td>{when(j.finished)}</td>
                <td>{output(j)}</td>
                <td>{ended(j) ? "" : <button onClick={() => cancel(j.id)} aria-label={`Cancel ${j.id}`}>Cancel</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
