//! Monthly market briefs (channel `reports`, product `lmp` of the market):
//! asked for as jobs, listed, shown, cancelled, and handed out by signed
//! link (HTML to open, PDF to download). What the caller may see is fixed
//! when the brief is asked for: only the hubs its grants name, curves and
//! fundamentals only with those products.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use carbon_auth::policy::{BriefView, brief_view};
use carbon_auth::{Principal, Transport};
use carbon_core::Market;
use carbon_service::{
    exports::{BRIEF_DATASET, Exports},
    reports::{BriefSpec, market_hubs, month_range},
};
use carbon_store::Export;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    catalog::Data,
    error::ApiError,
    exports::{Link, NewLink},
    params::Query,
};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reports, create_report))
        .routes(routes!(get_report, cancel_report))
        .routes(routes!(report_link))
}

/// A brief to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewReport {
    /// The market, e.g. `MISO`.
    market: String,
    /// The month on the market clock, `YYYY-MM`.
    month: String,
    /// The same key again returns the first brief.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// List parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportListParams {
    /// Only this market.
    market: Option<String>,
    /// Most briefs (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

fn market_of(e: &Export) -> Option<Market> {
    e.spec["market"].as_str().and_then(|m| m.parse().ok())
}

impl AppState {
    /// A brief of the caller's tenant (404 for exports and other tenants'),
    /// after checking the caller may still read its market's reports.
    async fn brief(&self, who: &Principal, id: &str, route: &str) -> Result<Export, ApiError> {
        let exports = self.exports_service()?;
        let e = exports.get(&who.tenant, id).await?;
        if e.dataset != BRIEF_DATASET {
            return Err(ApiError::not_found(format!("no report `{id}`")));
        }
        self.scope(who, market_of(&e), Some("lmp"), Transport::Report, route)
            .await?;
        Ok(e)
    }

    /// What `who` may see in a brief of `spec`'s market and month (the
    /// policy's `brief_view` over the market's hubs; 403, audited, when no
    /// brief of the market at all).
    async fn brief_view(
        &self,
        who: &Principal,
        spec: &BriefSpec,
        route: &str,
    ) -> Result<BriefView, ApiError> {
        let range = month_range(spec)?;
        let hubs: Vec<String> = market_hubs(self.store.as_ref(), spec.market)
            .await?
            .into_iter()
            .map(|h| h.as_str().to_string())
            .collect();
        match brief_view(
            &self.access.grants(),
            &who.tenant,
            spec.market,
            range,
            &hubs,
        ) {
            Ok(v) => Ok(v),
            Err(why) => {
                self.deny(who, route, &why).await;
                Err(ApiError::forbidden(why))
            }
        }
    }
}

/// Queues a monthly market brief (HTML and PDF) of a market's month; 202
/// with the brief, 200 with the first one for a used idempotency key.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports", request_body = NewReport,
    responses((status = 202, description = "Queued", body = Export),
              (status = 200, description = "The brief made earlier with this idempotency key", body = Export)))]
pub(crate) async fn create_report(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/reports";
    let b: NewReport = crate::auth::body(&bytes)?;
    let market: Market = b
        .market
        .parse()
        .map_err(|e: carbon_core::Error| ApiError::param("market", e.to_string()))?;
    Exports::check_user_key(b.idempotency_key.as_deref())?;
    let mut spec = BriefSpec {
        market,
        month: b.month,
        hubs: None,
        curves: false,
        fundamentals: false,
        market_wide: false,
        feed: None,
    };
    let v = s.brief_view(&who, &spec, ROUTE).await?;
    spec.hubs = Some(v.hubs);
    spec.curves = v.curves;
    spec.fundamentals = v.fundamentals;
    spec.market_wide = v.market_wide;
    let exports = s.exports_service()?;
    let (e, fresh) = exports
        .create_report(&who.tenant, &who.actor(), &spec, b.idempotency_key)
        .await?;
    if !fresh {
        return Ok(Json(e).into_response());
    }
    let e = s.jobs.queue_export(exports, e, &who.actor()).await?;
    s.access
        .audit(
            &who.actor(),
            Some(&who.tenant),
            "report",
            Some(ROUTE),
            "queued",
            json!({ "report": e.id, "market": market.code(), "month": spec.month }),
        )
        .await;
    let mut resp = (StatusCode::ACCEPTED, Json(e.clone())).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/reports/{}", e.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// The caller's tenant's briefs (of markets it may read reports of), newest first.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportListParams),
    responses((status = 200, description = "Briefs", body = Data<Export>)))]
