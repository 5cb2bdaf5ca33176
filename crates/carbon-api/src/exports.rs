//! Exports: the price query as a downloadable file (CSV streamed page by
//! page, or Parquet) — channel `downloads`, rate class `exports`, audited.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use carbon_auth::{Principal, Transport};
use carbon_service::{
    datasets::{DataExport, DataSpec},
    exports::{BRIEF_DATASET, DownloadError, ExportFormat, ExportSpec, Exports},
};
use carbon_store::Export;
use carbon_store::PriceQuery;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use carbon_service::rfc3339;

use crate::prices::{
    CSV_COLUMNS, Format, PriceParams, csv_body, csv_response, entitle_query, format,
    parquet_response, price_query, push_csv_rows,
};
use crate::{AppState, catalog::Data, error::ApiError, params::Query};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_prices))
        .routes(routes!(list_exports, create_export))
        .routes(routes!(estimate_export))
        .routes(routes!(get_export, cancel_export))
        .routes(routes!(create_link))
        .routes(routes!(download))
}

/// A CSV export of the whole query, streamed: the store is read a page at a
/// time (keyset pagination) and each page is sent as it comes, so memory stays
/// bounded by one page however long the export.
pub(crate) fn csv_stream(s: &AppState, q: PriceQuery) -> Response {
    let store = s.store.clone();
    let page_rows = s.settings.export_page_rows.max(1);
    let pages = futures_util::stream::unfold(Some((q, true)), move |state| {
        let store = store.clone();
        async move {
            let (mut q, first) = state?;
            q.limit = Some(page_rows);
            match store.query_prices(q.clone()).await {
                Ok(page) => {
                    let mut text = String::with_capacity(64 * (page.rows.len() + 1));
                    if first {
                        text.push_str(CSV_COLUMNS);
                        text.push('\n');
                    }
                    push_csv_rows(&mut text, &page.rows);
                    let next = page.next_cursor.map(|c| {
                        q.cursor = Some(c);
                        (q, false)
                    });
                    Some((Ok::<_, std::io::Error>(text), next))
                }
                Err(e) => {
                    // Headers are gone: the only way to say it is to cut the body.
                    tracing::error!(error = %e, "export stream failed");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let mut resp = axum::body::Body::from_stream(pages).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    resp
}

/// `GET /api/v1/exports/prices`: the price query as a file (CSV by default,
/// or Parquet) — channel `downloads`, rate class `exports`, audited. Takes
/// the price query's parameters; `format` is `csv` (default) or `parquet`.
#[utoipa::path(get, path = "/api/v1/exports/prices", tag = "exports", params(PriceParams),
    responses((status = 200, description = "The file (`Content-Disposition: attachment`); CSV without `limit`/`cursor` is the whole range, streamed",
        content((String = "text/csv"), (Vec<u8> = "application/vnd.apache.parquet")))))]
pub(crate) async fn export_prices(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<PriceParams>,
) -> Result<Response, ApiError> {
    let fmt = format(
        p.format.as_deref(),
        Format::Csv,
        &[Format::Csv, Format::Parquet],
    )?;
    let (q, _) = price_query(&p)?;
    let route = "/api/v1/exports/prices";
    entitle_query(&s, &who, &q, Transport::Download, route).await?;
    let ids: Vec<&str> = q.instruments.iter().map(|i| i.as_str()).collect();
    let detail = json!({
        "instruments": ids, "start": rfc3339(q.start), "end": rfc3339(q.end),
        "format": format!("{fmt:?}").to_lowercase(),
    });
    let audit = |rows: Value| {
        let mut d = detail;
        d["rows"] = rows;
        let (s, who) = (s.clone(), who.clone());
        async move {
            s.access
                .audit(
                    &who.actor(),
                    Some(&who.tenant),
                    "export",
                    Some(route),
                    "ok",
                    d,
                )
                .await;
        }
    };
    if fmt == Format::Csv && p.limit.is_none() && p.cursor.is_none() {
        // Once streaming, an error can only cut the body: what the query
        // itself gets wrong (an unknown instrument) is answered first.
        let mut probe = q.clone();
        probe.limit = Some(1);
        s.store.query_prices(probe).await?;
        audit(json!("streamed")).await;
        let mut resp = csv_stream(&s, q);
        resp.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"prices.csv\""),
        );
        return Ok(resp);
    }
    let page = s.store.query_prices(q).await?;
    audit(json!(page.rows.len())).await;
    let (mut resp, name) = if fmt == Format::Parquet {
        (
            parquet_response(page.rows, page.next_cursor.as_deref()).await?,
            "prices.parquet",
        )
    } else {
        (
            csv_response(csv_body(&page.rows), page.next_cursor.as_deref()),
            "prices.csv",
        )
    };
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// An export to make: the `/prices` query and the file format.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewExport {
    /// `prices` (default), `fundamentals`, `curve_run` or `research_run`.
    #[serde(default)]
    dataset: Option<String>,
    /// The dataset's query string. Prices: every parameter of `GET
    /// /api/v1/prices` but `format`, `limit` and `cursor`, e.g.
    /// `instrument_id=MISO.INDIANA.HUB&start=2021-01-01&end=2021-04-01`.
    /// Fundamentals: `entity`, `variable`, optional `start`, `end`, `as_of`,
    /// `scenario_id`. A curve run or a research run: `run_id`.
    query: String,
    /// `csv` (default), `parquet`, `jsonl` or `xlsx`.
    #[serde(default)]
    format: Option<ExportFormat>,
    /// Gzip each part.
    #[serde(default)]
    gzip: bool,
    /// The same key again returns the first export (a retried request makes one export).
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// The query of a fundamentals export.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FundamentalsQuery {
    entity: String,
    variable: String,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    as_of: Option<String>,
    #[serde(default)]
    scenario_id: Option<String>,
}

/// The query of a curve-run or research-run export.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunQuery {
    run_id: String,
}

