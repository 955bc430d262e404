//! Where a prediction was requested, typed from the wire to the column: the
//! proto's `Source` on the wire, [`Source`] in the store, and its lowercase
//! name (`web`, `grpc`) in the `source` text column of either backend.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use digits_proto::logging::v1 as pb;

use crate::db::MultiBackend;

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

impl ToSql<Text, Pg> for Source {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), &mut out.reborrow())
    }
}

impl ToSql<Text, Sqlite> for Source {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.as_str());
        Ok(IsNull::No)
    }
}

impl ToSql<Text, MultiBackend> for Source {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for Source {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Self::from_column(&<String as FromSql<Text, Pg>>::from_sql(bytes)?)
    }
}

impl FromSql<Text, Sqlite> for Source {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Self::from_column(&<String as FromSql<Text, Sqlite>>::from_sql(bytes)?)
    }
}

impl FromSql<Text, MultiBackend> for Source {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Text>()
    }
}

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
