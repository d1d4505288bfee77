//! `/metrics` (Prometheus text), `/healthz` (the process is up) and `/readyz` (it can do its
//! work: MySQL answers, the broker session is up, and no job it watches is failing per
//! [`crate::monitoring`]), served by each long-running binary on the address in its settings.
//! Readiness is also the `k3sync_ready` gauge, checked every few seconds, for alerting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::MySqlPool;
use tokio_util::sync::CancellationToken;

use crate::monitoring::{self, MonitoringSettings};
use crate::telemetry::series;

/// How often the `k3sync_ready` gauge is brought up to date (and the exporter's upkeep runs).
const UPKEEP: Duration = Duration::from_secs(5);

/// Installs the process-wide Prometheus recorder once and returns its handle.
pub fn install_metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let seconds = [
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                300.0, 3600.0,
            ];
            let records = [1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Suffix("_records".into()), &records)
                });
            match builder.map(PrometheusBuilder::build_recorder) {
                Ok(recorder) => {
                    let handle = recorder.handle();
                    // Another recorder already installed (e.g. in tests) keeps working; ours renders empty.
                    let _ = metrics::set_global_recorder(recorder);
                    series::describe();
                    handle
                }
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// What `/readyz` checks.
#[derive(Clone)]
pub struct Readiness {
    pool: MySqlPool,
    broker: Arc<AtomicBool>,
    /// Jobs whose pass history is judged: (name, schedule_secs).
    jobs: Arc<[(String, u64)]>,
    monitoring: MonitoringSettings,
}

impl Readiness {
    pub fn new(pool: MySqlPool) -> Self {
        Self {
            pool,
            broker: Arc::new(AtomicBool::new(false)),
            jobs: Arc::new([]),
            monitoring: MonitoringSettings::default(),
        }
    }

    /// Also not ready while one of `jobs` (name, schedule_secs) is failing: the producer that
    /// pages them says so instead of looking healthy while every pass fails.
    pub fn watching_jobs(
        mut self,
        jobs: Vec<(String, u64)>,
        monitoring: &MonitoringSettings,
    ) -> Self {
        self.jobs = jobs.into();
        self.monitoring = monitoring.clone();
        self
    }

    /// Set by the code that owns the broker session: true while connected.
    pub fn set_broker_up(&self, up: bool) {
        self.broker.store(up, Ordering::Relaxed);
    }

    async fn check(&self) -> Result<(), String> {
        if !self.broker.load(Ordering::Relaxed) {
            return Err("rabbitmq: not connected".into());
        }
        let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&self.pool);
        match tokio::time::timeout(Duration::from_secs(2), ping).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("mysql: {e}")),
            Err(_) => return Err("mysql: no answer within 2 s".into()),
        }
        let mut failing = Vec::new();
        for (job, schedule_secs) in self.jobs.iter() {
            let history = monitoring::history(&self.pool, job)
                .await
                .map_err(|e| format!("mysql: {e}"))?;
            let health = monitoring::assess(&history, *schedule_secs, &self.monitoring);
            if health.failing {
                failing.push(format!("job {job} is failing: {}", health.summary()));
            }
        }
        if failing.is_empty() {
            Ok(())
        } else {
            Err(failing.join("\n"))
        }
    }
}

#[derive(Clone)]
struct AppState {
    metrics: PrometheusHandle,
    readiness: Readiness,
}

/// Binds `listen` (so a taken port stops the program at start, naming the address) and serves
/// the three endpoints in a task until `cancel`. An empty `listen` serves nothing.
pub async fn start(
    listen: &str,
    readiness: Readiness,
    cancel: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    if listen.is_empty() {
        return Ok(tokio::spawn(async { Ok(()) }));
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(listen, "Serving /metrics, /healthz, /readyz");
    let metrics = install_metrics();
    let upkeep = metrics.clone();
    let upkeep_cancel = cancel.clone();
    let gauge = readiness.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP);
        loop {
            tokio::select! {
                () = upkeep_cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            upkeep.run_upkeep();
            let ready = gauge.check().await.is_ok();
            metrics::gauge!(series::READY).set(if ready { 1.0 } else { 0.0 });
        }
    });
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(AppState { metrics, readiness });
    Ok(tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await
    }))
}

async fn render_metrics(State(state): State<AppState>) -> String {
    state.metrics.render()
}

async fn ready(State(state): State<AppState>) -> (StatusCode, String) {
    match state.readiness.check().await {
        Ok(()) => (StatusCode::OK, "ready\n".into()),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        ),
    }
}