/// A link to ask for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewLink {
    /// A part's name from the manifest, or `manifest.json`.
    pub(crate) file: String,
    /// Seconds the link is good for (default 86,400; at most 7 days).
    #[serde(default)]
    ttl_seconds: Option<u64>,
}

impl NewLink {
    /// The link's lifetime, checked.
    pub(crate) fn ttl(&self) -> Result<chrono::Duration, ApiError> {
        let ttl = self.ttl_seconds.unwrap_or(86_400);
        if !(1..=7 * 86_400).contains(&ttl) {
            return Err(ApiError::param("ttl_seconds", "1 to 604800 seconds"));
        }
        Ok(chrono::Duration::seconds(ttl as i64))
    }
}

/// A signed link.
#[derive(Serialize, ToSchema)]
pub(crate) struct Link {
    /// What to GET, no credential needed (the signature is one): a path
    /// `carbon` serves, or the object store's own presigned URL (S3).
    url: String,
    /// When it stops working (RFC 3339).
    expires: String,
}

impl Link {
    pub(crate) fn new(url: String, expires: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            url,
            expires: rfc3339(expires),
        }
    }
}

/// What an export would hold.
#[derive(Serialize, ToSchema)]
pub(crate) struct ExportEstimate {
    /// Rows, at most.
    rows: u64,
    /// Bytes, roughly.
    bytes: u64,
    /// Parts (calendar months).
    parts: u32,
    /// Whether the tenant's limits let it run.
    within_limits: bool,
}

/// A signed download's parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DownloadParams {
    /// Unix time the link expires.
    expires: i64,
    /// The signature.
    sig: String,
}

impl AppState {
    pub(crate) fn exports_service(&self) -> Result<&std::sync::Arc<Exports>, ApiError> {
        self.exports
            .as_ref()
            .ok_or_else(|| ApiError::not_found("this server keeps no exports"))
    }

    /// Cancels export (or brief) `e`: its job stops; a queued one is
    /// abandoned at once. The record after the cancel.
    pub(crate) async fn cancel_record(&self, e: Export) -> Result<Export, ApiError> {
        let exports = self.exports_service()?;
        if let Some(job) = &e.job_id {
            self.jobs.cancel(job).await?;
        }
        if e.status == "queued" {
            exports.abandon(&e.tenant, &e.id).await?;
        }
        Ok(exports.get(&e.tenant, &e.id).await?)
    }

    /// A link to `b.file` of `e` (already entitled), 201.
    pub(crate) async fn mint_link(&self, e: &Export, b: &NewLink) -> Result<Response, ApiError> {
        let ttl = b.ttl()?;
        let now = chrono::Utc::now();
        let url = self.exports_service()?.link(e, &b.file, ttl, now).await?;
        Ok((StatusCode::CREATED, Json(Link::new(url, now + ttl))).into_response())
    }

    /// A data export of the caller's tenant (briefs are the reports routes').
    async fn data_export(&self, who: &Principal, id: &str) -> Result<Export, ApiError> {
        let e = self.exports_service()?.get(&who.tenant, id).await?;
        if e.dataset == BRIEF_DATASET {
            return Err(ApiError::not_found(format!("no export `{id}`")));
        }
        Ok(e)
    }

