//! The Kingdee client the producer pages with: one ExecuteBillQuery page per call, signed (or on
//! a password session), under a rate limit and a cap on requests in flight, with transient
//! failures retried by backoff and a refused session retried once.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_CHARSET, CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::SecretString;
use tokio::sync::{Mutex, Semaphore};
use tracing::{debug, info, warn};

use super::auth_gate::AuthGate;
use super::error::{ErrorClass, Exchange, KingdeeError, classify, count_request};
use super::metadata::{self, FormMetadata, QUERY_BUSINESS_INFO};
use super::query::{BillQuery, EXECUTE_BILL_QUERY};
use super::retry::RetryPolicy;
use super::session::{Session, SessionStore, VALIDATE_USER, login_body, login_session_id};
use super::sign::{Signer, signature_headers};
use crate::record::Rows;
use crate::settings::{AuthMode, KingdeeSettings};
use crate::telemetry::series;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT: &str = concat!("k3sync/", env!("CARGO_PKG_VERSION"));

/// A Kingdee K3Cloud WebAPI client. Cheap to clone; clones share the session, the rate limit,
/// the in-flight cap and the pause after authentication refusals.
#[derive(Clone)]
pub struct KingdeeClient {
    inner: Arc<Inner>,
    gate: Arc<AuthGate>,
}

struct Inner {
    http: reqwest::Client,
    query_url: String,
    login_url: String,
    acct_id: String,
    auth: Auth,
    session: SessionStore,
    /// One password login at a time; the others wait for its session.
    login: Mutex<()>,
    /// Burst 1: requests are evenly spaced, never more than the rate in any second.
    limiter: Option<DefaultDirectRateLimiter>,
    in_flight: Semaphore,
    retry: RetryPolicy,
}

enum Auth {
    Signature(Signer),
    Password {
        user_name: String,
        password: SecretString,
        lcid: u32,
    },
}

impl std::fmt::Debug for KingdeeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KingdeeClient")
            .field("query_url", &self.inner.query_url)
            .finish_non_exhaustive()
    }
}

