//! Exports: the price query as a downloadable file (CSV streamed page by
//! page, or Parquet) — channel `downloads`, rate class `exports`, audited.

use axum::{
    Extension,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use carbon_auth::{Principal, Transport};
use carbon_store::PriceQuery;
use serde_json::{Value, json};

use carbon_service::rfc3339;

use crate::prices::{
    CSV_COLUMNS, Format, PriceParams, csv_body, csv_response, entitle_query, format,
    parquet_response, price_query, push_csv_rows,
};
use crate::{AppState, error::ApiError, params::Query};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_prices))
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
