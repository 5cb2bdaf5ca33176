//! The web hub, served at `/` from the files embedded at build time
//! (`web/dist`). Client-side routes (`/explorer`, `/curves`…) get
//! `index.html`; hashed assets are cached for a year, `index.html` never.

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

include!(concat!(env!("OUT_DIR"), "/hub_assets.rs"));

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn asset(path: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

/// Whether the binary carries the hub.
pub fn embedded() -> bool {
    asset("/index.html").is_some()
}

const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>254Carbon</title></head>\
<body><h1>254Carbon</h1><p>This binary was built without the web hub. Build it with \
<code>scripts/run.sh</code> (it runs <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code> \
before <code>cargo build</code>). The API is at <a href=\"/docs\">/docs</a>.</p></body></html>";

/// `GET` of any path that is not an API route.
pub(crate) async fn serve(uri: Uri) -> Response {
    let path = uri.path();
    if let Some(bytes) = asset(path).filter(|_| path != "/index.html") {
        let mut r = Response::new(Body::from(bytes));
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(path)),
        );
        let cache = if path.starts_with("/assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        return r;
    }
    let (status, body) = match asset("/index.html") {
        // A client-side route; a missing file with an extension is a 404.
        Some(index) if !path.rsplit('/').next().unwrap_or("").contains('.') => {
            (StatusCode::OK, index)
        }
        Some(_) => return StatusCode::NOT_FOUND.into_response(),
        None => (StatusCode::OK, NOT_BUILT.as_bytes()),
    };
    let mut r = (status, Body::from(body)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
