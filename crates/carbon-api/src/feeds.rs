//! Scheduled feeds (channel `downloads`, product `lmp` of every instrument):
//! made, listed, paused, deleted, fired by hand, and their runs. The
//! entitlement is asked when a feed is made and again by the scheduler at
//! every firing.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use carbon_auth::{Principal, Transport};
use carbon_service::feeds::{FeedKind, FeedSpec, Feeds};
use carbon_store::{Export, Feed};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{AppState, catalog::Data, error::ApiError, prices::entitle_query};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_feeds, create_feed))
        .routes(routes!(feed_destinations))
        .routes(routes!(get_feed, update_feed, delete_feed))
        .routes(routes!(feed_runs))
        .routes(routes!(run_feed))
}

/// A feed to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewFeed {
    /// A name (unique in the tenant).
    name: String,
    /// What, when and where.
    spec: FeedSpec,
    /// Also fire it at once (for today's market day) instead of waiting for
    /// its first slot.
    #[serde(default)]
    run_now: bool,
}

/// A change to a feed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedPatch {
    /// Pause (`false`) or resume (`true`).
    enabled: bool,
}

/// Destinations the caller's feeds may name.
#[derive(Serialize, ToSchema)]
pub(crate) struct Destinations {
    /// Names (the download center needs none).
    data: Vec<String>,
}

impl AppState {
    fn feeds_service(&self) -> Result<&std::sync::Arc<Feeds>, ApiError> {
        self.feeds
            .as_ref()
            .ok_or_else(|| ApiError::not_found("this server keeps no feeds"))
    }

    /// What a feed would deliver now must be the caller's: a price feed's
    /// query on the downloads channel, a brief feed's market on `reports`.
    async fn entitle_feed(
        &self,
        who: &Principal,
        spec: &FeedSpec,
        route: &str,
    ) -> Result<(), ApiError> {
        let market = spec.check()?;
        if spec.kind == FeedKind::Brief {
            self.scope(who, Some(market), Some("lmp"), Transport::Report, route)
                .await?;
            return Ok(());
        }
        let (q, _, _) = spec.query(chrono::Utc::now())?;
        entitle_query(self, who, &q, Transport::Download, route).await
    }

    /// Feeds are the `downloads` channel's (prices) and the `reports`
    /// channel's (briefs): either lets a tenant see and manage its feeds.
    async fn feeds_scope(&self, who: &Principal, route: &str) -> Result<(), ApiError> {
        let reports = who.channel(Transport::Report);
        if !self
            .access
            .scope(who, None, Some("lmp"), reports)
            .is_empty()
        {
            return Ok(());
        }
        self.scope(who, None, Some("lmp"), Transport::Download, route)
            .await
            .map(|_| ())
    }
}

/// The caller's tenant's feeds, by name.
#[utoipa::path(get, path = "/api/v1/feeds", tag = "feeds",
    responses((status = 200, description = "Feeds", body = Data<Feed>)))]
pub(crate) async fn list_feeds(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Data<Feed>>, ApiError> {
    s.feeds_scope(&who, "/api/v1/feeds").await?;
    Ok(Json(Data {
        data: s.feeds_service()?.list(&who.tenant).await?,
    }))
}

/// Makes a feed: due at its next slot (or at once with `run_now`). Every
/// instrument must be the tenant's to download.
#[utoipa::path(post, path = "/api/v1/feeds", tag = "feeds", request_body = NewFeed,
    responses((status = 201, description = "Made", body = Feed)))]
pub(crate) async fn create_feed(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/feeds";
    let b: NewFeed = crate::auth::body(&bytes)?;
    let feeds = s.feeds_service()?;
    s.entitle_feed(&who, &b.spec, ROUTE).await?;
    let f = feeds
        .create(&who.tenant, &who.actor(), &b.name, b.spec, b.run_now)
        .await?;
    s.access
        .audit(
            &who.actor(),
            Some(&who.tenant),
            "feed_created",
            Some(ROUTE),
            "ok",
            json!({ "feed": f.id, "name": f.name, "spec": f.spec }),
        )
        .await;
    Ok((StatusCode::CREATED, Json(f)).into_response())
}

