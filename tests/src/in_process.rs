//! A worker running inside the test process (the library's `prepare` and `run_job`, as the
//! binary runs them), for tests that do not need a process to kill.

use std::time::Duration;

use k3sync_common::settings::Settings;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TestEnv;

pub struct InProcessWorker {
    handle: JoinHandle<anyhow::Result<()>>,
    cancel: CancellationToken,
}

impl InProcessWorker {
    /// Consumes `env`'s job with `settings` until stopped.
    pub fn start(env: &TestEnv, settings: &Settings) -> Self {
        let cancel = CancellationToken::new();
        let (settings, job, pool, token) = (
            settings.clone(),
            env.job().to_owned(),
            env.pool.clone(),
            cancel.clone(),
        );
        let handle = tokio::spawn(async move {
            let ctx = k3sync_worker::prepare(&settings, &job, pool).await?;
            k3sync_worker::run_job(ctx, token).await
        });
        Self { handle, cancel }
    }

    /// Cancels it; it must stop cleanly within a minute.
    pub async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(60), self.handle)
            .await
            .expect("worker stops")
            .expect("worker task")
            .expect("worker stops cleanly");
    }
}