    /// Asks for `product` on `market` through the caller's downloads channel.
    async fn entitle_download(
        &self,
        who: &Principal,
        market: Option<carbon_core::Market>,
        product: &str,
        route: &str,
    ) -> Result<(), ApiError> {
        let ask = carbon_auth::policy::Ask {
            market,
            product,
            channel: who.channel(Transport::Download),
            instrument: None,
            range: None,
        };
        self.entitle(who, &ask, route).await
    }

    /// Whether `who` may download `data` (else 403, audited; a run another
    /// tenant's scenario made is 404, as if it did not exist).
    async fn entitle_data(
        &self,
        who: &Principal,
        data: &DataSpec,
        route: &str,
    ) -> Result<(), ApiError> {
        match data {
            DataSpec::Fundamentals { entity, .. } => {
                self.entitle_download(
                    who,
                    carbon_service::research::entity_market(entity),
                    "fundamentals",
                    route,
                )
                .await
            }
            DataSpec::CurveRun { run_id } => {
                let missing = || ApiError::not_found(format!("no curve run `{run_id}`"));
                let run = self.curves.curve_run(run_id).await?.ok_or_else(missing)?;
                if !self.owns_curve_run(who, &run).await? {
                    return Err(missing());
                }
                self.entitle_download(who, run.market.parse().ok(), "curves", route)
                    .await
            }
            DataSpec::ResearchRun { run_id } => {
                let missing = || ApiError::not_found(format!("no research run `{run_id}`"));
                let r = self
                    .research_deps()
                    .research
                    .research_run(run_id)
                    .await?
                    .ok_or_else(missing)?;
                match crate::research::scenario_of(&r) {
                    Some(scenario) => {
                        let v = self
                            .scenarios
                            .scenario_version(&who.tenant, scenario, None)
                            .await?
                            .ok_or_else(missing)?;
                        self.entitle_download(who, v.market.parse().ok(), "scenarios", route)
                            .await
                    }
                    None => {
                        for m in crate::research::run_markets(&r) {
                            self.entitle_download(who, m, "research", route).await?;
                        }
                        Ok(())
                    }
                }
            }
        }
    }

    /// A non-price dataset's export, read from the query string and
    /// entitled: fundamentals by the entity's market, a curve run as the
    /// curves routes show it (a scenario's only to its tenant), a research
    /// run as `/research/runs/{id}` shows it.
    async fn data_spec(
        &self,
        who: &Principal,
        dataset: &str,
        b: &NewExport,
        route: &str,
    ) -> Result<DataExport, ApiError> {
        let q = b.query.trim_start_matches('?');
        let instant = |k: &str,
                       v: &Option<String>|
         -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
            v.as_deref()
                .map(|v| {
                    carbon_core::time::parse_instant(v, None)
                        .map_err(|e| ApiError::param(k, e.to_string()))
                })
                .transpose()
        };
        let data = match dataset {
            "fundamentals" => {
                let p: FundamentalsQuery = crate::params::parse(q)?;
                DataSpec::Fundamentals {
                    entity: p.entity,
                    variable: p.variable,
                    start: instant("start", &p.start)?,
                    end: instant("end", &p.end)?,
                    as_of: instant("as_of", &p.as_of)?,
                    scenario_id: p.scenario_id,
                }
            }
            "curve_run" => DataSpec::CurveRun {
                run_id: crate::params::parse::<RunQuery>(q)?.run_id,
            },
            "research_run" => DataSpec::ResearchRun {
                run_id: crate::params::parse::<RunQuery>(q)?.run_id,
            },
            other => {
                return Err(ApiError::param(
                    "dataset",
                    format!("`{other}`: prices, fundamentals, curve_run or research_run"),
                ));
            }
        };
        self.entitle_data(who, &data, route).await?;
        Ok(DataExport {
            data,
            format: b.format.unwrap_or(ExportFormat::Csv),
            gzip: b.gzip,
            idempotency_key: b.idempotency_key.clone(),
        })
    }

    async fn export_spec(
        &self,
        who: &Principal,
        b: NewExport,
        route: &str,
    ) -> Result<ExportSpec, ApiError> {
        let p: PriceParams = crate::params::parse(b.query.trim_start_matches('?'))?;
        if p.format.is_some() || p.limit.is_some() || p.cursor.is_some() {
            return Err(ApiError::param(
                "query",
                "`format`, `limit` and `cursor` are the export's, not the query's",
            ));
        }
        let (q, _) = price_query(&p)?;
        entitle_query(self, who, &q, Transport::Download, route).await?;
        Ok(ExportSpec {
            prices: q,
            format: b.format.unwrap_or(ExportFormat::Csv),
            gzip: b.gzip,
            idempotency_key: b.idempotency_key,
            feed: None,
        })
    }
}

