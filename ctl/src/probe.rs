//! Looking at queues and exchanges without changing them: passive declares, which need no
//! management plugin. A passive declare of something missing makes the broker close the
//! channel (404), so the probe opens a fresh channel after every failure.

use k3sync_common::amqp;
use k3sync_common::amqp::topology::queue_depth;
use lapin::options::ExchangeDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ErrorKind, ExchangeKind};

/// What a passive declare found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    Present { ready: u32, consumers: u32 },
    Missing,
}

/// Passive declares on one connection, reopening the channel the broker closes after a 404.
pub struct Probe<'c> {
    connection: &'c Connection,
    channel: Option<Channel>,
}

impl<'c> Probe<'c> {
    pub fn new(connection: &'c Connection) -> Self {
        Self {
            connection,
            channel: None,
        }
    }

    async fn channel(&mut self) -> Result<Channel, lapin::Error> {
        match &self.channel {
            Some(channel) if channel.status().connected() => Ok(channel.clone()),
            _ => {
                let channel = amqp::open_channel(self.connection, false).await?;
                self.channel = Some(channel.clone());
                Ok(channel)
            }
        }
    }

    /// Ready messages and consumers of `queue`, or `Missing`.
    pub async fn queue(&mut self, queue: &str) -> Result<QueueState, lapin::Error> {
        let channel = self.channel().await?;
        let found = queue_depth(&channel, queue).await;
        self.unless_missing(
            found.map(|(ready, consumers)| QueueState::Present { ready, consumers }),
            QueueState::Missing,
        )
    }

    /// Whether the exchange exists.
    pub async fn exchange(&mut self, exchange: &str) -> Result<bool, lapin::Error> {
        let channel = self.channel().await?;
        let options = ExchangeDeclareOptions {
            passive: true,
            ..ExchangeDeclareOptions::default()
        };
        let (kind, arguments) = (ExchangeKind::Direct, FieldTable::default());
        let found = channel
            .exchange_declare(exchange.into(), kind, options, arguments)
            .await;
        self.unless_missing(found.map(|()| true), false)
    }

    /// A passive declare's answer, or `missing` when the broker said 404; after any error the
    /// broker has closed the channel.
    fn unless_missing<T>(
        &mut self,
        found: Result<T, lapin::Error>,
        missing: T,
    ) -> Result<T, lapin::Error> {
        found.or_else(|error| {
            self.channel = None;
            if is_not_found(&error) {
                Ok(missing)
            } else {
                Err(error)
            }
        })
    }
}

/// The broker's reply code of a channel or connection error (404 not found, 406 precondition
/// failed, …), if the error came from the broker.
pub fn reply_code(error: &lapin::Error) -> Option<u16> {
    match error.kind() {
        ErrorKind::ProtocolError(amqp) => Some(amqp.get_id()),
        _ => None,
    }
}

/// The broker said NOT_FOUND (the queue or exchange does not exist).
pub fn is_not_found(error: &lapin::Error) -> bool {
    reply_code(error) == Some(404)
}

/// The broker's own words for a protocol error (`inequivalent arg 'x-delivery-limit' …`).
pub fn broker_message(error: &lapin::Error) -> String {
    match error.kind() {
        ErrorKind::ProtocolError(amqp) => amqp.get_message().to_string(),
        _ => error.to_string(),
    }
}
