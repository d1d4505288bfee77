//! `amqp.url`: one broker address or several (the nodes of a cluster), as a TOML list or one
//! comma-separated string (the form `K3SYNC__AMQP__URL` takes). Each address holds a password, so
//! each stays a [`SecretString`] and only its redacted form is ever printed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lapin::uri::AMQPUri;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

use super::SettingsError;
use super::validate::ensure;

/// The broker addresses in the order given, and which one this process's last connection used
/// (shared by every clone of the settings: the process's connections take turns over the nodes,
/// and one that lost its node starts with the next).
#[derive(Debug, Clone, Default)]
pub struct BrokerUrls {
    urls: Vec<SecretString>,
    last: Arc<AtomicUsize>,
}

/// `last` before any connection: the first connection starts with the first address.
const NONE_YET: usize = usize::MAX;

impl BrokerUrls {
    /// Parses `text`: addresses separated by commas, blanks around them dropped.
    pub fn parse(text: &str) -> Self {
        let urls = text.split(',').map(str::trim).filter(|u| !u.is_empty());
        Self::new(urls.map(SecretString::from).collect())
    }

    fn new(urls: Vec<SecretString>) -> Self {
        Self {
            urls,
            last: Arc::new(AtomicUsize::new(NONE_YET)),
        }
    }

    pub fn len(&self) -> usize {
        self.urls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// The address at `index`, password included: for the connection only.
    pub fn expose(&self, index: usize) -> &str {
        self.urls[index].expose_secret()
    }

    /// The indexes in the order the next connection tries them: from the one after the last
    /// used (the first address before any connection), round the list once.
    pub fn connect_order(&self) -> Vec<usize> {
        let n = self.urls.len();
        let start = match self.last.load(Ordering::Relaxed) {
            NONE_YET => 0,
            last => (last + 1) % n.max(1),
        };
        (0..n).map(|i| (start + i) % n).collect()
    }

    /// Records that a connection to `index` was opened.
    pub fn used(&self, index: usize) {
        self.last.store(index, Ordering::Relaxed);
    }

    /// Each address must be an AMQP URL; the error names the bad one (`amqp.url[1]`).
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.urls.is_empty() {
            return Err(SettingsError::Missing {
                name: "amqp.url".into(),
            });
        }
        for (i, url) in self.urls.iter().enumerate() {
            let parsed = url.expose_secret().parse::<AMQPUri>();
            ensure(
                parsed.is_ok(),
                &format!("amqp.url[{i}]"),
                &format!(
                    "`{}` is not an AMQP URL (amqp://user:password@host:5672/vhost)",
                    redact(url.expose_secret())
                ),
            )?;
        }
        Ok(())
    }
}

impl From<&str> for BrokerUrls {
    fn from(text: &str) -> Self {
        Self::parse(text)
    }
}

impl From<String> for BrokerUrls {
    fn from(text: String) -> Self {
        Self::parse(&text)
    }
}

impl<'de> Deserialize<'de> for BrokerUrls {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            One(String),
            Many(Vec<String>),
        }
        Ok(match Form::deserialize(deserializer)? {
            Form::One(text) => Self::parse(&text),
            // A list entry is one address: an empty one is kept, so validation can name it.
            Form::Many(list) => Self::new(list.into_iter().map(SecretString::from).collect()),
        })
    }
}

/// `scheme://user:***@host…`: the password (anything between the user's `:` and the `@`) hidden.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return "***".into();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme_end], &rest[at..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comma_separated_string_gives_each_address_in_order() {
        let urls = BrokerUrls::parse(" amqp://a:p@h1:5672/%2f , amqp://a:p@h2:5672/%2f,");
        assert_eq!(urls.len(), 2);
        assert_eq!(urls.expose(1), "amqp://a:p@h2:5672/%2f");
    }

    #[test]
    fn a_toml_list_and_a_single_string_both_deserialize() {
        #[derive(Deserialize)]
        struct S {
            url: BrokerUrls,
        }
        let load = |text: &str| -> S {
            use figment::providers::{Format, Toml};
            figment::Figment::from(Toml::string(text))
                .extract()
                .expect("loads")
        };
        let list = load(r#"url = ["amqp://h1", "amqp://h2"]"#);
        assert_eq!(list.url.len(), 2);
        let one = load(r#"url = "amqp://h1""#);
        assert_eq!(one.url.len(), 1);
    }

    #[test]
    fn connections_start_with_the_first_and_move_on_after_the_one_used() {
        let urls = BrokerUrls::parse("amqp://h1,amqp://h2,amqp://h3");
        assert_eq!(urls.connect_order(), [0, 1, 2]);
        urls.used(0);
        assert_eq!(urls.connect_order(), [1, 2, 0]);
        urls.used(2);
        assert_eq!(urls.connect_order(), [0, 1, 2]);
        // Clones are the same process's settings: they share the turn.
        let clone = urls.clone();
        clone.used(1);
        assert_eq!(urls.connect_order(), [2, 0, 1]);
    }

    #[test]
    fn a_bad_entry_is_named_by_its_index_without_its_password() {
        let urls = BrokerUrls::parse("amqp://u:secret@h1:5672/%2f,http://u:secret@h2/");
        let error = urls.validate().expect_err("invalid").to_string();
        assert!(error.contains("`amqp.url[1]`"), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn an_empty_url_is_missing() {
        assert!(matches!(
            BrokerUrls::parse(" ").validate(),
            Err(SettingsError::Missing { name }) if name == "amqp.url"
        ));
    }

    #[test]
    fn redaction_hides_the_password_only() {
        assert_eq!(
            redact("amqp://guest:guest@127.0.0.1:5681/%2f"),
            "amqp://guest:***@127.0.0.1:5681/%2f"
        );
        assert_eq!(redact("amqp://127.0.0.1:5681"), "amqp://127.0.0.1:5681");
        assert_eq!(redact("garbage"), "***");
    }

    #[test]
    fn debug_output_does_not_show_a_password() {
        let urls = BrokerUrls::parse("amqp://u:hunter2@h1/,amqp://u:hunter2@h2/");
        assert!(!format!("{urls:?}").contains("hunter2"));
    }
}