/// The destinations the caller's feeds may name (configured by the operator).
#[utoipa::path(get, path = "/api/v1/feeds/destinations", tag = "feeds",
    responses((status = 200, description = "Destination names", body = Destinations)))]
pub(crate) async fn feed_destinations(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Destinations>, ApiError> {
    s.feeds_scope(&who, "/api/v1/feeds/destinations").await?;
    Ok(Json(Destinations {
        data: s.feeds_service()?.destinations(&who.tenant),
    }))
}

/// One feed: its spec, next slot, last run and success, failures in a row.
#[utoipa::path(get, path = "/api/v1/feeds/{id}", tag = "feeds",
    params(("id" = String, Path, description = "The feed")),
    responses((status = 200, description = "The feed", body = Feed)))]
pub(crate) async fn get_feed(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Feed>, ApiError> {
    s.feeds_scope(&who, "/api/v1/feeds/{id}").await?;
    Ok(Json(s.feeds_service()?.get(&who.tenant, &id).await?))
}

/// Pauses or resumes a feed.
#[utoipa::path(patch, path = "/api/v1/feeds/{id}", tag = "feeds", request_body = FeedPatch,
    params(("id" = String, Path, description = "The feed")),
    responses((status = 200, description = "The feed", body = Feed)))]
pub(crate) async fn update_feed(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Feed>, ApiError> {
    s.feeds_scope(&who, "/api/v1/feeds/{id}").await?;
    let b: FeedPatch = crate::auth::body(&bytes)?;
    Ok(Json(
        s.feeds_service()?
            .set_enabled(&who.tenant, &id, b.enabled)
            .await?,
    ))
}

/// Deletes a feed (its past runs stay, as exports).
#[utoipa::path(delete, path = "/api/v1/feeds/{id}", tag = "feeds",
    params(("id" = String, Path, description = "The feed")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_feed(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.feeds_scope(&who, "/api/v1/feeds/{id}").await?;
    s.feeds_service()?.delete(&who.tenant, &id).await?;
    s.access
        .audit(
            &who.actor(),
            Some(&who.tenant),
            "feed_deleted",
            Some("/api/v1/feeds/{id}"),
            "ok",
            json!({ "feed": id }),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A feed's runs (its exports), newest first.
#[utoipa::path(get, path = "/api/v1/feeds/{id}/runs", tag = "feeds",
    params(("id" = String, Path, description = "The feed")),
    responses((status = 200, description = "Runs", body = Data<Export>)))]
pub(crate) async fn feed_runs(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Data<Export>>, ApiError> {
    s.feeds_scope(&who, "/api/v1/feeds/{id}/runs").await?;
    let feeds = s.feeds_service()?;
    feeds.get(&who.tenant, &id).await?;
    Ok(Json(Data {
        data: feeds.history(&who.tenant, &id, 100).await?,
    }))
}

/// Fires a feed now, for today's market day (the same day again answers
/// with its first run); 202 with the run's export.
#[utoipa::path(post, path = "/api/v1/feeds/{id}/run", tag = "feeds",
    params(("id" = String, Path, description = "The feed")),
    responses((status = 202, description = "Fired", body = Export)))]
pub(crate) async fn run_feed(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/feeds/{id}/run";
    let feeds = s.feeds_service()?;
    let f = feeds.get(&who.tenant, &id).await?;
    let spec: FeedSpec = serde_json::from_value(f.spec.clone())
        .map_err(|_| ApiError::not_found(format!("no feed `{id}`")))?;
    s.entitle_feed(&who, &spec, ROUTE).await?;
    let e = feeds.fire(&who.tenant, &id, chrono::Utc::now()).await?;
    Ok((StatusCode::ACCEPTED, Json(e)).into_response())
}
