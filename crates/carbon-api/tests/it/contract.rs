//! The generated OpenAPI document is the one the hub's types are generated
//! from (`web/src/api/openapi.json` → `web/src/api/schema.d.ts`, checked by
//! `npm run check:api` in the hub's build): when a route, parameter or type
//! changes, this test fails until the file is regenerated with
//! `CARBON_BLESS=1 cargo test -p carbon-api --test it contract` (and then
//! `npm run gen:api` in `web/`).

use std::path::PathBuf;

#[test]
fn the_hubs_copy_of_the_document_is_the_generated_one() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/src/api/openapi.json");
    let generated = format!("{}\n", carbon_api::openapi::json());
    if std::env::var_os("CARBON_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} differs from the document the server generates: run \
         `CARBON_BLESS=1 cargo test -p carbon-api --test it contract`, then `npm run gen:api` in web/",
        path.display()
    );
}
