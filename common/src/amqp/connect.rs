//! Connecting to RabbitMQ: the one place that picks a broker node. Callers own reconnection:
//! lapin's connection is not assumed to recover by itself, so every long-running loop reconnects
//! with its own backoff, and each attempt here goes round the configured nodes once, starting with
//! the node after the one this process used last (so a process that lost its node tries another
//! one first; the first connection starts with the first address).

use std::time::Duration;

use lapin::{Channel, Connection, ConnectionProperties};

use crate::settings::{AmqpSettings, redact};

/// How long one node may take to accept a connection and log in before the next is tried: a
/// host that is down without refusing (a dropped network) would otherwise hold the attempt for
/// the operating system's TCP timeout.
const NODE_TIMEOUT: Duration = Duration::from_secs(10);

/// No node answered.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no broker address answered (amqp.url)")]
    NoAddress,
    #[error("cannot connect to {url}")]
    Broker {
        /// The last address tried, its password redacted.
        url: String,
        #[source]
        source: lapin::Error,
    },
    #[error("{url} did not answer within {NODE_TIMEOUT:?}")]
    Timeout { url: String },
}

/// Opens a connection named after the process (visible in the broker's connection list) to the
/// first node that answers, trying each configured address once.
pub async fn connect(settings: &AmqpSettings, name: &str) -> Result<Connection, ConnectError> {
    let urls = &settings.url;
    let mut last = ConnectError::NoAddress;
    for index in urls.connect_order() {
        let properties = ConnectionProperties::default().with_connection_name(name.into());
        let url = redact(urls.expose(index));
        let connecting = Connection::connect(urls.expose(index), properties);
        match tokio::time::timeout(NODE_TIMEOUT, connecting).await {
            Ok(Ok(connection)) => {
                urls.used(index);
                if urls.len() > 1 {
                    tracing::info!(connection = name, url = %url, "Connected to the broker");
                }
                return Ok(connection);
            }
            Ok(Err(source)) => {
                if urls.len() > 1 {
                    tracing::warn!(connection = name, url = %url, error = %source,
                        "Broker node did not answer, trying the next");
                }
                last = ConnectError::Broker { url, source };
            }
            Err(_) => last = ConnectError::Timeout { url },
        }
        // The next connection must not start again with a node that just failed.
        urls.used(index);
    }
    Err(last)
}

/// Opens a channel; with `confirms` the broker acknowledges every publish (publisher confirms).
pub async fn open_channel(
    connection: &Connection,
    confirms: bool,
) -> Result<Channel, lapin::Error> {
    let channel = connection.create_channel().await?;
    if confirms {
        channel
            .confirm_select(lapin::options::ConfirmSelectOptions::default())
            .await?;
    }
    Ok(channel)
}
