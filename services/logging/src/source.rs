//! Where a prediction was requested, typed from the wire to the column: the
//! proto's `Source` on the wire, [`Source`] in the store, and its lowercase
//! name (`web`, `grpc`) in the `source` text column of either backend.

use diesel::deserialize::{self, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::sql_types::Text;
use digits_proto::logging::v1 as pb;

/// Where a prediction was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum Source {
    /// The web app or the JSON API.
    Web,
    /// The public gRPC API.
    Grpc,
}

impl Source {
    /// The name stored in the column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Grpc => "grpc",
        }
    }

    fn from_column(name: &str) -> deserialize::Result<Self> {
        match name {
            "web" => Ok(Self::Web),
            "grpc" => Ok(Self::Grpc),
            other => Err(format!("unknown source {other:?} in the predictions table").into()),
        }
    }
}

/// The proto's `SOURCE_UNSPECIFIED` (or an unknown number) names no source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be SOURCE_WEB or SOURCE_GRPC")]
pub struct NoSource;

impl TryFrom<i32> for Source {
    type Error = NoSource;

    fn try_from(wire: i32) -> Result<Self, NoSource> {
        match pb::Source::try_from(wire) {
            Ok(pb::Source::Web) => Ok(Self::Web),
            Ok(pb::Source::Grpc) => Ok(Self::Grpc),
            _ => Err(NoSource),
        }
    }
}

impl From<Source> for pb::Source {
    fn from(source: Source) -> Self {
        match source {
            Source::Web => Self::Web,
            Source::Grpc => Self::Grpc,
        }
    }
}

crate::text_column::text_column!(Source);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_enum_maps_both_ways_and_unspecified_is_refused() {
        for source in [Source::Web, Source::Grpc] {
            let wire = pb::Source::from(source) as i32;
            assert_eq!(Source::try_from(wire), Ok(source));
            assert_eq!(Source::from_column(source.as_str()).ok(), Some(source));
        }
        assert_eq!(Source::try_from(pb::Source::Unspecified as i32), Err(NoSource));
        assert_eq!(Source::try_from(99), Err(NoSource));
        assert!(Source::from_column("fax").is_err());
    }
}
