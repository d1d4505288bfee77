//! The `kingdee-mock` binary: flags (each also from `KINGDEE_MOCK_<FLAG>`), logging, and a
//! graceful stop on SIGINT or SIGTERM. Everything else lives in the library.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;
use kingdee_mock::churn::{ChurnPlan, Mix};
use kingdee_mock::config::Living;
use kingdee_mock::{Faults, Latency, MockConfig};
use tracing::info;

/// A Kingdee K3Cloud WebAPI stand-in serving generated BD_MATERIAL, BD_Customer and BD_Supplier
/// rows.
#[derive(Debug, Parser)]
#[command(name = "kingdee-mock", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "KINGDEE_MOCK_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Number of BD_MATERIAL rows to generate.
    #[arg(long, env = "KINGDEE_MOCK_ROWS", default_value_t = 10_000)]
    rows: usize,
    /// Number of BD_Customer rows to generate.
    #[arg(long, env = "KINGDEE_MOCK_CUSTOMERS", default_value_t = 2_000)]
    customers: usize,
    /// Number of BD_Supplier rows to generate.
    #[arg(long, env = "KINGDEE_MOCK_SUPPLIERS", default_value_t = 1_000)]
    suppliers: usize,
    /// Seed of the generated data.
    #[arg(long, env = "KINGDEE_MOCK_SEED", default_value_t = 42)]
    seed: u64,
    /// Data center (账套) id clients must sign with.
    #[arg(long, env = "KINGDEE_MOCK_ACCT_ID", default_value = "5f0c1234abcd12")]
    acct_id: String,
    /// Integration user name.
    #[arg(long, env = "KINGDEE_MOCK_USER", default_value = "webapi")]
    user: String,
    /// Third-party app id.
    #[arg(
        long,
        env = "KINGDEE_MOCK_APP_ID",
        default_value = "123456_X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3Df"
    )]
    app_id: String,
    /// App secret.
    #[arg(
        long,
        env = "KINGDEE_MOCK_APP_SECRET",
        default_value = "0123456789abcdef0123456789abcdef"
    )]
    app_secret: String,
    /// Language id clients must use.
    #[arg(long, env = "KINGDEE_MOCK_LCID", default_value_t = 2052)]
    lcid: i64,
    /// Password of the legacy ValidateUser login.
    #[arg(long, env = "KINGDEE_MOCK_PASSWORD", default_value = "k3sync-demo")]
    password: String,
    /// Largest Limit a query may ask for.
    #[arg(long, env = "KINGDEE_MOCK_MAX_LIMIT", default_value_t = 10_000)]
    max_limit: usize,
    /// Latency added to each query, in milliseconds.
    #[arg(long, env = "KINGDEE_MOCK_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
    /// Share of queries answered with HTTP 500 (0..1).
    #[arg(long, env = "KINGDEE_MOCK_FAIL_HTTP500", default_value_t = 0.0)]
    fail_http500: f64,
    /// Share of queries answered with MsgCode 14 (0..1).
    #[arg(long, env = "KINGDEE_MOCK_FAIL_MSGCODE14", default_value_t = 0.0)]
    fail_msgcode14: f64,
    /// Share of queries that hang for --hang-ms before answering (0..1).
    #[arg(long, env = "KINGDEE_MOCK_FAIL_HANG", default_value_t = 0.0)]
    fail_hang: f64,
    /// How long a hanging query sleeps, in milliseconds.
    #[arg(long, env = "KINGDEE_MOCK_HANG_MS", default_value_t = 130_000)]
    hang_ms: u64,
    /// Share of queries answered with a malformed body (0..1).
    #[arg(long, env = "KINGDEE_MOCK_FAIL_MALFORMED", default_value_t = 0.0)]
    fail_malformed: f64,
    /// Share of queries before which all sessions are forgotten (0..1).
    #[arg(long, env = "KINGDEE_MOCK_DROP_SESSIONS", default_value_t = 0.0)]
    drop_sessions: f64,
    /// Seed of the fault draws.
    #[arg(long, env = "KINGDEE_MOCK_FAULT_SEED", default_value_t = 1)]
    fault_seed: u64,
    /// Submit, audit, un-audit, forbid and enable also stamp FModifyDate (default: only their
    /// own date moves).
    #[arg(long, env = "KINGDEE_MOCK_AUDIT_MOVES_MODIFY_DATE")]
    audit_moves_modify_date: bool,
    /// Enable clears FForbidDate instead of stamping it.
    #[arg(long, env = "KINGDEE_MOCK_ENABLE_CLEARS_FORBID_DATE")]
    enable_clears_forbid_date: bool,
    /// Changes become visible stamped up to this many seconds in the past (0: never).
    #[arg(long, env = "KINGDEE_MOCK_LATE_COMMIT_MAX_SECS", default_value_t = 0)]
    late_commit_max_secs: u64,
    /// Every page holds at most this many rows, without an error (0: no clamp).
    #[arg(long, env = "KINGDEE_MOCK_CLAMP_LIMIT", default_value_t = 0)]
    clamp_limit: usize,
    /// Share of generated rows whose FModifyDate is NULL (0..1).
    #[arg(
        long,
        env = "KINGDEE_MOCK_NULL_MODIFY_DATE_RATIO",
        default_value_t = 0.0
    )]
    null_modify_date_ratio: f64,
    /// Churn operations per second from the start (0 with --churn-ops 0: no churn; 0 with
    /// --churn-ops N: N operations as fast as possible).
    #[arg(long, env = "KINGDEE_MOCK_CHURN_RATE", default_value_t = 0.0)]
    churn_rate: f64,
    /// Seed of the churn's choices.
    #[arg(long, env = "KINGDEE_MOCK_CHURN_SEED", default_value_t = 1)]
    churn_seed: u64,
    /// How many churn operations to apply (0: until the server stops).
    #[arg(long, env = "KINGDEE_MOCK_CHURN_OPS", default_value_t = 0)]
    churn_ops: u64,
    /// Slow server: every query holds its slot this many milliseconds after running (0: off).
    #[arg(long, env = "KINGDEE_MOCK_QUERY_LATENCY_MS", default_value_t = 0)]
    query_latency_ms: u64,
    /// Slow server: plus this many microseconds per returned row (0: off).
    #[arg(long, env = "KINGDEE_MOCK_ROW_LATENCY_US", default_value_t = 0)]
    row_latency_us: u64,
    /// Slow server: at most this many queries at once, the rest wait in arrival order (0: no cap).
    #[arg(long, env = "KINGDEE_MOCK_MAX_CONCURRENT_QUERIES", default_value_t = 0)]
    max_concurrent_queries: usize,
}