/// Queues an export of a price query (channel `downloads`): a job writes one
/// part per month and then the manifest; 202 with the export. The same
/// `idempotency_key` again answers 200 with the first export.
#[utoipa::path(post, path = "/api/v1/exports", tag = "exports", request_body = NewExport,
    responses((status = 202, description = "Queued", body = Export),
              (status = 200, description = "The export made earlier with this idempotency key", body = Export)))]
pub(crate) async fn create_export(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/exports";
    let b: NewExport = crate::auth::body(&bytes)?;
    Exports::check_user_key(b.idempotency_key.as_deref())?;
    let exports = s.exports_service()?;
    let dataset = b.dataset.clone().unwrap_or_else(|| "prices".into());
    let (e, fresh, detail) = if dataset == "prices" {
        let spec = s.export_spec(&who, b, ROUTE).await?;
        let (e, fresh) = exports.create(&who.tenant, &who.actor(), &spec).await?;
        let ids: Vec<&str> = spec.prices.instruments.iter().map(|i| i.as_str()).collect();
        let detail = json!({ "instruments": ids, "start": rfc3339(spec.prices.start),
                             "end": rfc3339(spec.prices.end), "format": spec.format });
        (e, fresh, detail)
    } else {
        let spec = s.data_spec(&who, &dataset, &b, ROUTE).await?;
        let (e, fresh) = exports
            .create_data(&who.tenant, &who.actor(), &spec)
            .await?;
        (
            e,
            fresh,
            json!({ "query": spec.data, "format": spec.format }),
        )
    };
    if !fresh {
        return Ok(Json(e).into_response());
    }
    let e = s.jobs.queue_export(exports, e, &who.actor()).await?;
    let mut detail = detail;
    detail["export"] = json!(e.id);
    detail["dataset"] = json!(dataset);
    s.access
        .audit(
            &who.actor(),
            Some(&who.tenant),
            "export",
            Some(ROUTE),
            "queued",
            detail,
        )
        .await;
    let mut resp = (StatusCode::ACCEPTED, Json(e.clone())).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/exports/{}", e.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Rows, bytes and parts an export would hold, and whether it fits the limits.
#[utoipa::path(post, path = "/api/v1/exports/estimate", tag = "exports", request_body = NewExport,
    responses((status = 200, description = "The estimate", body = ExportEstimate)))]
pub(crate) async fn estimate_export(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Result<Json<ExportEstimate>, ApiError> {
    let b: NewExport = crate::auth::body(&bytes)?;
    if b.dataset.as_deref().is_some_and(|d| d != "prices") {
        return Err(ApiError::param(
            "dataset",
            "estimates are of price exports (the other datasets are one small part each)",
        ));
    }
    let spec = s.export_spec(&who, b, "/api/v1/exports/estimate").await?;
    let exports = s.exports_service()?;
    let e = exports.estimate(&spec).await?;
    Ok(Json(ExportEstimate {
        rows: e.rows,
        bytes: e.bytes,
        parts: e.parts,
        within_limits: e.rows <= exports.limits().max_rows,
    }))
}

/// List parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportListParams {
    /// Most exports (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The caller's tenant's exports, newest first.
#[utoipa::path(get, path = "/api/v1/exports", tag = "exports", params(ExportListParams),
    responses((status = 200, description = "Exports", body = Data<Export>)))]
pub(crate) async fn list_exports(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<ExportListParams>,
) -> Result<Json<Data<Export>>, ApiError> {
    s.scope(
        &who,
        None,
        Some("lmp"),
        Transport::Download,
        "/api/v1/exports",
    )
    .await?;
    let limit = crate::catalog::limit(p.limit, 50, 1000)?;
    // Briefs are listed under /api/v1/reports.
    let mut data = s.exports_service()?.list(&who.tenant, 10_000).await?;
    data.retain(|e| e.dataset != BRIEF_DATASET);
    data.truncate(limit);
    Ok(Json(Data { data }))
}

/// One export of the caller's tenant: status, totals, manifest.
#[utoipa::path(get, path = "/api/v1/exports/{id}", tag = "exports",
    params(("id" = String, Path, description = "The export")),
    responses((status = 200, description = "The export", body = Export)))]
