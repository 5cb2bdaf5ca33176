//! Object stores the download center writes to: a directory of the data
//! dir by default, or any S3-compatible bucket (AWS, MinIO, Ceph) given by
//! URL and credentials. A target is the store, the key prefix inside it and,
//! for S3, the presigner that hands out time-limited GET links.
//!
//! Secrets come from the configuration, a file or the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) and are never shown:
//! [`S3Config`]'s `Debug` redacts them and they are not serialised.

use std::{path::PathBuf, sync::Arc};

use object_store::{ObjectStore, path::Path as ObjectPath, signer::Signer};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// An S3-compatible bucket.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// `s3://bucket` or `s3://bucket/prefix`.
    pub url: String,
    /// The endpoint of an S3-compatible server (MinIO, Ceph, …), e.g.
    /// `http://127.0.0.1:9000`; AWS when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Region (default `us-east-1`).
    #[serde(default = "default_region")]
    pub region: String,
    /// Access key id (else env `AWS_ACCESS_KEY_ID`).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key (else `secret_access_key_file`, else env
    /// `AWS_SECRET_ACCESS_KEY`). Never serialised.
    #[serde(default, skip_serializing)]
    pub secret_access_key: Option<String>,
    /// A file holding the secret access key.
    #[serde(default)]
    pub secret_access_key_file: Option<PathBuf>,
    /// Allow plain `http://` endpoints (a local MinIO; never for AWS).
    #[serde(default)]
    pub allow_http: bool,
    /// Virtual-hosted-style requests (`bucket.endpoint`) instead of paths.
    #[serde(default)]
    pub virtual_hosted: bool,
}

