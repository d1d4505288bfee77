//! Request signing (kingdee-webapi.md §2): the stateless signature Kingdee's current SDKs put on
//! every WebAPI call, from which the server creates or reuses a session.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The signature headers as header values. Nothing here can be refused: the names are fixed and
/// the values are digits, base64 and the app id, which `KingdeeSettings::validate` checked can go
/// in a header.
pub(crate) fn signature_headers(signer: &Signer, url: &str) -> HeaderMap {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    signer
        .headers(url, timestamp)
        .into_iter()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("a fixed header name");
            let value = HeaderValue::from_str(&value).expect("checked when the settings load");
            (name, value)
        })
        .collect()
}

/// The XOR key of the SDK's `DecodeAppSecret`, as ASCII bytes (only the first 24 are used).
const APP_SECRET_XOR_KEY: &[u8; 32] = b"0054f397c6234378b09ca7d3e5debce7";

/// Everything needed to sign a request, computed once per client.
///
/// The `Debug` output names the app only: the app secret, the derived gateway secret and the
/// `X-Kd-Signature` (which does not depend on the time, so it works like a password) never show.
pub struct Signer {
    client_id: String,
    app_key: String,
    app_data: String,
    client_sec: SecretString,
    kd_signature: SecretString,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("app_key", &self.app_key)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for one identity (`acct_id`, `user_name`, `lcid`, `org_num`) of one app.
    pub fn new(
        acct_id: &str,
        user_name: &str,
        app_id: &str,
        app_secret: &SecretString,
        lcid: u32,
        org_num: &str,
    ) -> Self {
        let (client_id, sec_part) = match app_id.split('_').collect::<Vec<_>>().as_slice() {
            [client_id, sec_part] => (*client_id, *sec_part),
            _ => ("", ""),
        };
        let app_data = format!("{acct_id},{user_name},{lcid},{org_num}");
        let kd_signature = kd_hmac(&format!("{app_id}{app_data}"), app_secret.expose_secret());
        Self {
            client_id: client_id.to_owned(),
            app_key: app_id.to_owned(),
            app_data: STANDARD.encode(app_data.as_bytes()),
            client_sec: SecretString::from(decode_app_secret(sec_part)),
            kd_signature: SecretString::from(kd_signature),
        }
    }

