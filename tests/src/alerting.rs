//! The monitoring stack of the alert tests, for real: Prometheus run with the project's own
//! `deploy/prometheus/prometheus.yml` and `alerts.yml` (targets pointed at the test's processes,
//! intervals and `for:` durations shortened), Alertmanager with a webhook receiver, and that
//! receiver served here. Both binaries are the Debian packages `.ci/run` installs; each runs as a
//! child process on a free loopback port with a temporary data folder, killed on drop.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::proxy::free_port;
use crate::{wait_for, workspace_root};

/// Where the test's processes serve `/metrics`.
pub struct Targets {
    pub producer: String,
    pub worker: String,
}

/// A child process with its data folder, both gone on drop.
struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        // Gone before its folder is removed, or it writes files into a folder being deleted.
        for _ in 0..100 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn(program: &str, args: &[String], dir: &Path) -> Daemon {
    let log = std::fs::File::create(dir.join(format!("{program}.log"))).expect("log file");
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{program} (apt-get install prometheus prometheus-alertmanager): {e}")
        });
    Daemon {
        child,
        dir: dir.to_owned(),
    }
}

/// `text` with `from` replaced by `to`, failing when `from` is not there: the project's files
/// changed and this harness must follow.
fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "`{from}` is no longer in the monitoring configuration"
    );
    text.replace(from, to)
}

/// The project's Prometheus configuration pointed at `targets` and `alertmanager`, scraping and
/// evaluating every second.
pub fn prometheus_config(targets: &Targets, alertmanager: &str) -> String {
    let path = workspace_root().join("deploy/prometheus/prometheus.yml");
    let text = std::fs::read_to_string(path).expect("deploy/prometheus/prometheus.yml");
    let text = swap(&text, "scrape_interval: 5s", "scrape_interval: 1s");
    let text = swap(&text, "evaluation_interval: 15s", "evaluation_interval: 1s");
    let text = swap(
        &text,
        "\"alertmanager:9093\"",
        &format!("\"{alertmanager}\""),
    );
    let text = swap(
        &text,
        "\"producer:9101\"",
        &format!("\"{}\"", targets.producer),
    );
    swap(
        &text,
        "    dns_sd_configs:\n      - names: [\"worker\"]\n        type: A\n        port: 9102\n        refresh_interval: 10s\n",
        &format!(
            "    static_configs:\n      - targets: [\"{}\"]\n",
            targets.worker
        ),
    )
}

/// The project's alert rules with every `for:` at 1 s.
pub fn alert_rules() -> String {
    let path = workspace_root().join("deploy/prometheus/alerts.yml");
    let text = std::fs::read_to_string(path).expect("deploy/prometheus/alerts.yml");
    let lines: Vec<String> = text
        .lines()
        .map(|line| match line.trim_start().strip_prefix("for: ") {
            Some(_) => format!("{}for: 1s", &line[..line.len() - line.trim_start().len()]),
            None => line.to_owned(),
        })
        .collect();
    assert!(lines.iter().filter(|l| l.trim() == "for: 1s").count() >= 7);
    lines.join("\n") + "\n"
}

/// Notifications the webhook received, as Alertmanager sent them.
#[derive(Clone, Default)]
pub struct Webhook {
    received: Arc<Mutex<Vec<Value>>>,
}

impl Webhook {
    /// The alerts of every notification so far, each with the notification's `status`.
    pub fn alerts(&self) -> Vec<Value> {
        let received = self.received.lock().unwrap_or_else(|e| e.into_inner());
        received
            .iter()
            .flat_map(|n| n["alerts"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Waits for an alert `name` of `sync_job` in `status` (`firing` or `resolved`).
    pub async fn wait_for(
        &self,
        name: &str,
        sync_job: &str,
        status: &str,
        timeout: Duration,
    ) -> Value {
        wait_for(
            &format!("{name} {status} for {sync_job} at the webhook"),
            timeout,
            || async {
                self.alerts().into_iter().find(|a| {
                    a["labels"]["alertname"] == name
                        && a["labels"]["sync_job"] == sync_job
                        && a["status"] == status
                })
            },
        )
        .await
    }
}

/// Prometheus, Alertmanager and the webhook, running until dropped.
pub struct AlertStack {
    pub webhook: Webhook,
    pub prometheus: String,
    _daemons: Vec<Daemon>,
    _server: tokio::task::JoinHandle<()>,
}

impl AlertStack {
    pub async fn start(targets: &Targets) -> Self {
        let dir = std::env::temp_dir().join(format!("k3sync-alerts-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        let webhook = Webhook::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("webhook port");
        let hook = listener.local_addr().expect("webhook address");
        let app = Router::new()
            .route("/alerts", post(receive))
            .with_state(webhook.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let am_port = free_port();
        let am_dir = dir.join("alertmanager");
        std::fs::create_dir_all(&am_dir).expect("alertmanager folder");
        std::fs::write(
            am_dir.join("alertmanager.yml"),
            format!(
                "route:\n  receiver: test\n  group_by: [alertname, sync_job]\n  group_wait: 1s\n  \
                 group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: test\n    \
                 webhook_configs:\n      - url: http://{hook}/alerts\n        send_resolved: true\n"
            ),
        )
        .expect("alertmanager.yml");
        let alertmanager = spawn(
            "prometheus-alertmanager",
            &[
                format!(
                    "--config.file={}",
                    am_dir.join("alertmanager.yml").display()
                ),
                format!("--storage.path={}", am_dir.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{am_port}"),
                // No cluster: it would listen on 9094 of its own accord.
                "--cluster.listen-address=".to_owned(),
            ],
            &am_dir,
        );

        let prom_port = free_port();
        let prom_dir = dir.join("prometheus");
        std::fs::create_dir_all(&prom_dir).expect("prometheus folder");
        let config = prometheus_config(targets, &format!("127.0.0.1:{am_port}"));
        std::fs::write(prom_dir.join("prometheus.yml"), config).expect("prometheus.yml");
        std::fs::write(prom_dir.join("alerts.yml"), alert_rules()).expect("alerts.yml");
        let prometheus = spawn(
            "prometheus",
            &[
                format!(
                    "--config.file={}",
                    prom_dir.join("prometheus.yml").display()
                ),
                format!("--storage.tsdb.path={}", prom_dir.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{prom_port}"),
            ],
            &prom_dir,
        );
        let http = reqwest::Client::new();
        for url in [
            format!("http://127.0.0.1:{am_port}/-/ready"),
            format!("http://127.0.0.1:{prom_port}/-/ready"),
        ] {
            wait_for(&url, Duration::from_secs(30), || async {
                let ok = http.get(&url).send().await.ok()?.status().is_success();
                ok.then_some(())
            })
            .await;
        }
        Self {
            webhook,
            prometheus: format!("http://127.0.0.1:{prom_port}"),
            _daemons: vec![prometheus, alertmanager],
            _server: server,
        }
    }
}

async fn receive(State(webhook): State<Webhook>, body: axum::Json<Value>) {
    webhook
        .received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(body.0);
}
