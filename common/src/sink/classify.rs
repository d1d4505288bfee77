//! The one place that decides whether a database error is worth retrying. Transient errors
//! (connection trouble, lock waits, deadlocks, a read-only server) go through the retry tiers;
//! permanent ones (bad values, constraint violations) dead-letter the rows that caused them; a
//! statement too big for the server is cut smaller.

use sqlx::mysql::MySqlDatabaseError;

/// What to do about a failed write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteErrorClass {
    /// Try again later: the same rows may well succeed.
    Transient,
    /// These rows will never be accepted as they are: find them and dead-letter them.
    Permanent,
    /// The statement was bigger than the server's `max_allowed_packet` (which the server answers
    /// by closing the connection): cut it smaller; a single row this big can never be written.
    /// A limit of the statement, not a connection failure, although its SQLSTATE is class 08.
    TooLarge,
}

/// ER_NET_PACKET_TOO_LARGE: "Got a packet bigger than 'max_allowed_packet' bytes" (08S01).
pub const PACKET_TOO_LARGE: u16 = 1153;

/// MySQL/MariaDB error numbers that a retry can cure.
const TRANSIENT_NUMBERS: &[u16] = &[
    1040, // too many connections
    1053, // server shutdown in progress
    1205, // lock wait timeout exceeded
    1213, // deadlock found
    1290, // --read-only (a replica or a failover in progress)
    1317, // query execution was interrupted
    1792, // read-only transaction
    1836, // read-only mode
    1927, // MariaDB: connection was killed
    2006, // server has gone away
    2013, // lost connection during query
];

/// MySQL/MariaDB error numbers that name a bad value even where SQLSTATE is the generic HY000.
const PERMANENT_NUMBERS: &[u16] = &[
    1048, // column cannot be null
    1062, // duplicate entry (on a unique key other than the upsert's)
    1264, // out of range value
    1265, // data truncated
    1292, // incorrect datetime/date value
    1366, // incorrect integer/decimal/string value
    1406, // data too long for column
    1452, // foreign key constraint fails
    3140, // invalid JSON text
    4025, // MariaDB: CHECK constraint failed
];

/// Errors that mean the database cannot be reached or cannot take writes right now (as opposed
/// to contention on some rows). Retry tiers make no sense for those: the worker holds its batch
/// and waits for the database to come back.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|e| UNAVAILABLE_NUMBERS.contains(&e.number())),
        _ => false,
    }
}

/// Server gone, shutting down, or read-only (a failover in progress).
const UNAVAILABLE_NUMBERS: &[u16] = &[1040, 1053, 1290, 1792, 1836, 1927, 2006, 2013];

/// [`classify`] for a statement of `bytes` bytes (by the sink's estimate) sent on a connection
/// whose `max_allowed_packet` is `limit`. Such a statement, once over the limit, is refused for
/// size however the refusal shows: the server sends 1153 and closes the connection, and a client
/// still writing the rest of a big packet meets the reset before it reads the 1153 (a 40 MB
/// statement against 16 MiB does, every time).
pub fn classify_statement(error: &sqlx::Error, bytes: usize, limit: usize) -> WriteErrorClass {
    if bytes > limit && lost_connection(error) {
        return WriteErrorClass::TooLarge;
    }
    classify(error)
}

/// The connection broke under the statement (rather than the server answering it).
fn lost_connection(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|e| matches!(e.number(), 2006 | 2013)),
        _ => false,
    }
}

pub fn classify(error: &sqlx::Error) -> WriteErrorClass {
    match error {
        sqlx::Error::Database(db) => {
            match db
                .try_downcast_ref::<MySqlDatabaseError>()
                .map(MySqlDatabaseError::number)
            {
                Some(PACKET_TOO_LARGE) => return WriteErrorClass::TooLarge,
                Some(n) if TRANSIENT_NUMBERS.contains(&n) => return WriteErrorClass::Transient,
                Some(n) if PERMANENT_NUMBERS.contains(&n) => return WriteErrorClass::Permanent,
                _ => {}
            }
            match db.code().as_deref().map(|s| s.get(..2).unwrap_or(s)) {
                // SQLSTATE class 22 (data exception) and 23 (integrity constraint violation).
                Some("22") | Some("23") => WriteErrorClass::Permanent,
                // Anything else (a missing table, a privilege) affects every row alike: retry
                // through the tiers, which gives an operator time to fix the schema.
                _ => WriteErrorClass::Transient,
            }
        }
        // Values that cannot even be encoded are the row's fault.
        sqlx::Error::Encode(_) | sqlx::Error::InvalidArgument(_) => WriteErrorClass::Permanent,
        _ => WriteErrorClass::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_and_pool_errors_are_transient() {
        let io = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ));
        assert_eq!(classify(&io), WriteErrorClass::Transient);
        assert_eq!(
            classify(&sqlx::Error::PoolTimedOut),
            WriteErrorClass::Transient
        );
        assert_eq!(
            classify(&sqlx::Error::Protocol("eof".into())),
            WriteErrorClass::Transient
        );
    }

    #[test]
    fn a_reset_under_a_statement_over_the_limit_is_a_refusal_for_size() {
        let reset = || {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "reset",
            ))
        };
        let limit = 16 * 1024 * 1024;
        assert_eq!(
            classify_statement(&reset(), limit + 1, limit),
            WriteErrorClass::TooLarge
        );
        // Within the limit a reset is the connection's fault, not the statement's.
        assert_eq!(
            classify_statement(&reset(), limit, limit),
            WriteErrorClass::Transient
        );
        // A statement over the limit that the server still answered is judged by its answer.
        assert_eq!(
            classify_statement(&sqlx::Error::PoolTimedOut, limit + 1, limit),
            WriteErrorClass::Transient
        );
    }
}
