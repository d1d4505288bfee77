//! The connection a batch is written on, with that connection's `max_allowed_packet`.
//!
//! The limit is read on the very connection that runs the statements, once per connection taken
//! from the pool (once per batch, and again after a connection is replaced). The server copies
//! the global value into a session when the connection is made and the session value cannot be
//! changed (it is read-only in MariaDB), so a value read on the connection is exactly the limit
//! its statements meet: never stale after a reconnect, a failover or an operator's
//! `SET GLOBAL`, which a value cached for the whole pool could be. It costs one round trip per
//! batch, small beside the batch's own write; bisection then reuses the one connection instead
//! of taking one from the pool per attempt.

use sqlx::MySql;
use sqlx::mysql::{MySqlConnection, MySqlPool};
use sqlx::pool::PoolConnection;

pub(super) struct Session {
    conn: PoolConnection<MySql>,
    limit: usize,
}

impl Session {
    /// A connection from the pool and its limit.
    pub async fn open(pool: &MySqlPool) -> Result<Self, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        let limit: u64 = sqlx::query_scalar("SELECT @@max_allowed_packet")
            .fetch_one(&mut *conn)
            .await?;
        Ok(Self {
            conn,
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        })
    }

    /// The largest packet, in bytes, the server accepts on this connection.
    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn conn(&mut self) -> &mut MySqlConnection {
        &mut self.conn
    }

    /// Gives the connection up for good: after a refused packet or a lost connection the server
    /// has closed it, and back in the pool it would cost the next user a failed ping.
    pub fn discard(mut self) {
        self.conn.close_on_drop();
    }
}
