//! Passwords (argon2id, PHC strings) and API keys (random, shown once, stored
//! as SHA-256 of the secret part).
//!
//! An API key reads `ck_<id>_<secret>`: `id` is 12 hex digits and is the
//! key's public name (it is what `carbon admin key list` shows and what a
//! revocation names); `secret` is 32 random bytes, base64url. API keys are
//! high-entropy, so a fast hash is enough for them; passwords are not, so they
//! get argon2id with its default cost (19 MiB, 2 passes).

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// Hashes a password (argon2id, random salt) to a PHC string.
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::invalid(
            "password",
            format!("at least {MIN_PASSWORD} characters"),
        ));
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Crypto(e.to_string()))
}

/// True when `password` matches the PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// `n` random bytes, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A fresh password for generated accounts (20 characters).
pub fn random_password() -> String {
    random_token(15)
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    carbon_store::directory::hex(&b)
}

/// Hex SHA-256.
pub fn sha256_hex(s: &str) -> String {
    carbon_store::directory::hex(&Sha256::digest(s.as_bytes()))
}

/// A new key: (id, the full key to show once, hash of its secret).
pub fn new_api_key() -> (String, String, String) {
    let id = random_hex(6);
    let secret = random_token(32);
    let full = format!("ck_{id}_{secret}");
    (id, full, sha256_hex(&secret))
}

/// Splits a presented key into (id, secret); `None` when it is not shaped like one.
pub fn parse_api_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("ck_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty())
        .then_some((id, secret))
}

/// Constant-time equality of two strings of equal length.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
