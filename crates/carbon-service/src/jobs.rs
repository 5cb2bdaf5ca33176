//! Durable jobs: analyses, backtests, curve builds and scenario runs queued in the [`JobStore`], run by a
//! bounded pool of workers in `carbon serve`, cancellable, and recovered
//! after a restart.
//!
//! A worker claims the next job (the store is fair across tenants), runs it
//! through the same service call as the synchronous routes
//! ([`research::run_analysis`]), and ends it with a reference to the stored
//! output or the reason it failed. Cancelling is cooperative and prompt: a
//! job running in this process stops being waited for at once (its output,
//! if it still completes, is not stored); a flag in the store reaches
//! workers of other processes within half a second.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use carbon_core::Market;
use carbon_store::{Job, JobEnd, JobFilter, JobStatus, JobStore, Recovered};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use crate::{
    Error, Result,
    curves::{self, BuildSpec},
    research::{self, Analysis, BacktestSpec, ResearchDeps},
    scenarios::{self, RunSpec},
};

/// What a job does, with its typed specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "spec", rename_all = "snake_case")]
pub enum JobSpec {
    /// A decomposition, regime model, balance or weather fit (the body of
    /// `POST /api/v1/research/{kind}` with its `kind`).
    Analysis(Box<Analysis>),
    /// A backtest (the body of `POST /api/v1/backtests`).
    Backtest(Box<BacktestSpec>),
    /// A forward-curve build stored under its `curve_id` (the body of
    /// `POST /api/v1/curves/build`).
    CurveBuild(Box<BuildSpec>),
    /// A run of a version of one of the job tenant's scenarios.
    ScenarioRun(Box<RunSpec>),
    /// Writing an export (made by `POST /api/v1/exports`, not by hand).
    Export(Box<ExportJob>),
}

/// The export a job writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportJob {
    /// The export (`ex_…`) of the job's tenant.
    pub export_id: String,
}