pub(crate) async fn get_export(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Export>, ApiError> {
    Ok(Json(s.data_export(&who, &id).await?))
}

/// Cancels an export: its job stops, the parts written so far are deleted.
#[utoipa::path(delete, path = "/api/v1/exports/{id}", tag = "exports",
    params(("id" = String, Path, description = "The export")),
    responses((status = 200, description = "The export after the cancel", body = Export)))]
pub(crate) async fn cancel_export(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Export>, ApiError> {
    let e = s.data_export(&who, &id).await?;
    Ok(Json(s.cancel_record(e).await?))
}

/// A signed, expiring link to one file of a finished export.
#[utoipa::path(post, path = "/api/v1/exports/{id}/links", tag = "exports", request_body = NewLink,
    params(("id" = String, Path, description = "The export")),
    responses((status = 201, description = "The link", body = Link)))]
pub(crate) async fn create_link(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/exports/{id}/links";
    let b: NewLink = crate::auth::body(&bytes)?;
    b.ttl()?; // a bad lifetime is refused before anything is looked up
    let e = s.data_export(&who, &id).await?;
    // A link hands the data out: the caller must still be entitled to it.
    let gone = || ApiError::not_found(format!("no export `{id}`"));
    if e.dataset == "prices" {
        let spec: ExportSpec = serde_json::from_value(e.spec.clone()).map_err(|_| gone())?;
        entitle_query(&s, &who, &spec.prices, Transport::Download, ROUTE).await?;
    } else {
        let spec: DataExport = serde_json::from_value(e.spec.clone()).map_err(|_| gone())?;
        s.entitle_data(&who, &spec.data, ROUTE).await?;
    }
    s.mint_link(&e, &b).await
}

/// A file behind a signed link (no credential: the signature is one). A
/// tampered, expired or other-tenant link is refused (403, audited).
#[utoipa::path(get, path = "/api/v1/downloads/{tenant}/{id}/{file}", tag = "exports",
    params(("tenant" = String, Path, description = "The export's tenant"),
           ("id" = String, Path, description = "The export"),
           ("file" = String, Path, description = "A part or `manifest.json`"), DownloadParams),
    responses((status = 200, description = "The file", content((Vec<u8> = "application/octet-stream")))))]
pub(crate) async fn download(
    State(s): State<AppState>,
    Path((tenant, id, file)): Path<(String, String, String)>,
    Query(p): Query<DownloadParams>,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/downloads/{tenant}/{id}/{file}";
    let exports = s.exports_service()?;
    let refuse = |why: &'static str| {
        let s = s.clone();
        let (tenant, id, file) = (tenant.clone(), id.clone(), file.clone());
        async move {
            s.access
                .audit(
                    "link",
                    Some(&tenant),
                    "download_refused",
                    Some(ROUTE),
                    "denied",
                    json!({ "export": id, "file": file, "reason": why }),
                )
                .await;
            // One answer whatever the reason (the audit log keeps it).
            ApiError::forbidden("this link is refused (tampered, expired, or not for this file)")
        }
    };
    // The signature first: nothing is looked up for a link that does not check.
    let now = chrono::Utc::now();
    if let Err(why) = exports.verify_link(&tenant, &id, &file, p.expires, &p.sig, now) {
        return Err(refuse(why).await);
    }
    let Ok(e) = exports.get(&tenant, &id).await else {
        return Err(refuse("no such export").await);
    };
    match exports
        .download_stream(&e, &file, p.expires, &p.sig, now)
        .await
    {
        Ok((stream, size)) => {
            let body = axum::body::Body::from_stream(futures_util::StreamExt::map(stream, |c| {
                c.map_err(std::io::Error::other)
            }));
            // A brief's HTML opens in the browser (it needs nothing but its
            // own inline styles: the policy forbids everything else, scripts
            // included); everything else is a download.
            let (ct, inline) = if file.ends_with(".html") {
                ("text/html; charset=utf-8", true)
            } else if file.ends_with(".pdf") {
                ("application/pdf", false)
            } else if file.ends_with(".json") || file.ends_with(".jsonl") {
                ("application/json", false)
            } else if file.ends_with(".csv") {
                ("text/csv; charset=utf-8", false)
            } else {
                ("application/octet-stream", false)
            };
            let mut resp = (StatusCode::OK, body).into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            if inline {
                h.insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
                    ),
                );
            }
            let disposition = if inline { "inline" } else { "attachment" };
            if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{file}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(resp)
        }
        Err(DownloadError::Refused(why)) => Err(refuse(why).await),
        Err(DownloadError::Missing) => Err(ApiError::not_found(format!("no file `{file}`"))),
    }
}
