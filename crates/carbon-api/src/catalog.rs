//! The catalog: markets and instruments the caller is entitled to.

use axum::{Extension, Json, extract::State};
use carbon_auth::{Principal, Transport};
use carbon_core::{LocationKind, Market, MarketInfo};
use carbon_store::InstrumentQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    error::ApiError,
    params::{Query, parsed, text},
};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(markets))
        .routes(routes!(instruments))
}

/// A list.
#[derive(Serialize, ToSchema)]
pub(crate) struct Data<T> {
    /// The items.
    pub data: Vec<T>,
}

/// The markets the caller is entitled to on its channel, with their clocks
/// and on-peak conventions.
#[utoipa::path(get, path = "/api/v1/markets", tag = "catalog",
    responses((status = 200, description = "Markets", body = Data<MarketInfo>)))]
pub(crate) async fn markets(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Data<MarketInfo>>, ApiError> {
    let scope = s
        .scope(&who, None, None, Transport::Rest, "/api/v1/markets")
        .await?;
    let data: Vec<_> = Market::ALL
        .iter()
        .filter(|m| scope.sees_market(**m))
        .map(|m| m.info())
        .collect();
    Ok(Json(Data { data }))
}

/// Whether data of `market` (None: of no one market, such as file runs or
/// rows without an instrument) is visible to `who`: a market with its grants;
/// market-less data to callers who see every market, and to admins.
pub(crate) fn visible(scope: &carbon_auth::Scope, who: &Principal, market: Option<Market>) -> bool {
    match market {
        Some(m) => scope.sees_market(m),
        None => scope.sees_everything() || who.is_admin(),
    }
}

/// `limit` within 1..=`max`, `default` when absent.
pub(crate) fn limit(v: Option<u32>, default: usize, max: usize) -> Result<usize, ApiError> {
    match v {
        None => Ok(default),
        Some(0) => Err(ApiError::param("limit", "must be at least 1")),
        Some(n) if n as usize > max => Err(ApiError::param("limit", format!("at most {max}"))),
        Some(n) => Ok(n as usize),
    }
}

/// Instrument search parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct InstrumentParams {
    /// Only this market's instruments.
    #[serde(default)]
    #[param(value_type = Option<Market>)]
    market: Option<String>,
    /// Only this kind of location.
    #[serde(default)]
    #[param(value_type = Option<LocationKind>)]
    kind: Option<String>,
    /// Only instruments of this product (`lmp`, the only one so far).
    #[serde(default)]
    #[param(value_type = Option<crate::openapi::InstrumentProduct>)]
    product: Option<String>,
    /// Text the id or name contains (case-insensitive).
    #[serde(default, deserialize_with = "text")]
    q: Option<String>,
    /// Most instruments to return (default 1,000).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "text")]
    cursor: Option<String>,
}

/// An instrument.
#[derive(Serialize, ToSchema)]
pub(crate) struct Instrument {
    /// `MARKET.NODE`.
    id: String,
    /// Market code.
    market: Market,
    /// The node's name in its market.
    node: String,
    /// Kind of location.
    kind: LocationKind,
    /// Display name.
    name: Option<String>,
}

/// A page of instruments.
#[derive(Serialize, ToSchema)]
pub(crate) struct InstrumentPage {
    /// The instruments.
    data: Vec<Instrument>,
    /// Where the next page starts (`cursor`); null on the last page.
    next_cursor: Option<String>,
}

/// Instruments the caller is entitled to, by market, kind and text.
#[utoipa::path(get, path = "/api/v1/instruments", tag = "catalog", params(InstrumentParams),
    responses((status = 200, description = "A page of instruments", body = InstrumentPage)))]
pub(crate) async fn instruments(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<InstrumentParams>,
) -> Result<Json<InstrumentPage>, ApiError> {
    if let Some(product) = p.product.as_deref()
        && product != "lmp"
    {
        return Err(ApiError::param(
            "product",
            format!("`{product}`: only `lmp` instruments exist so far"),
        ));
    }
    let market = parsed::<Market>("market", p.market.as_deref())?;
    let kind = parsed::<LocationKind>("kind", p.kind.as_deref())?;
    let route = "/api/v1/instruments";
    let scope = s
        .scope(&who, market, Some("lmp"), Transport::Rest, route)
        .await?;
    let want = limit(p.limit, 1000, 10_000)?;
    // Store pages are filtered to what the caller may see; a caller entitled
    // to a few listed instruments gets them without paging through the rest.
    let mut visible = Vec::new();
    let mut cursor = p.cursor.clone();
    let mut next_cursor;
    let mut rounds = 0;
    loop {
        let page = s
            .store
            .search_instruments(InstrumentQuery {
                market,
                kind,
                text: p.q.clone(),
                limit: Some(want),
                cursor: cursor.clone(),
            })
            .await?;
        next_cursor = page.next_cursor.clone();
        for i in page.instruments {
            if visible.len() < want && scope.sees(i.market(), i.id.as_str(), None) {
                visible.push(i);
            }
        }
        rounds += 1;
        if visible.len() >= want || next_cursor.is_none() || rounds >= 50 {
            break;
        }
        cursor = next_cursor.clone();
    }
    let data = visible
        .into_iter()
        .map(|i| Instrument {
            id: i.id.as_str().to_string(),
            market: i.market(),
            node: i.id.node().to_string(),
            kind: i.kind,
            name: i.name,
        })
        .collect();
    Ok(Json(InstrumentPage { data, next_cursor }))
}
