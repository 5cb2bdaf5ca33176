//! The catalog: markets and instruments the caller is entitled to.

use axum::{Extension, Json, extract::State, http::Uri};
use carbon_auth::{Principal, Transport};
use carbon_core::{LocationKind, Market};
use carbon_store::InstrumentQuery;
use serde_json::{Value, json};

use crate::{AppState, error::ApiError, params::Params};

/// The markets the caller is entitled to on its channel.
pub(crate) async fn markets(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let scope = s
        .scope(&who, None, None, Transport::Rest, "/api/v1/markets")
        .await?;
    let data: Vec<_> = Market::ALL
        .iter()
        .filter(|m| scope.sees_market(**m))
        .map(|m| m.info())
        .collect();
    Ok(Json(json!({ "data": data })))
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

pub(crate) fn limit(p: &Params, default: usize, max: usize) -> Result<usize, ApiError> {
    match p.parsed::<usize>("limit")? {
        None => Ok(default),
        Some(0) => Err(ApiError::param("limit", "must be at least 1")),
        Some(n) if n > max => Err(ApiError::param("limit", format!("at most {max}"))),
        Some(n) => Ok(n),
    }
}

pub(crate) async fn instruments(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(
        uri.query(),
        &["market", "kind", "product", "q", "limit", "cursor"],
    )?;
    if let Some(product) = p.one("product")
        && product != "lmp"
    {
        return Err(ApiError::param(
            "product",
            format!("`{product}`: only `lmp` instruments exist so far"),
        ));
    }
    let market = p.parsed::<Market>("market")?;
    let route = "/api/v1/instruments";
    let scope = s
        .scope(&who, market, Some("lmp"), Transport::Rest, route)
        .await?;
    let want = limit(&p, 1000, 10_000)?;
    // Store pages are filtered to what the caller may see; a caller entitled
    // to a few listed instruments gets them without paging through the rest.
    let mut visible = Vec::new();
    let mut cursor = p.one("cursor").map(str::to_string);
    let mut next_cursor;
    let mut rounds = 0;
    loop {
        let page = s
            .store
            .search_instruments(InstrumentQuery {
                market,
                kind: p.parsed::<LocationKind>("kind")?,
                text: p.one("q").map(str::to_string),
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
    let data: Vec<Value> = visible
        .iter()
        .map(|i| {
            json!({
                "id": i.id.as_str(),
                "market": i.market().code(),
                "node": i.id.node(),
                "kind": i.kind.as_str(),
                "name": i.name,
            })
        })
        .collect();
    Ok(Json(json!({ "data": data, "next_cursor": next_cursor })))
}
