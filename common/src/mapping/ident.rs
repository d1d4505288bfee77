//! The identifier whitelist: table and column names reach SQL text, so they are checked when the
//! mapping compiles; field references name Kingdee FieldKeys.

/// `^[A-Za-z_][A-Za-z0-9_]{0,63}$`: a MySQL table or column name k3sync will put into SQL.
pub(crate) fn is_sql_identifier(name: &str) -> bool {
    name.len() <= 64 && is_word(name)
}

/// `^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`: a Kingdee field key such as
/// `FNumber` or `FUseOrgId.FNumber`.
pub(super) fn is_field_ref(name: &str) -> bool {
    name.split('.').all(is_word)
}

fn is_word(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
