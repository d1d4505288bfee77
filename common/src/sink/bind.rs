//! Binds mapped values as statement parameters (values never enter the SQL text).

use sqlx::mysql::{MySql, MySqlArguments};
use sqlx::query::Query;

use crate::mapping::SqlValue;

pub fn bind_value<'q>(
    query: Query<'q, MySql, MySqlArguments>,
    value: &'q SqlValue,
) -> Query<'q, MySql, MySqlArguments> {
    match value {
        SqlValue::Null => query.bind(None::<String>),
        SqlValue::Int(i) => query.bind(*i),
        SqlValue::Decimal(s) | SqlValue::Text(s) => query.bind(s.as_str()),
        SqlValue::Bool(b) => query.bind(*b),
        SqlValue::DateTime(d) => query.bind(*d),
    }
}
