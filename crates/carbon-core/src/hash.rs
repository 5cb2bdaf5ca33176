//! A fast hasher for the hot paths' own keys (ingest checks, batch keys).
//!
//! The multiply-rotate scheme rustc uses (Fx). The standard SipHash resists
//! crafted collisions, which buys nothing for maps keyed by one payload's own
//! rows: a payload can at worst slow down its own check. Not for maps keyed by
//! what remote callers send.

/// The hasher.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        // The multiply only moves entropy upwards; hash tables index by the
        // low bits, and keys such as hour starts in microseconds differ only
        // in high bits. A final avalanche (MurmurHash3's fmix64) spreads them.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// `HashMap::default()`/`HashSet::default()` with [`FxHasher`].
pub type Fx = std::hash::BuildHasherDefault<FxHasher>;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::Fx;

    #[test]
    fn distinct_keys_stay_distinct() {
        let mut s: HashSet<(String, i64), Fx> = HashSet::default();
        for i in 0..10_000i64 {
            assert!(s.insert((format!("MISO.N{i}"), i % 24)));
        }
        // Strings that differ only in length or trailing bytes.
        let mut t: HashSet<&[u8], Fx> = HashSet::default();
        for k in [
            &b""[..],
            b"\0",
            b"\0\0",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefg",
        ] {
            assert!(t.insert(k));
        }
        assert_eq!(s.len() + t.len(), 10_006);
    }

    /// Keys that differ only in high bits (hour starts in microseconds) still
    /// spread over a table's low-bit buckets.
    #[test]
    fn high_bit_keys_spread_over_low_bits() {
        use std::hash::BuildHasher;
        let buckets = 1 << 12;
        let mut used = vec![false; buckets];
        for h in 0..4096i64 {
            let key = (
                7i32,
                "da",
                1_735_707_600_000_000i64 + h * 3_600_000_000,
                0i64,
            );
            used[(Fx::default().hash_one(key) as usize) & (buckets - 1)] = true;
        }
        let filled = used.iter().filter(|u| **u).count();
        // Uniform hashing fills ~63 % of the buckets.
        assert!(filled > buckets / 2, "{filled} of {buckets} buckets");
    }
}
