//! fastjson's leniency for JSON bodies from clients and tools: a field may be `null`, an
//! integer may arrive as a decimal string, a boolean as `"true"`, `"1"` or a number. Java
//! clients and admin tools rely on it, so every body shardmq reads accepts the same.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// Deserializes a missing-or-null field as the type's default, as fastjson leaves a Java
/// field at its default for an explicit `null`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A JSON value a client meant as an integer: a number, a decimal string, or null (0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LenientInt(pub i64);

impl<'de> Deserialize<'de> for LenientInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntVisitor;
        impl Visitor<'_> for IntVisitor {
            type Value = LenientInt;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a decimal string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LenientInt, E> {
                Ok(LenientInt(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LenientInt, E> {
                i64::try_from(v)
                    .map(LenientInt)
                    .map_err(|_| E::custom(format!("{v} does not fit a 64-bit integer")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LenientInt, E> {
                // A whole number written as `1.7E12` by some JSON writers.
                match v.fract() == 0.0 && v.abs() < 9.2e18 {
                    true => Ok(LenientInt(v as i64)),
                    false => Err(E::custom(format!("{v} is not an integer"))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LenientInt, E> {
                match v.trim() {
                    "" => Ok(LenientInt(0)),
                    text => text
                        .parse()
                        .map(LenientInt)
                        .map_err(|_| E::custom(format!("{v:?} is not an integer"))),
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<LenientInt, E> {
                Ok(LenientInt(0))
            }
        }
        deserializer.deserialize_any(IntVisitor)
    }
}

pub fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Ok(LenientInt::deserialize(deserializer)?.0)
}

/// A JSON value a client meant as a boolean (see [`lenient_bool`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LenientBool(pub bool);

impl<'de> Deserialize<'de> for LenientBool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient_bool(deserializer).map(LenientBool)
    }
}

/// A boolean as Java's `Boolean.parseBoolean` reads it, plus `"1"` and numbers (C++ client).
pub fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct BoolVisitor;
    impl Visitor<'_> for BoolVisitor {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean, \"true\"/\"false\" or \"0\"/\"1\"")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            Ok(crate::wire::headers::parse_bool(v.trim()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
    }
    deserializer.deserialize_any(BoolVisitor)
}
