//! The broker's product and version. lapin reads them in the handshake but does not expose
//! them, so this opens a plain TCP connection, sends the AMQP 0-9-1 protocol header and reads
//! the server's `connection.start`, whose `server-properties` carry both; then it hangs up
//! before logging in. Over TLS (`amqps://`) it does not try.

use std::time::Duration;

use k3sync_common::settings::AmqpSettings;
use lapin::protocol::{AMQPClass, connection, parse_class};
use lapin::types::{AMQPValue, FieldTable};
use lapin::uri::{AMQPScheme, AMQPUri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PROTOCOL_HEADER: &[u8] = b"AMQP\x00\x00\x09\x01";
const FRAME_METHOD: u8 = 1;
const FRAME_END: u8 = 0xCE;
/// `connection.start` is a few hundred bytes; anything past this is not a broker.
const MAX_FRAME: usize = 128 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

/// What the broker says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub product: String,
    pub version: String,
    /// `major.minor` of `version`, when it reads as one.
    pub major_minor: Option<(u32, u32)>,
}

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("amqp.url is not an AMQP URL: {0}")]
    Url(String),
    #[error("not read over TLS (amqps://)")]
    Tls,
    #[error("cannot reach {0}")]
    Io(String, #[source] std::io::Error),
    #[error("no answer from {0} within {TIMEOUT:?}")]
    Timeout(String),
    #[error("{0} does not speak AMQP 0-9-1: {1}")]
    Protocol(String, &'static str),
}

/// The first configured node that answers tells (the nodes of a cluster run one version).
pub async fn server_info(settings: &AmqpSettings) -> Result<ServerInfo, VersionError> {
    let mut last = VersionError::Url("no address".into());
    for index in 0..settings.url.len() {
        match node_info(settings.url.expose(index)).await {
            Ok(info) => return Ok(info),
            Err(error) => last = error,
        }
    }
    Err(last)
}

async fn node_info(url: &str) -> Result<ServerInfo, VersionError> {
    let uri: AMQPUri = url.parse().map_err(VersionError::Url)?;
    if uri.scheme == AMQPScheme::AMQPS {
        return Err(VersionError::Tls);
    }
    let place = format!("{}:{}", uri.authority.host, uri.authority.port);
    tokio::time::timeout(TIMEOUT, read_start(&place))
        .await
        .map_err(|_| VersionError::Timeout(place.clone()))?
}

async fn read_start(place: &str) -> Result<ServerInfo, VersionError> {
    let io = |e| VersionError::Io(place.to_owned(), e);
    let bad = |what| VersionError::Protocol(place.to_owned(), what);
    let mut stream = TcpStream::connect(place).await.map_err(io)?;
    stream.write_all(PROTOCOL_HEADER).await.map_err(io)?;
    let mut header = [0u8; 7];
    stream.read_exact(&mut header).await.map_err(io)?;
    if header[0] != FRAME_METHOD {
        return Err(bad("the first frame is not a method frame"));
    }
    let size = u32::from_be_bytes([header[3], header[4], header[5], header[6]]) as usize;
    if size > MAX_FRAME {
        return Err(bad("the first frame is implausibly large"));
    }
    let mut payload = vec![0u8; size + 1];
    stream.read_exact(&mut payload).await.map_err(io)?;
    if payload.pop() != Some(FRAME_END) {
        return Err(bad("the first frame has no frame-end octet"));
    }
    let start = match parse_class(payload.as_slice()) {
        Ok((_, AMQPClass::Connection(connection::AMQPMethod::Start(start)))) => start,
        _ => return Err(bad("the first frame is not connection.start")),
    };
    Ok(info(&start.server_properties))
}

fn info(properties: &FieldTable) -> ServerInfo {
    let text = |name: &str| match properties.inner().get(name) {
        Some(AMQPValue::LongString(s)) => s.to_string(),
        Some(AMQPValue::ShortString(s)) => s.to_string(),
        _ => String::new(),
    };
    let version = text("version");
    ServerInfo {
        product: text("product"),
        major_minor: major_minor(&version),
        version,
    }
}

fn major_minor(version: &str) -> Option<(u32, u32)> {
    let (major, rest) = version.split_once('.')?;
    let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_major_and_minor() {
        assert_eq!(major_minor("3.10.8"), Some((3, 10)));
        assert_eq!(major_minor("4.1.0"), Some((4, 1)));
        assert_eq!(major_minor("4.0.0-rc.1"), Some((4, 0)));
        assert_eq!(major_minor("unknown"), None);
    }
}
