//! What an operator (or a test) chooses when starting the mock: where it listens, how big and
//! which data sets it serves, the identity it accepts, the faults it injects, how it behaves
//! as a living ERP (what its operations stamp, late commits, clamped pages, churn) and how
//! slow a server it plays.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::data::form::Form;

/// The settings of one mock server. `Default` is the demo identity of `config/k3sync.toml`.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Address the binary listens on (`MockServer::start` always binds 127.0.0.1:0).
    pub listen: SocketAddr,
    /// Number of BD_MATERIAL rows generated at start (allocated copies included).
    pub rows: usize,
    /// Number of BD_Customer rows generated at start.
    pub customers: usize,
    /// Number of BD_Supplier rows generated at start.
    pub suppliers: usize,
    /// Seed of the generated data set: the same seed and row count give the same rows.
    pub seed: u64,
    /// The data center (账套) id; any other makes signed requests fail with HTTP 500.
    pub acct_id: String,
    /// The integration user name.
    pub user: String,
    /// The third-party app id, `<clientId>_<32 chars>`.
    pub app_id: String,
    /// The app secret that signs `X-Kd-Signature`.
    pub app_secret: String,
    /// The language id the identity must use (2052 = simplified Chinese).
    pub lcid: i64,
    /// Password accepted by the legacy `AuthService.ValidateUser` login.
    pub password: String,
    /// Largest `Limit` a query may ask for; a larger one is refused with MsgCode 4.
    pub max_limit: usize,
    /// Faults injected from the start (they can be changed at run time with `PUT /_mock/faults`).
    pub faults: Faults,
    /// How operations stamp dates and pages are cut (changed at run time with
    /// `PUT /_mock/living`).
    pub living: Living,
    /// Share (0..1) of generated rows whose FModifyDate is NULL, as on old or imported rows.
    pub null_modify_date_ratio: f64,
    /// A churn started with the server; `None` starts none (`POST /_mock/churn` can).
    pub churn: Option<crate::churn::ChurnPlan>,
    /// How slow a real server is: per-query and per-row latency and a cap on concurrent
    /// queries. Default: off.
    pub latency: Latency,
}

/// The latency model of a slow server, applied to ExecuteBillQuery and BillQuery only: a query
/// waits (first come, first served) for one of `max_concurrent_queries` slots, runs, and then
/// holds its slot for `query_latency_ms` plus `row_latency_us` per row it returned, like a
/// server whose worker pool is busy for that long. Unlike the fault `latency_ms` (added before
/// each affected request, outside any slot), this one queues queries behind each other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Latency {
    /// Time every query holds its slot, in milliseconds (0: none).
    pub query_latency_ms: u64,
    /// Extra time per returned row, in microseconds (0: none).
    pub row_latency_us: u64,
    /// Queries served at once; more wait in arrival order (0: no cap).
    pub max_concurrent_queries: usize,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
            rows: 10_000,
            customers: 2_000,
            suppliers: 1_000,
            seed: 42,
            acct_id: "5f0c1234abcd12".to_owned(),
            user: "webapi".to_owned(),
            app_id: "123456_X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3Df".to_owned(),
            app_secret: "0123456789abcdef0123456789abcdef".to_owned(),
            lcid: 2052,
            password: "k3sync-demo".to_owned(),
            max_limit: 10_000,
            faults: Faults::default(),
            living: Living::default(),
            null_modify_date_ratio: 0.0,
            churn: None,
            latency: Latency::default(),
        }
    }
}

impl MockConfig {
    /// How many rows of `form` are generated at start.
    pub fn rows_of(&self, form: Form) -> usize {
        match form {
            Form::Material => self.rows,
            Form::Customer => self.customers,
            Form::Supplier => self.suppliers,
        }
    }

    /// Checks every ratio and plan before anything starts.
    pub fn validate(&self) -> Result<(), String> {
        self.faults.validate()?;
        if !(0.0..=1.0).contains(&self.null_modify_date_ratio) {
            return Err(format!(
                "null_modify_date_ratio must be between 0 and 1, got {}",
                self.null_modify_date_ratio
            ));
        }
        match &self.churn {
            Some(plan) => plan.validate(),
            None => Ok(()),
        }
    }
}

/// Behaviours in which real K3Cloud servers differ. `Default` is the mock's choice for each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Living {
    /// Whether submit, audit, un-audit, forbid and enable also stamp FModifyDate. Off: only
    /// FApproveDate (audit) or FForbidDate (forbid, enable) moves, so an incremental sync
    /// that watches FModifyDate alone misses them.
    pub audit_moves_modify_date: bool,
    /// Whether enable clears FForbidDate and FForbidderId instead of stamping them. Off:
    /// enable stamps FForbidDate like forbid, so the FForbidDate cursor sees it.
    pub enable_clears_forbid_date: bool,
    /// A change made through `/_mock/ops` or the churn becomes visible stamped up to this many
    /// seconds in the past (a seeded random amount per change), like a save stamped before it
    /// commits. 0: every stamp is later than every date already held.
    pub late_commit_max_secs: u64,
    /// Pages hold at most this many rows, without an error, whatever Limit asked (0: no clamp).
    /// A Limit above `max_limit` is still refused first.
    pub clamp_limit: usize,
}

/// Injected faults. Ratios are probabilities in `0..=1`, drawn per request with a PRNG seeded
/// by `seed`, and apply only to the services named in `apply_to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Extra latency added to every affected request, in milliseconds.
    pub latency_ms: u64,
    /// Share of requests answered with an IIS HTTP 500 page.
    pub http500: f64,
    /// Share of requests answered with MsgCode 14 (调用限制, call limit).
    pub msgcode14: f64,
    /// Share of requests that sleep `hang_ms` before answering normally.
    pub hang: f64,
    /// How long a hanging request sleeps, in milliseconds.
    pub hang_ms: u64,
    /// Share of requests answered with a malformed body (HTML, truncated JSON or a short row).
    pub malformed: f64,
    /// Share of requests before which every session is forgotten.
    pub drop_sessions: f64,
    /// Seed of the fault draws.
    pub seed: u64,
    /// Services the faults apply to, by method name (case-insensitive).
    pub apply_to: Vec<String>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            http500: 0.0,
            msgcode14: 0.0,
            hang: 0.0,
            hang_ms: 130_000,
            malformed: 0.0,
            drop_sessions: 0.0,
            seed: 1,
            apply_to: vec!["ExecuteBillQuery".to_owned(), "BillQuery".to_owned()],
        }
    }
}

impl Faults {
    /// Checks that every ratio is a probability.
    pub fn validate(&self) -> Result<(), String> {
        let ratios = [
            ("http500", self.http500),
            ("msgcode14", self.msgcode14),
            ("hang", self.hang),
            ("malformed", self.malformed),
            ("drop_sessions", self.drop_sessions),
        ];
        for (name, value) in ratios {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("{name} must be between 0 and 1, got {value}"));
            }
        }
        Ok(())
    }

    pub fn applies_to(&self, service: &str) -> bool {
        self.apply_to
            .iter()
            .any(|s| s.eq_ignore_ascii_case(service))
    }
}
