//! # carbon-auth — who is calling, and what may they see
//!
//! Built-in identity (argon2id passwords, hashed API keys, ES256 session
//! tokens signed with the server's own key), external OIDC access tokens
//! (discovery, cached JWKS, RS256/ES256), and the one entitlement
//! [`policy`]: tenant × market × product × channel × instruments × dates.
//! [`Access`] ties them to a [`carbon_store::Directory`] and writes every
//! security event to its hash-chained audit log.
//!
//! It must not know about HTTP: `carbon-api` turns requests into
//! [`Credential`]s and [`policy::Ask`]s, and [`Error`]s into status codes.

pub mod access;
pub mod error;
pub mod net;
pub mod oidc;
pub mod policy;
pub mod secret;
pub mod token;

pub use access::{
    Access, AuthConfig, Bootstrap, CAISO_PILOT_HUBS, Credential, GrantSpec, KeyOptions, Method,
    Principal, SESSION_NOT_A_BEARER, Transport, parse_span,
};
pub use error::{Error, Result};
pub use oidc::{OidcConfig, OidcIdentity, OidcVerifier};
pub use policy::{Ask, Channel, Scope};
