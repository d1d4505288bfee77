//! The running mock: shared state, the router (WebAPI services plus `/_mock/` operator
//! endpoints), [`serve`] for the binary, and [`MockServer`] for tests that want one on a
//! random port.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::auth::Sessions;
use crate::churn::Driver;
use crate::config::{Living, MockConfig};
use crate::data::Store;
use crate::data::form::Form;
use crate::faults::Injector;
use crate::rng::Rng;
use crate::stats::Stats;
use crate::throttle::Throttle;
use crate::{ops, services};

/// Everything a request handler may touch.
#[derive(Debug)]
pub struct App {
    pub config: MockConfig,
    /// One store per form, in [`Form::ALL`] order (materials first).
    stores: [RwLock<Store>; 3],
    /// The slow-server model of the queries (`config.latency`).
    pub throttle: Throttle,
    pub sessions: Sessions,
    pub faults: Injector,
    pub stats: Stats,
    /// Picks the rows `/_mock/touch` and `/_mock/forbid` change, and the users and
    /// late-commit lags of `/_mock/ops`.
    pub ops_rng: Mutex<Rng>,
    living: RwLock<Living>,
    pub churn: Driver,
    stop: watch::Sender<bool>,
}

impl App {
    /// Generates the data sets ([`generate_all`]). A churn in the config starts at once.
    pub async fn build(config: MockConfig) -> anyhow::Result<Arc<Self>> {
        config.validate().map_err(anyhow::Error::msg)?;
        let seed = config.seed;
        let [materials, customers, suppliers] = generate_all(&config).await?;
        let app = Arc::new(Self {
            faults: Injector::new(config.faults.clone()),
            ops_rng: Mutex::new(ops_rng(seed)),
            stores: [
                RwLock::new(materials),
                RwLock::new(customers),
                RwLock::new(suppliers),
            ],
            throttle: Throttle::new(config.latency),
            sessions: Sessions::default(),
            stats: Stats::default(),
            living: RwLock::new(config.living.clone()),
            churn: Driver::default(),
            stop: watch::channel(false).0,
            config,
        });
        if let Some(plan) = app.config.churn.clone() {
            Driver::start(&app, plan).await;
        }
        Ok(app)
    }

    /// The behaviour settings in force now.
    pub fn living(&self) -> Living {
        self.living
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_living(&self, living: Living) {
        *self.living.write().unwrap_or_else(PoisonError::into_inner) = living;
    }

    /// Whether the server is shutting down.
    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// The BD_MATERIAL store.
    pub fn read_store(&self) -> RwLockReadGuard<'_, Store> {
        self.read_form(Form::Material)
    }

    /// The BD_MATERIAL store, for the operations and the churn (materials only).
    pub fn write_store(&self) -> RwLockWriteGuard<'_, Store> {
        self.write_form(Form::Material)
    }

    pub fn read_form(&self, form: Form) -> RwLockReadGuard<'_, Store> {
        self.stores[form as usize]
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn write_form(&self, form: Form) -> RwLockWriteGuard<'_, Store> {
        self.stores[form as usize]
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps, but wakes when the server is stopping (a hanging request must not hold the
    /// shutdown for two minutes).
    pub async fn sleep(&self, d: Duration) {
        let mut stop = self.stop.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }

    fn signal_stop(&self) {
        self.stop.send_replace(true);
    }
}

/// Generates every form's initial data set (on a blocking thread: a million rows take a
/// moment), in [`Form::ALL`] order.
pub async fn generate_all(config: &MockConfig) -> anyhow::Result<[Store; 3]> {
    let (seed, nulls) = (config.seed, config.null_modify_date_ratio);
    let counts = Form::ALL.map(|f| config.rows_of(f));
    let started = std::time::Instant::now();
    let stores = tokio::task::spawn_blocking(move || {
        Form::ALL.map(|f| Store::generate_form(f, counts[f as usize], seed, nulls))
    })
    .await
    .context("data generation failed")?;
    info!(
        rows = counts[0],
        customers = counts[1],
        suppliers = counts[2],
        seed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Generated BD_MATERIAL, BD_Customer and BD_Supplier rows"
    );
    Ok(stores)
}

/// The PRNG of the operator edits, derived from the data seed (so a reset repeats them).
pub fn ops_rng(seed: u64) -> Rng {
    Rng::new(seed ^ 0x6F70_7321)
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/_mock/rows", get(ops::rows::list).post(ops::rows::upsert))
        .route("/_mock/touch", post(ops::mutate::touch))
        .route("/_mock/forbid", post(ops::mutate::forbid))
        .route("/_mock/ops", post(ops::lifecycle::operate))
        .route(
            "/_mock/living",
            get(ops::lifecycle::get_living).put(ops::lifecycle::put_living),
        )
        .route(
            "/_mock/churn",
            get(ops::churn::status)
                .post(ops::churn::start)
                .delete(ops::churn::stop),
        )
        .route("/_mock/churn/log", get(ops::churn::log))
        .route(
            "/_mock/faults",
            get(ops::control::get_faults).put(ops::control::put_faults),
        )
        .route("/_mock/faults/next", post(ops::control::next_faults))
        .route("/_mock/stats", get(ops::control::stats))
        .route("/_mock/requests", get(ops::control::requests))
        .route("/_mock/reset", post(ops::control::reset))
        .route("/_mock/health", get(ops::control::health))
        .fallback(services::handle)
        .layer(DefaultBodyLimit::max(256 * 1024 * 1024))
        .with_state(app)
}

/// Serves an already built app until `shutdown` resolves.
pub async fn serve_app(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let stopper = Arc::clone(&app);
    axum::serve(listener, router(app))
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopper.signal_stop();
        })
        .await
        .context("the mock's HTTP server failed")
}

/// Generates the data set and serves it on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    serve_app(listener, app, shutdown).await
}

/// A mock on 127.0.0.1 with a random port, for tests. It stops when dropped.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl MockServer {
    /// Binds 127.0.0.1:0, generates the data and starts serving; returns once it accepts.
    pub async fn start(config: MockConfig) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("cannot bind 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let app = App::build(config).await?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_app(listener, Arc::clone(&app), async move {
            let _ = rx.await;
        }));
        Ok(Self {
            addr,
            app,
            stop: Some(tx),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: where `/_mock/…` lives.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/k3cloud/`: the server URL a client is given.
    pub fn url(&self) -> String {
        format!("http://{}/k3cloud/", self.addr)
    }

    /// Stops accepting, ends hanging requests and waits (at most 10 s) for the server; a
    /// server that fails to stop cleanly is logged, since there is nothing left to do about it.
    pub async fn shutdown(mut self) {
        self.app.signal_stop();
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let Some(task) = self.task.take() else { return };
        match tokio::time::timeout(Duration::from_secs(10), task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => warn!(error = %e, "The mock stopped with an error"),
            Ok(Err(e)) => warn!(error = %e, "The mock's task panicked"),
            Err(_) => warn!("The mock did not stop within 10 s"),
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.app.signal_stop();
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