pub(crate) async fn list_reports(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<ReportListParams>,
) -> Result<Json<Data<Export>>, ApiError> {
    const ROUTE: &str = "/api/v1/reports";
    let market: Option<Market> = p
        .market
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: carbon_core::Error| ApiError::param("market", e.to_string()))?;
    let scope = s
        .scope(&who, market, Some("lmp"), Transport::Report, ROUTE)
        .await?;
    let limit = crate::catalog::limit(p.limit, 50, 1000)?;
    let all = s.exports_service()?.list(&who.tenant, 10_000).await?;
    let data = all
        .into_iter()
        .filter(|e| e.dataset == BRIEF_DATASET)
        .filter(|e| {
            market_of(e).is_some_and(|m| market.is_none_or(|x| x == m) && scope.sees_market(m))
        })
        .take(limit)
        .collect();
    Ok(Json(Data { data }))
}

/// One brief: status, files (in the manifest), expiry.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "The brief")),
    responses((status = 200, description = "The brief", body = Export)))]
pub(crate) async fn get_report(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Export>, ApiError> {
    Ok(Json(s.brief(&who, &id, "/api/v1/reports/{id}").await?))
}

/// Cancels a queued or running brief (a finished one is left as it is).
#[utoipa::path(delete, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "The brief")),
    responses((status = 200, description = "The brief after the cancel", body = Export)))]
pub(crate) async fn cancel_report(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Export>, ApiError> {
    let e = s.brief(&who, &id, "/api/v1/reports/{id}").await?;
    Ok(Json(s.cancel_record(e).await?))
}

/// A signed, expiring link to the brief's HTML, PDF or manifest.
#[utoipa::path(post, path = "/api/v1/reports/{id}/links", tag = "reports", request_body = NewLink,
    params(("id" = String, Path, description = "The brief")),
    responses((status = 201, description = "The link", body = Link)))]
pub(crate) async fn report_link(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: NewLink = crate::auth::body(&bytes)?;
    b.ttl()?; // a bad lifetime is refused before anything is looked up
    const ROUTE: &str = "/api/v1/reports/{id}/links";
    let e = s.brief(&who, &id, ROUTE).await?;
    // A link hands the brief out: what it shows must still be the caller's
    // (grants narrowed since, or a brief an operator made of the whole
    // market, are refused).
    let spec: BriefSpec = serde_json::from_value(e.spec.clone())
        .map_err(|_| ApiError::not_found(format!("no report `{id}`")))?;
    let now_view = s.brief_view(&who, &spec, ROUTE).await?;
    let shown: Vec<String> = match &spec.hubs {
        Some(h) => h.clone(),
        None => market_hubs(s.store.as_ref(), spec.market)
            .await?
            .into_iter()
            .map(|h| h.as_str().to_string())
            .collect(),
    };
    let wider = shown.iter().any(|h| !now_view.hubs.contains(h))
        || (spec.curves && !now_view.curves)
        || (spec.fundamentals && !now_view.fundamentals)
        || (spec.market_wide && !now_view.market_wide);
    if wider {
        let why = format!(
            "report `{id}` shows more than tenant `{}` may now see",
            who.tenant
        );
        s.deny(&who, ROUTE, &why).await;
        return Err(ApiError::forbidden(why));
    }
    s.mint_link(&e, &b).await
}