fn default_region() -> String {
    "us-east-1".into()
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("secret_access_key_file", &self.secret_access_key_file)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Where files go: a store, a key prefix inside it, and (S3) a presigner.
#[derive(Clone)]
pub struct ObjectTarget {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// Keys start with this (no leading or trailing `/`; may be empty).
    pub prefix: String,
    /// Presigned GET links (S3); `None`: links are served by `carbon`.
    pub presigner: Option<Arc<dyn Signer>>,
    /// What it is, for messages (`dir /srv/objects`, `s3://bucket/prefix`).
    pub describe: String,
    /// Whether objects carry a content type (S3: a presigned HTML brief
    /// then opens as a page; a directory keeps no attributes).
    pub content_types: bool,
}

impl std::fmt::Debug for ObjectTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl ObjectTarget {
    /// A directory on this machine (made when missing).
    pub fn dir(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Internal(format!("object store dir {}: {e}", dir.display())))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| Error::Internal(format!("object store dir {}: {e}", dir.display())))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: String::new(),
            presigner: None,
            describe: format!("dir {}", dir.display()),
            content_types: false,
        })
    }

    /// Any store, no prefix, no presigner (tests, in-memory stores).
    pub fn plain(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            prefix: String::new(),
            presigner: None,
            describe: "object store".into(),
            content_types: false,
        }
    }

    /// An S3-compatible bucket: credentials from `cfg`, else the process's
    /// environment (`AWS_…`, as the download center's own store may). Nothing
    /// is contacted here: a wrong endpoint or credential shows on the first
    /// write.
    pub fn s3(cfg: &S3Config) -> Result<Self> {
        Self::s3_with(cfg, true)
    }

    /// A tenant's destination bucket: its credentials from `cfg` only, never
    /// the process's own.
    pub fn s3_destination(cfg: &S3Config) -> Result<Self> {
        if cfg.access_key_id.is_none()
            || (cfg.secret_access_key.is_none() && cfg.secret_access_key_file.is_none())
        {
            return Err(Error::Internal(format!(
                "s3 destination `{}`: give access_key_id and a secret (it never borrows the server's own credentials)",
                cfg.url
            )));
        }
        Self::s3_with(cfg, false)
    }

    fn s3_with(cfg: &S3Config, env: bool) -> Result<Self> {
        // reqwest is built without a TLS crypto provider of its own: use
        // ring, as the rest of the binary does (a second install is a no-op).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rest = cfg.url.strip_prefix("s3://").ok_or_else(|| {
            Error::Internal(format!("s3 url `{}`: must start with s3://", cfg.url))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::Internal(format!("s3 url `{}`: no bucket", cfg.url)));
        }
        let prefix = prefix.trim_matches('/').to_string();
        let base = if env {
            object_store::aws::AmazonS3Builder::from_env()
        } else {
            object_store::aws::AmazonS3Builder::new()
        };
        let mut b = base
            .with_bucket_name(bucket)
            .with_region(&cfg.region)
            .with_allow_http(cfg.allow_http)
            .with_virtual_hosted_style_request(cfg.virtual_hosted);
        if let Some(e) = &cfg.endpoint {
            b = b.with_endpoint(e);
        }
        if let Some(k) = &cfg.access_key_id {
            b = b.with_access_key_id(k);
        }
        let secret = match (&cfg.secret_access_key, &cfg.secret_access_key_file) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(f)) => Some(
                std::fs::read_to_string(f)
                    .map_err(|e| {
                        Error::Internal(format!("secret_access_key_file {}: {e}", f.display()))
                    })?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        if let Some(s) = secret {
            b = b.with_secret_access_key(s);
        }
        let s3 = Arc::new(b.build().map_err(|e| {
            // The builder's message names the setting, never a secret.
            Error::Internal(format!("s3 store `{}`: {e}", cfg.url))
        })?);
        Ok(Self {
            store: s3.clone(),
            prefix,
            presigner: Some(s3),
            describe: cfg.url.clone(),
            content_types: true,
        })
    }

    /// The options of a put of `name`: its content type where the store
    /// keeps one.
    pub fn put_options(&self, name: &str) -> object_store::PutOptions {
        let mut o = object_store::PutOptions::default();
        if self.content_types {
            let ct = if name.ends_with(".gz") {
                "application/gzip"
            } else if name.ends_with(".parquet") {
                "application/vnd.apache.parquet"
            } else if name.ends_with(".html") {
                "text/html; charset=utf-8"
            } else if name.ends_with(".pdf") {
                "application/pdf"
            } else if name.ends_with(".csv") {
                "text/csv; charset=utf-8"
            } else if name.ends_with(".json") || name.ends_with(".jsonl") {
                "application/json"
            } else if name.ends_with(".xlsx") {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            } else {
                "application/octet-stream"
            };
            o.attributes
                .insert(object_store::Attribute::ContentType, ct.into());
        }
        o
    }

    /// The store key of `rel` (a path relative to the prefix).
    pub fn key(&self, rel: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    /// A presigned GET URL of `rel`, good for `ttl` (S3 only).
    pub async fn presign(&self, rel: &str, ttl: std::time::Duration) -> Result<Option<String>> {
        let Some(p) = &self.presigner else {
            return Ok(None);
        };
        let url = p
            .signed_url(object_store::signer::Method::GET, &self.key(rel), ttl)
            .await
            .map_err(|e| {
                tracing::warn!(store = %self.describe, error = %e, "presigning failed");
                Error::Internal("the object store could not sign a link".into())
            })?;
        Ok(Some(url.to_string()))
    }
}

/// A named destination a tenant's feeds may write to (configured by the
/// operator: credentials stay in the configuration, never in the API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// The name feeds refer to.
    pub name: String,
    /// Tenants allowed to write to it.
    pub tenants: Vec<String>,
    /// The bucket.
    #[serde(default)]
    pub s3: Option<S3Config>,
    /// Or a directory on this machine.
    #[serde(default)]
    pub dir: Option<PathBuf>,
}

/// A destination, opened.
#[derive(Debug, Clone)]
pub struct Destination {
    /// Its name.
    pub name: String,
    /// Tenants allowed.
    pub tenants: Vec<String>,
    /// Where it writes.
    pub target: ObjectTarget,
}

impl DestinationConfig {
    /// Opens it.
    pub fn open(&self) -> Result<Destination> {
        let target = match (&self.s3, &self.dir) {
            (Some(s3), None) => ObjectTarget::s3_destination(s3)?,
            (None, Some(d)) => ObjectTarget::dir(d)?,
            _ => {
                return Err(Error::Internal(format!(
                    "destination `{}`: give exactly one of s3 or dir",
                    self.name
                )));
            }
        };
        Ok(Destination {
            name: self.name.clone(),
            tenants: self.tenants.clone(),
            target,
        })
    }
}