impl JobSpec {
    /// The job kind stored and listed (`analysis`, `backtest`).
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::Analysis(_) => "analysis",
            JobSpec::Backtest(_) => "backtest",
            JobSpec::CurveBuild(_) => "curve_build",
            JobSpec::ScenarioRun(_) => "scenario_run",
            JobSpec::Export(_) => "export",
        }
    }

    /// The job that runs `a` (a backtest is a job of kind `backtest`).
    pub fn of_analysis(a: Analysis) -> JobSpec {
        match a {
            Analysis::Backtest(b) => JobSpec::Backtest(Box::new(b)),
            a => JobSpec::Analysis(Box::new(a)),
        }
    }

    /// The entitlement product it reads and writes (`research`, `curves`).
    pub fn product(&self) -> &'static str {
        match self {
            JobSpec::CurveBuild(_) => "curves",
            JobSpec::ScenarioRun(_) => "scenarios",
            JobSpec::Export(_) => "lmp",
            _ => "research",
        }
    }

    /// The kinds a worker knows.
    pub const KINDS: [&'static str; 4] = ["analysis", "backtest", "curve_build", "scenario_run"];

    /// Kinds the platform queues itself (never submitted as such).
    pub const INTERNAL_KINDS: [&'static str; 1] = ["export"];

    /// Reads a stored job's kind and specification, internal kinds included.
    pub fn stored(kind: &str, spec: Value) -> Result<JobSpec> {
        if Self::INTERNAL_KINDS.contains(&kind) {
            return serde_json::from_value(json!({ "kind": kind, "spec": spec }))
                .map_err(|e| Error::param("spec", e.to_string()));
        }
        Self::parse(kind, spec)
    }

    /// Reads a job's kind and specification, naming what is wrong.
    pub fn parse(kind: &str, spec: Value) -> Result<JobSpec> {
        if !Self::KINDS.contains(&kind) {
            return Err(Error::param(
                "kind",
                format!("`{kind}`: one of {}", Self::KINDS.join(", ")),
            ));
        }
        let spec: JobSpec = serde_json::from_value(json!({ "kind": kind, "spec": spec }))
            .map_err(|e| Error::param("spec", e.to_string()))?;
        if let JobSpec::Analysis(a) = &spec
            && matches!(**a, Analysis::Backtest(_))
        {
            return Err(Error::param(
                "spec",
                "a backtest is a job of kind `backtest`",
            ));
        }
        Ok(spec)
    }

    /// The analysis it runs (`None`: a curve build).
    pub fn analysis(&self) -> Option<Analysis> {
        match self {
            JobSpec::Analysis(a) => Some((**a).clone()),
            JobSpec::Backtest(b) => Some(Analysis::Backtest((**b).clone())),
            JobSpec::CurveBuild(_) | JobSpec::ScenarioRun(_) | JobSpec::Export(_) => None,
        }
    }

    /// The markets of its [`JobSpec::product`] (for the caller's entitlement
    /// check; `None` is a market-wide series).
    pub fn markets(&self) -> Result<Vec<Option<Market>>> {
        match self {
            JobSpec::CurveBuild(b) => Ok(vec![Some(b.market()?)]),
            // Entitled when the export was made (its query's instruments).
            JobSpec::Export(_) => Ok(Vec::new()),
            JobSpec::ScenarioRun(r) => Ok(vec![Some(
                r.market
                    .parse::<Market>()
                    .map_err(|e| Error::param("market", e.to_string()))?,
            )]),
            other => other.analysis().map_or(Ok(Vec::new()), |a| a.markets()),
        }
    }

    /// Refuses what can be refused without running it: limits of an
    /// analysis; ids, dates, grid and contracts of a curve build, which must
    /// name its `curve_id` (its output is the stored run).
    pub fn check(&self) -> Result<()> {
        match self {
            JobSpec::CurveBuild(b) => {
                if b.curve_id.is_none() {
                    return Err(Error::param(
                        "spec",
                        "a curve build job needs `curve_id`: its output is the stored run",
                    ));
                }
                b.check()
            }
            JobSpec::ScenarioRun(r) => {
                crate::curves::check_id("scenario", &r.scenario_id)
                    .map_err(|e| Error::param("scenario_id", e))?;
                self.markets().map(|_| ())
            }
            JobSpec::Export(x) => crate::curves::check_id("export", &x.export_id)
                .map_err(|e| Error::param("export_id", e)),
            other => other.analysis().map_or(Ok(()), |a| a.check_limits()),
        }
    }

    /// The specification as stored (without the kind).
    pub fn spec_json(&self) -> Value {
        match self {
            JobSpec::Analysis(a) => serde_json::to_value(a).unwrap_or(Value::Null),
            JobSpec::Backtest(b) => serde_json::to_value(b).unwrap_or(Value::Null),
            JobSpec::CurveBuild(b) => serde_json::to_value(b).unwrap_or(Value::Null),
            JobSpec::ScenarioRun(r) => serde_json::to_value(r).unwrap_or(Value::Null),
            JobSpec::Export(x) => serde_json::to_value(x).unwrap_or(Value::Null),
        }
    }

    /// Whether a job of `kind` left running by a stopped server is queued
    /// again (true for all: analyses, backtests, curve builds and scenario
    /// runs have no effect until they store their output at the end).
    pub fn requeue_on_restart(kind: &str) -> bool {
        Self::KINDS.contains(&kind) || Self::INTERNAL_KINDS.contains(&kind)
    }
}

/// The jobs service: submit, read, cancel, and the workers.
pub struct Jobs {
    store: Arc<dyn JobStore>,
    deps: ResearchDeps,
    exports: std::sync::OnceLock<Arc<crate::exports::Exports>>,
    wake: Notify,
    running: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// This process's worker id: its running jobs are held under it.
    worker: String,
}

/// How long a worker's hold on its running jobs lasts unless renewed; it
/// is renewed every third of that, and jobs whose hold lapsed (their
/// process died) are recovered as often.
const LEASE: Duration = Duration::from_secs(60);

/// How often an idle worker looks for work it was not woken for (jobs
/// queued by another process), and a running job for a cancel flag.
const POLL: Duration = Duration::from_millis(500);

impl Jobs {
    /// Over a job store and what analyses read and write.
    pub fn new(store: Arc<dyn JobStore>, deps: ResearchDeps) -> Arc<Jobs> {
        Arc::new(Jobs {
            store,
            deps,
            exports: std::sync::OnceLock::new(),
            wake: Notify::new(),
            running: Mutex::new(HashMap::new()),
            worker: crate::random_id("wk"),
        })
    }

    fn lease(&self) -> carbon_store::Lease {
        carbon_store::Lease {
            worker: self.worker.clone(),
            until: Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_default(),
        }
    }

    fn requeue_kinds() -> Vec<String> {
        JobSpec::KINDS
            .iter()
            .chain(JobSpec::INTERNAL_KINDS.iter())
            .filter(|k| JobSpec::requeue_on_restart(k))
            .map(|k| k.to_string())
            .collect()
    }

    /// Renews this process's hold on its running jobs, and recovers the
    /// jobs of workers whose hold lapsed (a process that died); every third
    /// of the lease.
    async fn keep_leases(self: Arc<Self>) {
        loop {
            if let Err(e) = self.store.renew(&self.lease()).await {
                tracing::error!(error = %e, "renewing the job lease failed");
            }
            match self
                .store
                .recover_lapsed(&Self::requeue_kinds(), Utc::now())
                .await
            {
                Ok(r) if r.failed + r.requeued > 0 => {
                    tracing::warn!(
                        requeued = r.requeued,
                        failed = r.failed,
                        "jobs of a stopped worker recovered"
                    );
                    self.wake.notify_waiters();
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "recovering lapsed jobs failed"),
            }
            tokio::time::sleep(LEASE / 3).await;
        }
    }

    /// Lets the workers write exports (once).
    pub fn set_exports(&self, exports: Arc<crate::exports::Exports>) {
        let _ = self.exports.set(exports);
    }

    /// Queues the job writing export `e` (made by `Exports::create…`) and
    /// notes it on the export; when the job cannot be queued the export is
    /// failed (a queued export without a job would hold a slot forever).
    pub async fn queue_export(
        &self,
        exports: &crate::exports::Exports,
        e: carbon_store::Export,
        owner: &str,
    ) -> Result<carbon_store::Export> {
        let spec = JobSpec::Export(Box::new(ExportJob {
            export_id: e.id.clone(),
        }));
        let job = match self.submit(&spec, &e.tenant, owner).await {
            Ok(j) => j,
            Err(err) => {
                let _ = exports
                    .fail(&e.tenant, &e.id, "its job could not be queued")
                    .await;
                return Err(err);
            }
        };
        exports.attach_job(&e.tenant, &e.id, &job.id).await?;
        let mut e = e;
        e.job_id = Some(job.id);
        Ok(e)
    }

    /// Queues a job after checking its specification (limits included).
    pub async fn submit(&self, spec: &JobSpec, tenant: &str, owner: &str) -> Result<Job> {
        spec.check()?;
        let job = Job::queued(
            crate::random_id("job"),
            spec.kind(),
            spec.spec_json(),
            tenant,
            owner,
            Utc::now(),
        );
        self.store.enqueue(job.clone()).await?;
        self.wake.notify_one();
        Ok(job)
    }

    /// One job.
    pub async fn get(&self, id: &str) -> Result<Option<Job>> {
        Ok(self.store.job(id).await?)
    }

    /// Jobs, newest first.
    pub async fn list(&self, filter: JobFilter) -> Result<Vec<Job>> {
        Ok(self.store.jobs(filter).await?)
    }

    /// Cancels a job: a queued one at once, a running one as soon as its
    /// worker sees it. Returns the status after the call.
    pub async fn cancel(&self, id: &str) -> Result<JobStatus> {
        let status = self
            .store
            .request_cancel(id, Utc::now())
            .await?
            .ok_or_else(|| Error::not_found(format!("no job `{id}`")))?;
        if let Some(tx) = self.lock().get(id) {
            let _ = tx.send(true);
        }
        Ok(status)
    }

    /// After a restart: jobs the stopped server left running are queued
    /// again or failed, by kind.
    pub async fn recover(&self) -> Result<Recovered> {
        Ok(self
            .store
            .recover(&Self::requeue_kinds(), Utc::now())
            .await?)
    }

    /// Runs `work` (the synchronous form of `spec`, already checked and
    /// entitled) and answers with its outcome when it ends within `budget`;
    /// otherwise hands it over to a job — recorded as running, finished when
    /// the work ends, cancellable like any job, requeued from `spec` if the
    /// server stops first — and answers with that job. `result` turns the
    /// outcome into the job's result reference.
    ///
    /// `work` gets a [`research::Progress`]: what it reports shows on the job
    /// once there is one, and it is told to stop when the job is cancelled.
    pub async fn run_or_hand_over<T, F>(
        self: &Arc<Self>,
        spec: &JobSpec,
        tenant: &str,
        owner: &str,
        budget: std::time::Duration,
        work: impl FnOnce(research::Progress) -> F,
        result: fn(&T) -> Value,
    ) -> Result<std::result::Result<T, Job>>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let job_id = Arc::new(std::sync::OnceLock::<String>::new());
        let stop_flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let report = self.reporter(job_id.clone());
        let mut task = tokio::spawn(work(research::Progress::new(report, stop_flag.clone())));
        if let Ok(done) = tokio::time::timeout(budget, &mut task).await {
            return done
                .map_err(|e| Error::Internal(format!("task failed: {e}")))?
                .map(Ok);
        }
        let now = Utc::now();
        let mut job = Job::queued(
            crate::random_id("job"),
            spec.kind(),
            spec.spec_json(),
            tenant,
            owner,
            now,
        );
        job.status = JobStatus::Running;
        job.started = Some(now);
        job.attempts = 1;
        job.message = format!(
            "taking longer than {} s: continued as a job",
            budget.as_secs()
        );
        self.store.enqueue(job.clone()).await?;
        self.store.hold(&job.id, &self.lease()).await?;
        let _ = job_id.set(job.id.clone());
        let (tx, mut rx) = watch::channel(false);
        self.lock().insert(job.id.clone(), tx);
        let me = self.clone();
        let (id, spec_kind) = (job.id.clone(), spec.kind());
        tokio::spawn(async move {
            let stop = me.cancelled(&id, &mut rx);
            let end = tokio::select! {
                r = &mut task => match r {
                    Ok(Ok(t)) => JobEnd::Succeeded(result(&t)),
                    Ok(Err(e)) => JobEnd::Failed(e.to_string()),
                    Err(e) => JobEnd::Failed(format!("task failed: {e}")),
                },
                _ = stop => {
                    stop_flag.store(true, std::sync::atomic::Ordering::Relaxed);
                    task.abort();
                    JobEnd::Cancelled
                }
            };
            me.lock().remove(&id);
            me.end(&id, spec_kind, end).await;
        });
        Ok(Err(job))
    }

    /// Starts `n` workers (at least one) and the task that keeps their
    /// lease (and recovers lapsed ones).
    pub fn start_workers(self: &Arc<Self>, n: usize) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks: Vec<_> = (0..n.max(1))
            .map(|_| tokio::spawn(self.clone().worker()))
            .collect();
        tasks.push(tokio::spawn(self.clone().keep_leases()));
        tasks
    }

    /// Completes when job `id` is to stop: its cancel signal in this
    /// process, or (for cancels asked of another process) its flag in the
    /// store, looked at every [`POLL`].
    async fn cancelled(&self, id: &str, signal: &mut watch::Receiver<bool>) {
        loop {
            if *signal.borrow() {
                return;
            }
            tokio::select! {
                r = signal.changed() => if r.is_err() { return },
                _ = tokio::time::sleep(POLL) => {
                    if let Ok(Some(j)) = self.store.job(id).await
                        && j.cancel_requested
                    {
                        return;
                    }
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<bool>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn worker(self: Arc<Self>) {
        loop {
            match self.store.claim(Utc::now(), &self.lease()).await {
                Ok(Some(job)) => self.run(job).await,
                Ok(None) => {
                    let _ = tokio::time::timeout(POLL, self.wake.notified()).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming a job failed");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    async fn run(&self, job: Job) {
        let (tx, mut rx) = watch::channel(job.cancel_requested);
        self.lock().insert(job.id.clone(), tx);
        let end = self.execute(&job, &mut rx).await;
        self.lock().remove(&job.id);
        self.end(&job.id, &job.kind, end).await;
    }

    /// Records how job `id` ended, and logs it.
    async fn end(&self, id: &str, kind: &str, end: JobEnd) {
        let label = match &end {
            JobEnd::Succeeded(_) => "succeeded",
            JobEnd::Failed(_) => "failed",
            JobEnd::Cancelled => "cancelled",
        };
        match self.store.finish(id, end, Utc::now()).await {
            Ok(_) => tracing::info!(job = %id, kind, outcome = label, "job ended"),
            Err(e) => tracing::error!(job = %id, error = %e, "could not record the job's end"),
        }
    }

    /// Writes what a computation reports on job `id` (once it is set),
    /// between 5 % (started) and 95 % (storing), without waiting.
    fn reporter(&self, id: Arc<std::sync::OnceLock<String>>) -> research::Report {
        let store = self.store.clone();
        let handle = tokio::runtime::Handle::current();
        Arc::new(move |fraction, what: &str| {
            if let Some(id) = id.get() {
                let (store, id, what) = (store.clone(), id.clone(), what.to_string());
                let f = 0.05 + 0.9 * fraction;
                handle.spawn(async move {
                    let _ = store.set_progress(&id, f, &what).await;
                });
            }
        })
    }

    async fn execute(&self, job: &Job, cancelled: &mut watch::Receiver<bool>) -> JobEnd {
        let spec = match JobSpec::stored(&job.kind, job.spec.clone()) {
            Ok(s) => s,
            Err(e) => return JobEnd::Failed(e.to_string()),
        };
        // Set when the job is cancelled: the computation stops at its next step.
        let stop_flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let work = async {
            match &spec {
                JobSpec::CurveBuild(b) => {
                    let _ = self
                        .store
                        .set_progress(&job.id, 0.05, "building the curve")
                        .await;
                    let built = async {
                        let cj = b.to_job(self.deps.store.as_ref(), &job.owner).await?;
                        curves::build(self.deps.curves.clone(), cj).await
                    };
                    built
                        .await
                        .map(|o| json!({ "curve_run": o.run_id }))
                        .map_err(|e| e.to_string())
                }
                JobSpec::Export(x) => {
                    let Some(exports) = self.exports.get() else {
                        return Err("this server writes no exports".to_string());
                    };
                    let report = self.reporter(Arc::new(job.id.clone().into()));
                    let progress = research::Progress::new(report, stop_flag.clone());
                    exports
                        .run(&job.tenant, &x.export_id, progress)
                        .await
                        .map(|e| json!({ "export": e.id, "rows": e.rows, "bytes": e.bytes }))
                        .map_err(|e| e.to_string())
                }
                JobSpec::ScenarioRun(r) => {
                    let report = self.reporter(Arc::new(job.id.clone().into()));
                    let progress = research::Progress::new(report, stop_flag.clone());
                    scenarios::run(
                        &self.deps,
                        &job.tenant,
                        &job.owner,
                        r,
                        Some(&job.id),
                        progress,
                    )
                    .await
                    .map(|o| {
                        json!({
                            "curve_run": o.curve_run_id,
                            "calibration_run": o.calibration_run_id,
                            "scenario_id": o.scenario_id,
                            "version": o.version,
                        })
                    })
                    .map_err(|e| e.to_string())
                }
                other => {
                    let Some(analysis) = other.analysis() else {
                        return Err("nothing to run".to_string());
                    };
                    let _ = self
                        .store
                        .set_progress(&job.id, 0.05, &format!("running {}", analysis.kind()))
                        .await;
                    let report = self.reporter(Arc::new(job.id.clone().into()));
                    let progress = research::Progress::new(report, stop_flag.clone());
                    research::run_analysis_with(&self.deps, &analysis, &job.owner, progress)
                        .await
                        .map(|run| json!({ "research_run": run.run_id }))
                        .map_err(|e| e.to_string())
                }
            }
        };
        let stop = self.cancelled(&job.id, cancelled);
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => match r {
                Ok(result) => JobEnd::Succeeded(result),
                Err(e) => JobEnd::Failed(e),
            },
            _ = stop => {
                stop_flag.store(true, std::sync::atomic::Ordering::Relaxed);
                // An export stopped midway notices at its next part and
                // deletes what it wrote (waited for, so no write lands after
                // the cleanup); then its folder is emptied once more.
                if let (JobSpec::Export(x), Some(exports)) = (&spec, self.exports.get()) {
                    let _ = tokio::time::timeout(Duration::from_secs(60), &mut work).await;
                    let _ = exports.abandon(&job.tenant, &x.export_id).await;
                }
                JobEnd::Cancelled
            }
        }
    }
}
