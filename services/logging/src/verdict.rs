//! What a drawing is, typed from the wire to the column: the proto's
//! `Verdict` on the wire, [`Verdict`] in the store, and its name (`digit`,
//! `not_a_digit`, `several_digits`) in the `verdict` text column.

use diesel::deserialize::{self, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::sql_types::Text;
use digits_proto::logging::v1 as pb;

/// What a drawing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum Verdict {
    /// One digit.
    Digit,
    /// Not a digit.
    NotADigit,
    /// A number of two or more digits.
    SeveralDigits,
}

impl Verdict {
    /// The name stored in the column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Digit => "digit",
            Self::NotADigit => "not_a_digit",
            Self::SeveralDigits => "several_digits",
        }
    }

    fn from_column(name: &str) -> deserialize::Result<Self> {
        match name {
            "digit" => Ok(Self::Digit),
            "not_a_digit" => Ok(Self::NotADigit),
            "several_digits" => Ok(Self::SeveralDigits),
            other => Err(format!("unknown verdict {other:?} in the predictions table").into()),
        }
    }
}

/// The wire's verdict; unset (or unknown) is a digit, as logged before verdicts existed.
impl From<i32> for Verdict {
    fn from(wire: i32) -> Self {
        match pb::Verdict::try_from(wire) {
            Ok(pb::Verdict::NotADigit) => Self::NotADigit,
            Ok(pb::Verdict::SeveralDigits) => Self::SeveralDigits,
            _ => Self::Digit,
        }
    }
}

impl From<Verdict> for pb::Verdict {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Digit => Self::Digit,
            Verdict::NotADigit => Self::NotADigit,
            Verdict::SeveralDigits => Self::SeveralDigits,
        }
    }
}

crate::text_column::text_column!(Verdict);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_enum_maps_both_ways_and_unset_is_a_digit() {
        for verdict in [Verdict::Digit, Verdict::NotADigit, Verdict::SeveralDigits] {
            assert_eq!(Verdict::from(pb::Verdict::from(verdict) as i32), verdict);
            assert_eq!(Verdict::from_column(verdict.as_str()).ok(), Some(verdict));
        }
        assert_eq!(Verdict::from(pb::Verdict::Unspecified as i32), Verdict::Digit);
        assert!(Verdict::from_column("maybe").is_err());
    }
}
