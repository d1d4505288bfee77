//! Why a record was dead-lettered: the value of `x-k3sync-error-class` and `error_log.class`.
//! Two more classes appear on letters the broker made itself (no header of ours): the delivery
//! limit of the work queue, and unknown.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeadClass {
    /// The body is not an envelope this build reads (not JSON, unknown version, too large to
    /// decode).
    Decode,
    /// The mapping refused the record (missing field, bad date, bad number).
    Mapping,
    /// The database refused the row (too long, bad value, null, constraint).
    Data,
    /// The row alone is larger than one statement may be (`max_allowed_packet`).
    TooLarge,
    /// A transient failure outlasted every retry tier.
    Exhausted,
    /// The broker dead-lettered the message after `x-delivery-limit` deliveries (a consumer
    /// crashed on it again and again).
    DeliveryLimit,
    /// A letter with no class header k3sync or the broker set.
    Unknown,
}

/// A class name that is none of [`DeadClass::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error class `{0}` (known: {known})", known = DeadClass::names().join(", "))]
pub struct UnknownClass(pub String);

impl DeadClass {
    pub const ALL: [DeadClass; 7] = [
        DeadClass::Decode,
        DeadClass::Mapping,
        DeadClass::Data,
        DeadClass::TooLarge,
        DeadClass::Exhausted,
        DeadClass::DeliveryLimit,
        DeadClass::Unknown,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DeadClass::Decode => "decode",
            DeadClass::Mapping => "mapping",
            DeadClass::Data => "data",
            DeadClass::TooLarge => "too_large",
            DeadClass::Exhausted => "exhausted",
            DeadClass::DeliveryLimit => "delivery_limit",
            DeadClass::Unknown => "unknown",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|c| c.as_str()).collect()
    }
}

impl fmt::Display for DeadClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeadClass {
    type Err = UnknownClass;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownClass(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_reads_back_from_its_name_and_a_typo_is_refused() {
        for class in DeadClass::ALL {
            assert_eq!(class.as_str().parse::<DeadClass>(), Ok(class));
        }
        let err = "dat".parse::<DeadClass>().unwrap_err();
        assert!(err.to_string().contains("`dat`"), "{err}");
        assert!(err.to_string().contains("too_large"), "{err}");
    }
}