    /// The signature headers for a POST to `url` at `timestamp` (unix seconds), with the names
    /// and in the order the Python SDK sends them.
    pub fn headers(&self, url: &str, timestamp: u64) -> [(&'static str, String); 9] {
        let ts = timestamp.to_string();
        let api_sign = format!(
            "POST\n{}\n\nx-api-nonce:{ts}\nx-api-timestamp:{ts}\n",
            quote_path(signed_path(url))
        );
        let api_signature = kd_hmac(&api_sign, self.client_sec.expose_secret());
        [
            ("X-Api-ClientID", self.client_id.clone()),
            ("X-Api-Auth-Version", "2.0".to_owned()),
            ("x-api-timestamp", ts.clone()),
            ("x-api-nonce", ts),
            (
                "x-api-signheaders",
                "x-api-timestamp,x-api-nonce".to_owned(),
            ),
            ("X-Api-Signature", api_signature),
            ("X-Kd-Appkey", self.app_key.clone()),
            ("X-Kd-Appdata", self.app_data.clone()),
            (
                "X-Kd-Signature",
                self.kd_signature.expose_secret().to_owned(),
            ),
        ]
    }
}

/// `base64(hex_lower(HMAC-SHA256(key, msg)))`: the SDK base64-encodes the hex text, not the bytes.
fn kd_hmac(msg: &str, key: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        // HMAC takes keys of any length; this arm only satisfies the type.
        return String::new();
    };
    mac.update(msg.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    STANDARD.encode(hex.as_bytes())
}

/// The SDK's `DecodeAppSecret`: base64 of (base64-decoded secret part XOR the fixed key).
/// Anything but 32 characters gives `""`, as in the SDK; so does text that is not base64
/// (the SDK would raise; only the gateway signature depends on this value).
fn decode_app_secret(sec_part: &str) -> String {
    match STANDARD.decode(sec_part) {
        Ok(bytes) if sec_part.chars().count() == 32 => {
            let xored: Vec<u8> = bytes
                .iter()
                .zip(APP_SECRET_XOR_KEY)
                .map(|(a, k)| a ^ k)
                .collect();
            STANDARD.encode(xored)
        }
        _ => String::new(),
    }
}

/// The SDK signs `url[url.index('/', 10):]`: the path from the first `/` at or after character
/// 10, which drops the first path segment of very short hosts (`http://k3/…`). Where Python
/// would raise (no such `/`), we sign an empty path.
fn signed_path(url: &str) -> &str {
    url.char_indices()
        .enumerate()
        .find(|(position, (_, c))| *position >= 10 && *c == '/')
        .map_or("", |(_, (byte, _))| &url[byte..])
}

/// Python's `urllib.parse.quote(path)` followed by `.replace('/', '%2F')`: every byte but
/// `A-Z a-z 0-9 _ . - ~` is percent-encoded with upper-case hex.
fn quote_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 3);
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:8090/k3cloud/\
        Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc";

    fn example_signer() -> Signer {
        Signer::new(
            "5f0c1234abcd12",
            "webapi",
            "123456_X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3Df",
            &SecretString::from("0123456789abcdef0123456789abcdef"),
            2052,
            "0",
        )
    }

    fn header(headers: &[(&'static str, String)], name: &str) -> String {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    #[test]
    fn signer_reproduces_the_worked_example() {
        let signer = example_signer();
        assert_eq!(
            signer.client_sec.expose_secret(),
            "b2bk0gNHSArHde44+4LbD+hoQqjoXBTs"
        );
        let headers = signer.headers(URL, 1_795_711_751);
        assert_eq!(
            header(&headers, "X-Api-Signature"),
            "OTMwYThiYmFlMDIwYjEyZjUwYjk3NTY0MDIyMDdmZDZkODM4MDllNzhkZWYzOWQxZWM0OGM3NWY5NmI3NGI2Mg=="
        );
        assert_eq!(
            header(&headers, "X-Kd-Appdata"),
            "NWYwYzEyMzRhYmNkMTIsd2ViYXBpLDIwNTIsMA=="
        );
        assert_eq!(
            header(&headers, "X-Kd-Signature"),
            "OTBlYjE4ODU4OWRhYzRiODMwZDE2ZDMxMjFjYmVmMzUxNGNkNDJkMjE3MmU4NzQxMWU0NWE3NGNkMWI4M2MyZA=="
        );
        assert_eq!(header(&headers, "X-Api-ClientID"), "123456");
        assert_eq!(header(&headers, "x-api-timestamp"), "1795711751");
        assert_eq!(header(&headers, "x-api-nonce"), "1795711751");
    }

    #[test]
    fn signer_sends_the_sdk_headers_in_the_sdk_order() {
        let names: Vec<_> = example_signer()
            .headers(URL, 1)
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(
            names,
            [
                "X-Api-ClientID",
                "X-Api-Auth-Version",
                "x-api-timestamp",
                "x-api-nonce",
                "x-api-signheaders",
                "X-Api-Signature",
                "X-Kd-Appkey",
                "X-Kd-Appdata",
                "X-Kd-Signature"
            ]
        );
    }

    #[test]
    fn signed_path_is_quoted_with_slashes_encoded() {
        assert_eq!(
            quote_path(signed_path(URL)),
            "%2Fk3cloud%2FKingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc"
        );
        assert_eq!(quote_path("/a b/总~"), "%2Fa%20b%2F%E6%80%BB~");
    }

    #[test]
    fn short_hosts_lose_their_first_path_segment_like_the_sdk() {
        assert_eq!(signed_path("http://k3/k3cloud/X"), "/X");
        assert_eq!(signed_path("http://k3/X"), "");
    }

    #[test]
    fn app_data_is_utf8_base64_of_non_ascii_users() {
        let signer = Signer::new(
            "5f0c1234abcd12",
            "张三",
            "123456_X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3Df",
            &SecretString::from("x"),
            2052,
            "100",
        );
        assert_eq!(signer.app_data, "NWYwYzEyMzRhYmNkMTIs5byg5LiJLDIwNTIsMTAw");
    }

    #[test]
    fn app_ids_without_one_underscore_give_empty_client_parts() {
        let signer = Signer::new(
            "a",
            "u",
            "no-underscore",
            &SecretString::from("s"),
            2052,
            "0",
        );
        assert_eq!(signer.client_id, "");
        assert_eq!(signer.client_sec.expose_secret(), "");
        assert_eq!(decode_app_secret("short"), "");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let text = format!("{:?}", example_signer());
        assert!(
            !text.contains("b2bk0g") && !text.contains("OTBlYjE4"),
            "{text}"
        );
    }
}
