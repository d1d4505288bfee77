//! The Kingdee side of a run: the release `kingdee-mock` binary as its own process (so its CPU
//! and memory are not the bench's), no faults, no latency; plus the operator call `touch` that
//! the incremental figure uses, and the request count the convergence figures use.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::process::{Spawned, binary};
use crate::world::free_port;

/// Longest wait for the mock to generate its rows and answer.
const READY_WITHIN: Duration = Duration::from_secs(300);

pub struct Mock {
    pub process: Spawned,
    base: String,
    http: reqwest::Client,
}

impl Mock {
    /// Starts `kingdee-mock --rows <rows> --seed 42` on a free port and waits until it answers.
    pub async fn start(dir: &Path, rows: usize) -> anyhow::Result<Self> {
        Self::start_with(dir, rows, &[]).await
    }

    /// [`Mock::start`] with more flags (a latency model, …).
    pub async fn start_with(dir: &Path, rows: usize, extra: &[String]) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut args = vec![
            "--listen".to_owned(),
            format!("127.0.0.1:{port}"),
            "--rows".to_owned(),
            rows.to_string(),
            "--seed".to_owned(),
            "42".to_owned(),
        ];
        args.extend_from_slice(extra);
        let process = Spawned::start(
            "kingdee-mock",
            &binary("kingdee-mock")?,
            &args,
            &[],
            &dir.join("kingdee-mock.log"),
        )?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let mut mock = Self {
            process,
            base: format!("http://127.0.0.1:{port}"),
            http,
        };
        mock.wait_ready(rows).await?;
        Ok(mock)
    }

    async fn wait_ready(&mut self, rows: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            self.process.check_running()?;
            if let Ok(response) = self.http.get(self.url("/_mock/health")).send().await
                && let Ok(health) = response.json::<Value>().await
            {
                if health["rows"].as_u64() == Some(rows as u64) {
                    return Ok(());
                }
                bail!("the mock serves {} rows, not {rows}", health["rows"]);
            }
            if started.elapsed() > READY_WITHIN {
                bail!("the mock did not answer within {READY_WITHIN:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server URL k3sync is given.
    pub fn server_url(&self) -> String {
        self.url("/k3cloud/")
    }

    /// Touches `count` random rows matching `filter`; returns their shared new FModifyDate as
    /// MySQL writes it (`2024-03-12 09:32:21.125`).
    pub async fn touch(&self, count: usize, filter: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(self.url("/_mock/touch"))
            .json(&json!({"count": count, "filter": filter}))
            .send()
            .await?
            .error_for_status()?;
        let body: Value = response.json().await?;
        let touched = body["rows"].as_array().map_or(0, Vec::len);
        if touched != count {
            bail!("the mock touched {touched} rows, not {count}");
        }
        let at = body["modify_date"]
            .as_str()
            .context("touch answer without modify_date")?;
        Ok(at.replace('T', " "))
    }

    /// ExecuteBillQuery requests the mock has answered successfully so far (`/_mock/stats`).
    pub async fn queries(&self) -> anyhow::Result<u64> {
        let stats: Value = self
            .http
            .get(self.url("/_mock/stats"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(stats["services"]["ExecuteBillQuery"]["ok"]
            .as_u64()
            .unwrap_or(0))
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.process.stop(Duration::from_secs(15)).await?;
        Ok(())
    }
}