impl KingdeeClient {
    /// Builds the HTTP client; sends nothing. The settings are taken as
    /// [`crate::settings::Settings::load`] checked them (URL, timeout, password, app id, in-flight
    /// cap): nothing is checked again here.
    pub fn new(settings: &KingdeeSettings) -> Result<Self, KingdeeError> {
        super::install_crypto_provider();
        let base = base_url(&settings.server_url);
        let auth = match settings.auth {
            AuthMode::Signature => Auth::Signature(Signer::new(
                &settings.acct_id,
                &settings.user_name,
                &settings.app_id,
                &settings.app_secret,
                settings.lcid,
                &settings.org_num,
            )),
            AuthMode::Password => Auth::Password {
                user_name: settings.user_name.clone(),
                // Loaded settings have one; without it Kingdee refuses the login (an error naming
                // kingdee.password).
                password: settings.password.clone().unwrap_or_default(),
                lcid: settings.lcid,
            },
        };
        let query_url = format!("{base}{EXECUTE_BILL_QUERY}");
        let request_timeout = Duration::from_secs(settings.request_timeout_secs);
        let http = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(request_timeout))
            // A redirect would turn the POST into a GET; report it as the wrong server_url.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .map_err(KingdeeError::ClientBuild)?;
        let limiter = NonZeroU32::new(settings.requests_per_second)
            .map(|rps| RateLimiter::direct(Quota::per_second(rps).allow_burst(NonZeroU32::MIN)));
        Ok(Self {
            gate: Arc::new(AuthGate::new(&settings.auth_backoff)),
            inner: Arc::new(Inner {
                http,
                query_url,
                login_url: format!("{base}{VALIDATE_USER}"),
                acct_id: settings.acct_id.clone(),
                auth,
                session: SessionStore::default(),
                login: Mutex::new(()),
                limiter,
                in_flight: Semaphore::new(settings.max_in_flight),
                retry: RetryPolicy::from_settings(settings),
            }),
        })
    }

    /// Shares `gate` instead of the client's own: the producer keeps one gate for the life of
    /// the process, so that a reconnect does not forget the pause.
    pub fn with_auth_gate(mut self, gate: Arc<AuthGate>) -> Self {
        self.gate = gate;
        self
    }

    /// One ExecuteBillQuery page with rate limiting, in-flight cap, session handling, and
    /// retries per [`KingdeeError::class`]: transient errors with backoff, a refused session
    /// once with a fresh one, nothing else; not sent at all while authentication is paused
    /// ([`AuthGate`]). Rows stay as Kingdee sends them (arrays in FieldKeys order): no map per row.
    pub async fn execute_bill_query(&self, query: &BillQuery) -> Result<Rows, KingdeeError> {
        self.gate.admit_call()?;
        let result = self.query_with_retries(query).await;
        self.gate.observe(&result);
        result
    }

    async fn query_with_retries(&self, query: &BillQuery) -> Result<Rows, KingdeeError> {
        let call = Call {
            query,
            body: query.body(),
            request: query.describe(),
        };
        let retry = &self.inner.retry;
        let started = Instant::now();
        let session_retried = AtomicBool::new(false);
        (|| self.attempt_with_fresh_session_once(&call, &session_retried))
            .retry(retry.backoff())
            .when(|e: &KingdeeError| e.class() == ErrorClass::Transient)
            .adjust(|_, proposed| retry.delay(started, proposed))
            .notify(|e, delay| {
                metrics::counter!(series::KINGDEE_RETRIES).increment(1);
                warn!(
                    form_id = %query.form_id,
                    start_row = query.start_row,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    error = %crate::error_chain(e),
                    "Retrying a Kingdee request after a transient error"
                );
            })
            .await
    }

    /// MsgCode 1 means no valid session and the credentials failed: drop the session and try
    /// once more from scratch. Once per call, so a wrong secret costs two requests, not a loop.
    async fn attempt_with_fresh_session_once(
        &self,
        call: &Call<'_>,
        session_retried: &AtomicBool,
    ) -> Result<Rows, KingdeeError> {
        match self.attempt(call).await {
            Err(KingdeeError::Authentication { .. })
                if !session_retried.swap(true, Ordering::Relaxed) =>
            {
                metrics::counter!(series::KINGDEE_RETRIES).increment(1);
                warn!(form_id = %call.query.form_id, "Kingdee refused the session; retrying once with a new one");
                self.attempt(call).await
            }
            result => result,
        }
    }

    /// One HTTP request for the page, plus a password login first when one is needed.
    async fn attempt(&self, call: &Call<'_>) -> Result<Rows, KingdeeError> {
        self.request(
            "ExecuteBillQuery",
            &self.inner.query_url,
            call.body.clone(),
            (&call.request, &call.query.form_id),
            |reply, exchange| {
                classify(reply.status, &reply.body, exchange)
                    .and_then(|answer| call.query.rows(answer))
            },
        )
        .await
    }

    /// A form's metadata (QueryBusinessInfo), with the session and signature of a page but
    /// without retries: an operator's command asks once and shows what went wrong.
    pub async fn query_business_info(&self, form_id: &str) -> Result<FormMetadata, KingdeeError> {
        self.gate.admit_call()?;
        let request = format!("QueryBusinessInfo of `{form_id}`");
        let url = self
            .inner
            .query_url
            .replace(EXECUTE_BILL_QUERY, QUERY_BUSINESS_INFO);
        self.request(
            "QueryBusinessInfo",
            &url,
            metadata::body(form_id),
            (&request, form_id),
            |reply, exchange| metadata::read(reply.status, &reply.body, exchange),
        )
        .await
    }

    /// One request of `service` (named `request`, on form `form_id`) with what every request
    /// but the login carries: the session (a logged-in one in password mode) and, in signature
    /// mode, the signature. `read` reads the answer; the session keeps the cookies of an answer
    /// read and is dropped when Kingdee refuses it.
    async fn request<T>(
        &self,
        service: &'static str,
        url: &str,
        body: String,
        (request, form_id): (&str, &str),
        read: impl FnOnce(&Reply, &Exchange<'_>) -> Result<T, KingdeeError>,
    ) -> Result<T, KingdeeError> {
        let session = self.session().await?;
        let signer = match &self.inner.auth {
            Auth::Signature(signer) => Some(signer),
            Auth::Password { .. } => None,
        };
        let exchange = Exchange {
            request,
            form_id,
            acct_id: &self.inner.acct_id,
            quote_body: true,
        };
        let headers = session.headers().into_iter().collect();
        let result = self
            .send(url, signer, headers, body, request)
            .await
            .and_then(|reply| {
                let answer = read(&reply, &exchange);
                match &answer {
                    Ok(_) => self.inner.session.absorb(&reply.headers),
                    Err(KingdeeError::Authentication { .. }) => {
                        self.inner.session.invalidate(&session)
                    }
                    Err(_) => {}
                }
                answer
            });
        count_request(service, &result);
        result
    }

    /// The session to send: whatever is known in signature mode (the signature is enough),
    /// a logged-in one in password mode.
    async fn session(&self) -> Result<Session, KingdeeError> {
        let Auth::Password {
            user_name,
            password,
            lcid,
        } = &self.inner.auth
        else {
            return Ok(self.inner.session.snapshot());
        };
        let current = self.inner.session.snapshot();
        if current.sid().is_some() {
            return Ok(current);
        }
        let _one_login_at_a_time = self.inner.login.lock().await;
        let current = self.inner.session.snapshot();
        if current.sid().is_some() {
            return Ok(current);
        }
        let request = format!("ValidateUser as `{user_name}`");
        let body = login_body(&self.inner.acct_id, user_name, password, *lcid);
        let exchange = Exchange {
            request: &request,
            form_id: "(login)",
            acct_id: &self.inner.acct_id,
            quote_body: false,
        };
        let url = &self.inner.login_url;
        let result = self
            .send(url, None, HeaderMap::new(), body, &request)
            .await
            .and_then(|reply| {
                let answer = classify(reply.status, &reply.body, &exchange)?;
                let sid = login_session_id(&answer, &request)?;
                self.inner.session.absorb(&reply.headers);
                self.inner.session.set_sid(&sid);
                Ok(())
            });
        count_request("ValidateUser", &result);
        result?;
        info!(user_name = %user_name, "Logged in to Kingdee with a password");
        Ok(self.inner.session.snapshot())
    }

    /// Sends one POST once a slot and a rate token are free, and reads the whole answer.
    async fn send(
        &self,
        url: &str,
        signer: Option<&Signer>,
        mut headers: HeaderMap,
        body: String,
        request: &str,
    ) -> Result<Reply, KingdeeError> {
        // The slot first, then the token: a token taken while queueing for a slot would be
        // spent in a burst when slots free up. The semaphore is never closed.
        let _slot = self.inner.in_flight.acquire().await.ok();
        if let Some(limiter) = &self.inner.limiter {
            limiter.until_ready().await;
        }
        if let Some(signer) = signer {
            headers.extend(signature_headers(signer, url));
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT_CHARSET, HeaderValue::from_static("utf-8"));
        let started = Instant::now();
        let result = async {
            let http = &self.inner.http;
            let response = http.post(url).headers(headers).body(body).send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?.into();
            Ok(Reply {
                status,
                headers,
                body,
            })
        }
        .await
        .map_err(|source| KingdeeError::Transport {
            request: request.to_owned(),
            source,
        });
        let elapsed = started.elapsed();
        metrics::histogram!(series::KINGDEE_REQUEST_SECONDS).record(elapsed.as_secs_f64());
        debug!(
            request = %request,
            status = result.as_ref().map_or(0, |reply| reply.status.as_u16()),
            elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "Kingdee request answered"
        );
        result
    }
}

/// One page request, serialized once for all its attempts.
struct Call<'a> {
    query: &'a BillQuery,
    body: String,
    request: String,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// `server_url` ending in `/`, ready for a service name.
fn base_url(server_url: &str) -> String {
    let mut base = server_url.trim().to_owned();
    if !base.ends_with('/') {
        base.push('/');
    }
    base
}
