//! The API contract, generated from the code: every handler carries a
//! `#[utoipa::path]` annotation naming its query parameters (typed structs,
//! [`crate::params::Query`]), request body and response types (which derive
//! their schema), and each area's router registers its handlers through
//! `utoipa_axum`, so a route cannot exist without its entry in the document.
//! What every operation shares is added here once: the three credential
//! kinds (on every operation the auth gate guards, read from the same
//! [`crate::auth::is_public`] rule), and the `application/problem+json`
//! answer for every error status.

use std::sync::OnceLock;

use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        Content, OpenApi as Document, RefOr, Response, ResponseBuilder,
        security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        },
    },
};

/// An instrument id (`MARKET.NODE`) in a query string. The document names
/// node characters ids use; the parser accepts any node name without
/// control characters, commas or edge spaces.
pub(crate) struct InstrumentIdText;

impl utoipa::PartialSchema for InstrumentIdText {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("`MARKET.NODE`, e.g. `MISO.INDIANA.HUB`"))
            .examples(["MISO.INDIANA.HUB"])
            .pattern(Some(
                "^(MISO|CAISO|PJM|ERCOT|SPP|NYISO|ISONE)\\.[A-Za-z0-9_.-]{1,100}$",
            ))
            .into()
    }
}

impl ToSchema for InstrumentIdText {}

/// A clock: `market`, `UTC` or an IANA zone name.
pub(crate) struct ZoneName;

impl utoipa::PartialSchema for ZoneName {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        let mut names: Vec<String> = vec!["market".into(), "UTC".into()];
        names.extend(
            chrono_tz::TZ_VARIANTS
                .iter()
                .map(|z| z.name().to_string())
                .filter(|n| n != "UTC"),
        );
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "`market` (each instrument's market clock), `UTC` or an IANA zone name.",
            ))
            .enum_values(Some(names))
            .into()
    }
}

impl ToSchema for ZoneName {}

/// A closed set of words in a query string or body: the schema lists
/// `$values`, the same set the parser checks.
macro_rules! words {
    ($(#[$m:meta])* $name:ident = $values:expr) => {
        $(#[$m])*
        pub(crate) struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($values))
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

words!(
    /// `json`, `csv` or `parquet`.
    JsonCsvParquet = ["json", "csv", "parquet"]
);
words!(
    /// `json` or `csv`.
    JsonOrCsv = ["json", "csv"]
);
words!(
    /// A curve grid.
    GridName = ["hourly", "daily", "monthly"]
);
words!(
    /// A curve run's outcome.
    RunOutcome = ["succeeded", "failed"]
);
words!(
    /// A product with instruments.
    InstrumentProduct = ["lmp"]
);
words!(
    /// A fundamentals resampling frequency (UTC calendar buckets).
    FundamentalFrequency = carbon_service::research::UTC_FREQUENCIES
);
words!(
    /// How a fundamentals bucket combines.
    Combine = carbon_service::research::UTC_AGGREGATIONS
);
words!(
    /// A job kind.
    JobKind = carbon_service::jobs::JobSpec::KINDS
);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "254Carbon API",
        version = "1",
        description = "Power-market prices, curves, fundamentals, research and jobs. Every `/api/v1` route but sign-in needs a credential: an `X-API-Key` header, `Authorization: Bearer <token>` (an OIDC access token) or the hub's session cookie (state-changing requests then also send `X-CSRF-Token`). Errors are `application/problem+json` naming the parameter at fault. Generated from the code."
    ),
    components(schemas(
        crate::error::Problem,
        InstrumentIdText,
        ZoneName,
        carbon_core::Frequency,
        carbon_core::Aggregation,
        carbon_core::Block,
        carbon_core::Component,
        carbon_core::MarketRun,
        carbon_core::Market,
        carbon_core::LocationKind,
        JsonCsvParquet,
        JsonOrCsv,
        GridName,
        RunOutcome,
        InstrumentProduct,
        FundamentalFrequency,
        Combine,
        JobKind
    ))
)]
pub(crate) struct ApiDoc;

/// Security schemes, the credential requirement of guarded operations and
/// the problem+json default answer.
struct Shared;

const SCHEMES: [&str; 3] = ["api_key", "bearer", "session"];

impl Modify for Shared {
    fn modify(&self, api: &mut Document) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key (`ck_…`) from `carbon admin key create` or POST /api/v1/keys.",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token of the configured OIDC provider."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "The hub's session from POST /api/v1/auth/login.",
            ))),
        );
        let problem: RefOr<Response> = ResponseBuilder::new()
            .description("An error: `application/problem+json` naming the parameter at fault.")
            .content(
                "application/problem+json",
                Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                )))),
            )
            .into();
        for (path, item) in api.paths.paths.iter_mut() {
            let guarded = !crate::auth::is_public(path);
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("default".to_string())
                    .or_insert_with(|| problem.clone());
                if guarded && op.security.is_none() {
                    op.security = Some(
                        SCHEMES
                            .iter()
                            .map(|s| SecurityRequirement::new(*s, Vec::<String>::new()))
                            .collect(),
                    );
                }
            }
        }
    }
}

/// The document every area's router contributes to (its routes add their
/// paths and schemas).
pub(crate) fn base() -> Document {
    ApiDoc::openapi()
}

static DOC: OnceLock<String> = OnceLock::new();

/// Completes the document the routers built (shared parts added) and keeps
/// it as served; the first router built provides it, so it is generated once.
pub(crate) fn keep(mut doc: Document) {
    DOC.get_or_init(|| {
        Shared.modify(&mut doc);
        doc.to_pretty_json().unwrap_or_default()
    });
}

/// The generated document as served at `/openapi.json`.
pub fn json() -> &'static str {
    if DOC.get().is_none() {
        keep(crate::routes::api().split_for_parts().1);
    }
    DOC.get().map_or("", String::as_str)
}
