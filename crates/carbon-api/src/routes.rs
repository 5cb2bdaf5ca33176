//! The router: every API area's routes merged in one place, then the layers
//! every request passes (authentication, limits, metrics, CORS, security
//! headers, panics, request ids). The handlers live with their area:
//! [`crate::catalog`], [`crate::prices`], [`crate::ops`], [`crate::curves`],
//! [`crate::research`], [`crate::jobs`], [`crate::stream`], [`crate::auth`].

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{delete, get, patch, post, put},
};
use tower_http::catch_panic::CatchPanicLayer;

use crate::{AppState, admin, auth, security};

pub(crate) use carbon_service::rfc3339;

pub(crate) fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/health", get(crate::ops::health))
        .route("/ready", get(crate::ops::ready))
        .route("/metrics", get(crate::ops::metrics))
        .route("/openapi.json", get(crate::ops::openapi))
        .route("/docs", get(crate::ops::docs))
        .route("/api/v1/markets", get(crate::catalog::markets))
        .route("/api/v1/instruments", get(crate::catalog::instruments))
        .route("/api/v1/prices", get(crate::prices::prices))
        .route("/api/v1/prices/latest", get(crate::prices::latest))
        .route("/api/v1/prices/spread", get(crate::prices::spread))
        .route("/api/v1/ingest/runs", get(crate::ops::ingest_runs))
        .route("/api/v1/quality", get(crate::ops::quality))
        .route("/api/v1/stream", get(crate::stream::websocket))
        .route("/api/v1/stream/sse", get(crate::stream::sse))
        .route("/api/v1/exports/prices", get(crate::exports::export_prices))
        .route("/api/v1/curves", get(crate::curves::curve_runs))
        .route("/api/v1/curves/build", post(crate::curves::build_curve))
        .route(
            "/api/v1/curves/runs/{run_id}",
            get(crate::curves::curve_run),
        )
        .route("/api/v1/curves/forward", get(crate::curves::forward))
        .route("/api/v1/fundamentals", get(crate::research::fundamentals))
        .route(
            "/api/v1/fundamentals/series",
            get(crate::research::fundamental_series),
        )
        .route(
            "/api/v1/research/decompose",
            post(crate::research::analysis_route),
        )
        .route(
            "/api/v1/research/regimes",
            post(crate::research::analysis_route),
        )
        .route(
            "/api/v1/research/balance",
            post(crate::research::analysis_route),
        )
        .route(
            "/api/v1/research/weather",
            post(crate::research::analysis_route),
        )
        .route("/api/v1/research/runs", get(crate::research::research_runs))
        .route(
            "/api/v1/research/runs/{run_id}",
            get(crate::research::research_run),
        )
        .route(
            "/api/v1/backtests",
            get(crate::research::backtest_runs).post(crate::research::analysis_route),
        )
        .route(
            "/api/v1/jobs",
            get(crate::jobs::list).post(crate::jobs::submit),
        )
        .route(
            "/api/v1/jobs/{id}",
            get(crate::jobs::get).delete(crate::jobs::cancel),
        )
        .route("/api/v1/jobs/{id}/events", get(crate::jobs::events))
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/oidc/session", post(auth::oidc_session))
        .route("/api/v1/auth/config", get(auth::auth_config))
        .route("/api/v1/auth/me", get(auth::me))
        .route("/api/v1/keys", get(auth::my_keys).post(auth::create_my_key))
        .route("/api/v1/keys/{id}", delete(auth::revoke_my_key))
        .route("/api/v1/keys/{id}/rotate", post(auth::rotate_my_key))
        .route(
            "/api/v1/admin/tenants",
            get(admin::admin_tenants).post(admin::admin_tenants),
        )
        .route(
            "/api/v1/admin/users",
            get(admin::admin_users).post(admin::admin_users),
        )
        .route(
            "/api/v1/admin/users/{username}",
            patch(admin::admin_user_patch),
        )
        .route(
            "/api/v1/admin/keys",
            get(admin::admin_keys).post(admin::admin_keys),
        )
        .route("/api/v1/admin/keys/{id}", delete(admin::admin_revoke_key))
        .route(
            "/api/v1/admin/keys/{id}/rotate",
            post(admin::admin_rotate_key),
        )
        .route(
            "/api/v1/admin/tenants/{id}/ip-allowlist",
            put(admin::admin_tenant_ip_allow),
        )
        .route("/api/v1/admin/signing-keys", get(admin::admin_signing_keys))
        .route(
            "/api/v1/admin/signing-keys/rotate",
            post(admin::admin_rotate_signing_key),
        )
        .route(
            "/api/v1/admin/signing-keys/{kid}",
            delete(admin::admin_withdraw_signing_key),
        )
        .route(
            "/api/v1/admin/entitlements",
            get(admin::admin_grants).post(admin::admin_grants),
        )
        .route(
            "/api/v1/admin/entitlements/{id}",
            delete(admin::admin_remove_grant),
        )
        .route("/api/v1/admin/audit", get(admin::admin_audit))
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
