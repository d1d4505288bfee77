//! The connection a batch is written on, with that connection's `max_allowed_packet`.
//!
//! The limit is read from the server on the connection that runs the statements when the sink
//! starts, and again after any connection was given up (a refused packet, a lost connection, a
//! failover): the server copies the global value into a session when the connection is made, so
//! a reconnect is when it can change. In between, the value read last is used — no round trip
//! per batch. Should it be stale after all (an operator's `SET GLOBAL` lowered it and the pool
//! made a new connection), the server refuses the statement for size, which is split like any
//! permanent failure and makes the next batch read the limit again. Bisection reuses the one
//! connection instead of taking one from the pool per attempt.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::MySql;
use sqlx::mysql::{MySqlConnection, MySqlPool};
use sqlx::pool::PoolConnection;

pub(super) struct Session {
    conn: PoolConnection<MySql>,
    limit: usize,
}

impl Session {
    /// A connection from the pool and its limit: `known` (0: not read yet, or a connection was
    /// given up since), else read on this connection and kept in `known`.
    pub async fn open(pool: &MySqlPool, known: &AtomicUsize) -> Result<Self, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        let mut limit = known.load(Ordering::Relaxed);
        if limit == 0 {
            let read: u64 = sqlx::query_scalar("SELECT @@max_allowed_packet")
                .fetch_one(&mut *conn)
                .await?;
            limit = usize::try_from(read).unwrap_or(usize::MAX);
            known.store(limit, Ordering::Relaxed);
        }
        Ok(Self { conn, limit })
    }

    /// The largest packet, in bytes, the server accepts on this connection.
    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn conn(&mut self) -> &mut MySqlConnection {
        &mut self.conn
    }

    /// Gives the connection up for good: after a refused packet or a lost connection the server
    /// has closed it, and back in the pool it would cost the next user a failed ping. The next
    /// session reads the limit again.
    pub fn discard(mut self, known: &AtomicUsize) {
        self.conn.close_on_drop();
        known.store(0, Ordering::Relaxed);
    }
}
