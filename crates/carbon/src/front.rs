//! `carbon serve`'s front: the HTTP API (`carbon-api`), over TLS when
//! `--tls-cert/--tls-key` are given.

use anyhow::Result;
use carbon_cli::commands::{
    UserError,
    live::{Front, Platform, TlsPaths},
};

/// The HTTP API as `carbon serve`'s front.
#[derive(Default)]
pub struct Http {
    tls: Option<carbon_api::TlsConfig>,
}

impl Front for Http {
    fn prepare(&mut self, rt: &tokio::runtime::Runtime, tls: Option<&TlsPaths>) -> Result<()> {
        if let Some(t) = tls {
            let files = carbon_api::TlsFiles {
                cert: t.cert.clone(),
                key: t.key.clone(),
            };
            self.tls = Some(
                rt.block_on(carbon_api::tls_config(&files))
                    .map_err(UserError)?,
            );
        }
        Ok(())
    }

    fn start(
        &mut self,
        rt: &tokio::runtime::Runtime,
        p: Platform,
        listener: std::net::TcpListener,
        stop: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    ) -> Result<tokio::task::JoinHandle<std::io::Result<()>>> {
        let app = carbon_api::create_app(
            carbon_api::AppState::new(carbon_api::Stores::of(p.store), p.access, p.bus, p.jobs)
                .with_settings(p.settings)
                .with_exports(p.exports)
                .with_feeds(p.feeds),
        );
        Ok(match self.tls.take() {
            Some(tc) => rt.spawn(carbon_api::serve_tls(listener, tc, app, stop)),
            None => {
                let listener = {
                    let _guard = rt.enter();
                    tokio::net::TcpListener::from_std(listener)?
                };
                rt.spawn(carbon_api::serve(listener, app, stop))
            }
        })
    }
}