impl Args {
    fn into_config(self) -> MockConfig {
        MockConfig {
            listen: self.listen,
            rows: self.rows,
            customers: self.customers,
            suppliers: self.suppliers,
            seed: self.seed,
            acct_id: self.acct_id,
            user: self.user,
            app_id: self.app_id,
            app_secret: self.app_secret,
            lcid: self.lcid,
            password: self.password,
            max_limit: self.max_limit,
            faults: Faults {
                latency_ms: self.latency_ms,
                http500: self.fail_http500,
                msgcode14: self.fail_msgcode14,
                hang: self.fail_hang,
                hang_ms: self.hang_ms,
                malformed: self.fail_malformed,
                drop_sessions: self.drop_sessions,
                seed: self.fault_seed,
                ..Faults::default()
            },
            living: Living {
                audit_moves_modify_date: self.audit_moves_modify_date,
                enable_clears_forbid_date: self.enable_clears_forbid_date,
                late_commit_max_secs: self.late_commit_max_secs,
                clamp_limit: self.clamp_limit,
            },
            null_modify_date_ratio: self.null_modify_date_ratio,
            churn: (self.churn_rate > 0.0 || self.churn_ops > 0).then(|| ChurnPlan {
                ops: self.churn_ops,
                rate_per_sec: self.churn_rate,
                seed: self.churn_seed,
                mix: Mix::default(),
            }),
            latency: Latency {
                query_latency_ms: self.query_latency_ms,
                row_latency_us: self.row_latency_us,
                max_concurrent_queries: self.max_concurrent_queries,
            },
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    info!("Stop signal received; shutting down");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = Args::parse().into_config();
    config.validate().map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    info!(listen = %config.listen, rows = config.rows, "kingdee-mock starting");
    kingdee_mock::serve(listener, config, stop_signal()).await?;
    info!("kingdee-mock stopped");
    Ok(())
}
