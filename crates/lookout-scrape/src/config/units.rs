//! Byte sizes (`body_size_limit: 10MB`), as Prometheus reads them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A size in bytes written with base-2 units: `B`, `KB`/`KiB`, `MB`/`MiB`,
/// `GB`/`GiB`, `TB`/`TiB`, `PB`/`PiB`, `EB`/`EiB` (all multiples of 1024,
/// as in Prometheus), possibly compound (`1GB512MB`) or fractional
/// (`1.5MB`); a plain `0` is zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u64); 13] = [
    ("B", 1),
    ("KB", 1 << 10),
    ("KiB", 1 << 10),
    ("MB", 1 << 20),
    ("MiB", 1 << 20),
    ("GB", 1 << 30),
    ("GiB", 1 << 30),
    ("TB", 1 << 40),
    ("TiB", 1 << 40),
    ("PB", 1 << 50),
    ("PiB", 1 << 50),
    ("EB", 1 << 60),
    ("EiB", 1 << 60),
];

impl ByteSize {
    /// Parses a size; errors use the Go `units` package's wording.
    pub fn parse(orig: &str) -> Result<ByteSize, String> {
        if orig == "0" {
            return Ok(ByteSize(0));
        }
        let invalid = || format!("units: invalid {orig}");
        let mut s = orig;
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total: f64 = 0.0;
        while !s.is_empty() {
            let num_len = s
                .bytes()
                .take_while(|b| b.is_ascii_digit() || *b == b'.')
                .count();
            if num_len == 0 {
                return Err(invalid());
            }
            let n: f64 = s[..num_len].parse().map_err(|_| invalid())?;
            s = &s[num_len..];
            let unit_len = s
                .bytes()
                .take_while(|b| !(b.is_ascii_digit() || *b == b'.'))
                .count();
            if unit_len == 0 {
                return Err(format!("units: missing unit in {orig}"));
            }
            let u = &s[..unit_len];
            s = &s[unit_len..];
            let mult = UNITS
                .iter()
                .find(|(name, _)| *name == u)
                .map(|(_, m)| *m)
                .ok_or_else(|| format!("units: unknown unit {u} in {orig}"))?;
            total += n * mult as f64;
        }
        if !total.is_finite() || total > u64::MAX as f64 {
            return Err(invalid());
        }
        Ok(ByteSize(total as u64))
    }
}

impl fmt::Display for ByteSize {
    /// Compound base-2 form like Go's `units.Base2Bytes` (`100MiB`, `1KiB512B`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0B");
        }
        let mut rest = self.0;
        for (name, mult) in UNITS
            .iter()
            .rev()
            .filter(|(n, _)| n.ends_with("iB") || *n == "B")
        {
            if rest >= *mult {
                write!(f, "{}{}", rest / mult, name)?;
                rest %= mult;
            }
        }
        Ok(())
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(0) => Ok(ByteSize(0)),
            Raw::N(n) => ByteSize::parse(&n.to_string()).map_err(serde::de::Error::custom),
            Raw::S(s) => ByteSize::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("0").unwrap().0, 0);
        assert_eq!(ByteSize::parse("100MB").unwrap().0, 100 << 20);
        assert_eq!(ByteSize::parse("1KiB").unwrap().0, 1024);
        assert_eq!(
            ByteSize::parse("1GB512MB").unwrap().0,
            (1 << 30) + (512 << 20)
        );
        assert_eq!(ByteSize::parse("1.5KB").unwrap().0, 1536);
        assert_eq!(
            ByteSize::parse("10").unwrap_err(),
            "units: missing unit in 10"
        );
        assert_eq!(
            ByteSize::parse("10XB").unwrap_err(),
            "units: unknown unit XB in 10XB"
        );
        assert_eq!(ByteSize::parse("MB").unwrap_err(), "units: invalid MB");
        assert_eq!(ByteSize(100 << 20).to_string(), "100MiB");
        assert_eq!(ByteSize(1536).to_string(), "1KiB512B");
    }
}
