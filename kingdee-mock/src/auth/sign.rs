//! The signatures of Kingdee's SDK 8.x (§2), written from the protocol description and not
//! shared with k3sync's client: `KdHmac = base64(hex_lower(HMAC-SHA256))`, the app secret's
//! XOR decoding for the gateway signature, and the headers the Python SDK sends. The mock
//! verifies with these; tests and the benchmark sign with [`Signer`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The XOR key of `DecodeAppSecret`: rot13 of "0054s397p6234378o09pn7q3r5qropr7".
const XOR_KEY: &[u8] = b"0054f397c6234378b09ca7d3e5debce7";

/// `base64(hex_lower(HMAC_SHA256(key, msg)))`: always 88 characters.
pub fn kd_hmac(msg: &str, key: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm is unreachable.
        Err(_) => return String::new(),
    };
    mac.update(msg.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    STANDARD.encode(hex)
}

/// The gateway secret: the app id's part after `_`, base64-decoded, XORed with the key,
/// base64-encoded again; `""` unless that part is 32 valid base64 characters.
pub fn decode_app_secret(sec_part: &str) -> String {
    if sec_part.len() != 32 {
        return String::new();
    }
    match STANDARD.decode(sec_part) {
        Ok(bytes) => {
            let xored: Vec<u8> = bytes.iter().zip(XOR_KEY).map(|(b, k)| b ^ k).collect();
            STANDARD.encode(xored)
        }
        Err(_) => String::new(),
    }
}

/// The signed path: Python's `quote(path)` with `/` then replaced by `%2F`.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 2);
    for &b in path.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `X-Api-Signature` for a request path (the path as the client signed it).
pub fn api_signature(app_id: &str, path: &str, timestamp: &str, nonce: &str) -> String {
    let client_sec = match app_id.split('_').collect::<Vec<_>>().as_slice() {
        [_, sec] => decode_app_secret(sec),
        _ => String::new(),
    };
    let msg = format!(
        "POST\n{}\n\nx-api-nonce:{nonce}\nx-api-timestamp:{timestamp}\n",
        encode_path(path)
    );
    kd_hmac(&msg, &client_sec)
}

/// `acct,user,lcid,org`, the text behind `X-Kd-Appdata`.
pub fn app_data(acct: &str, user: &str, lcid: i64, org: i64) -> String {
    format!("{acct},{user},{lcid},{org}")
}

/// `X-Kd-Signature`.
pub fn kd_signature(app_id: &str, app_data: &str, app_secret: &str) -> String {
    kd_hmac(&format!("{app_id}{app_data}"), app_secret)
}

/// Signs requests the way the Python SDK does; for tests and the benchmark.
#[derive(Debug, Clone)]
pub struct Signer {
    pub acct: String,
    pub user: String,
    pub app_id: String,
    pub app_secret: String,
    pub lcid: i64,
    pub org: i64,
}

impl Signer {
    pub fn from_config(c: &crate::MockConfig) -> Self {
        Self {
            acct: c.acct_id.clone(),
            user: c.user.clone(),
            app_id: c.app_id.clone(),
            app_secret: c.app_secret.clone(),
            lcid: c.lcid,
            org: 0,
        }
    }

    /// The SDK's auth headers for a POST to `path` at `timestamp` (unix seconds).
    pub fn headers(&self, path: &str, timestamp: i64) -> Vec<(&'static str, String)> {
        let ts = timestamp.to_string();
        let data = app_data(&self.acct, &self.user, self.lcid, self.org);
        let client_id = self.app_id.split('_').next().unwrap_or_default().to_owned();
        vec![
            ("X-Api-ClientID", client_id),
            ("X-Api-Auth-Version", "2.0".to_owned()),
            ("x-api-timestamp", ts.clone()),
            ("x-api-nonce", ts.clone()),
            (
                "x-api-signheaders",
                "x-api-timestamp,x-api-nonce".to_owned(),
            ),
            (
                "X-Api-Signature",
                api_signature(&self.app_id, path, &ts, &ts),
            ),
            ("X-Kd-Appkey", self.app_id.clone()),
            ("X-Kd-Appdata", STANDARD.encode(data.as_bytes())),
            (
                "X-Kd-Signature",
                kd_signature(&self.app_id, &data, &self.app_secret),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP_ID: &str = "123456_X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3Df";
    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const PATH: &str =
        "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc";

    #[test]
    fn the_worked_example_of_section_2_signs_the_same() {
        assert_eq!(
            encode_path(PATH),
            "%2Fk3cloud%2FKingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc"
        );
        assert_eq!(
            decode_app_secret("X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3Df"),
            "b2bk0gNHSArHde44+4LbD+hoQqjoXBTs"
        );
        assert_eq!(
            api_signature(APP_ID, PATH, "1795711751", "1795711751"),
            "OTMwYThiYmFlMDIwYjEyZjUwYjk3NTY0MDIyMDdmZDZkODM4MDllNzhkZWYzOWQxZWM0OGM3NWY5NmI3NGI2Mg=="
        );
        let data = app_data("5f0c1234abcd12", "webapi", 2052, 0);
        assert_eq!(
            STANDARD.encode(&data),
            "NWYwYzEyMzRhYmNkMTIsd2ViYXBpLDIwNTIsMA=="
        );
        assert_eq!(
            kd_signature(APP_ID, &data, SECRET),
            "OTBlYjE4ODU4OWRhYzRiODMwZDE2ZDMxMjFjYmVmMzUxNGNkNDJkMjE3MmU4NzQxMWU0NWE3NGNkMWI4M2MyZA=="
        );
    }

    #[test]
    fn the_signer_sends_what_the_sdk_logged() {
        let signer = Signer::from_config(&crate::MockConfig::default());
        let h = signer.headers(PATH, 1_795_711_751);
        let get = |n: &str| h.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("X-Api-ClientID"), Some("123456"));
        assert_eq!(
            get("X-Kd-Appdata"),
            Some("NWYwYzEyMzRhYmNkMTIsd2ViYXBpLDIwNTIsMA==")
        );
        assert_eq!(
            get("X-Api-Signature"),
            Some(
                "OTMwYThiYmFlMDIwYjEyZjUwYjk3NTY0MDIyMDdmZDZkODM4MDllNzhkZWYzOWQxZWM0OGM3NWY5NmI3NGI2Mg=="
            )
        );
    }

    #[test]
    fn non_ascii_users_are_utf8_in_the_app_data() {
        let data = app_data("5f0c1234abcd12", "张三", 2052, 100);
        assert_eq!(
            STANDARD.encode(data),
            "NWYwYzEyMzRhYmNkMTIs5byg5LiJLDIwNTIsMTAw"
        );
    }

    #[test]
    fn odd_app_ids_give_an_empty_gateway_secret() {
        assert_eq!(decode_app_secret("short"), "");
        assert_eq!(decode_app_secret("X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3D_"), "");
        assert_eq!(kd_hmac("m", "k").len(), 88);
    }
}
