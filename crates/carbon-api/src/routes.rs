//! The router: every API area's routes merged in one place, then the layers
//! every request passes (authentication, limits, metrics, CORS, security
//! headers, panics, request ids). The handlers live with their area:
//! [`crate::catalog`], [`crate::prices`], [`crate::ops`], [`crate::curves`],
//! [`crate::research`], [`crate::jobs`], [`crate::scenarios`], [`crate::stream`], [`crate::auth`].

use axum::{Router, extract::DefaultBodyLimit, middleware};
use tower_http::catch_panic::CatchPanicLayer;

use utoipa_axum::router::OpenApiRouter;

use crate::{AppState, auth, security};

pub(crate) use carbon_service::rfc3339;

/// Every documented route, each area's router merged into one whose
/// OpenAPI document ([`crate::openapi`]) is generated alongside.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(crate::ops::routes())
        .merge(crate::catalog::routes())
        .merge(crate::prices::routes())
        .merge(crate::exports::routes())
        .merge(crate::reports::routes())
        .merge(crate::feeds::routes())
        .merge(crate::stream::routes())
        .merge(crate::curves::routes())
        .merge(crate::research::routes())
        .merge(crate::jobs::routes())
        .merge(crate::scenarios::routes())
        .merge(crate::auth::routes())
        .merge(crate::admin::routes())
}

pub(crate) fn router(state: AppState) -> Router {
    let (router, doc) = api().split_for_parts();
    crate::openapi::keep(doc);
    let router = router
        .fallback(crate::ops::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::gate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::limits,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::observe,
        ));
    // CORS answers preflights before authentication; none when no origin is configured.
    let router = match security::cors_layer(&state.settings) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    let oidc_origin = state
        .access
        .oidc()
        .and_then(|o| security::origin_of(&o.config().issuer));
    let policies = std::sync::Arc::new(security::Policies::new(
        crate::ops::DOCS_HTML,
        oidc_origin.as_deref(),
        state.settings.secure_cookies,
    ));
    router
        .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes))
        .layer(middleware::from_fn_with_state(policies, security::headers))
        .layer(CatchPanicLayer::custom(security::panicked))
        .layer(middleware::from_fn(crate::middleware::request_id))
        .with_state(state)
}
