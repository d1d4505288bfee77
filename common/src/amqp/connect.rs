//! Connecting to RabbitMQ. Callers own reconnection: lapin's connection is not assumed to
//! recover by itself, so every long-running loop reconnects with backoff on its own.

use lapin::{Channel, Connection, ConnectionProperties};
use secrecy::ExposeSecret;

use crate::settings::AmqpSettings;

/// Opens a connection named after the process (visible in the broker's connection list).
pub async fn connect(settings: &AmqpSettings, name: &str) -> Result<Connection, lapin::Error> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    Connection::connect(settings.url.expose_secret(), properties).await
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
