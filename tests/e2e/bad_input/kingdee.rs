//! The Kingdee corpus through the real producer binary: each answer of
//! `tests/corpus/kingdee/cases.json` is served, byte for byte, as the first ExecuteBillQuery page
//! by a tiny HTTP server of the test's own (the mock cannot produce most of these bodies). A bad
//! answer stops the pass with a named error (exit 1, never a crash) and publishes nothing; a good
//! one is published as it came.

use k3sync_tests::envelopes::records_of;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k3sync_tests::chaos::producer_args;
use k3sync_tests::{TestEnv, run_binary};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::corpus;

#[derive(Debug, Deserialize)]
struct Manifest {
    field_keys: Vec<String>,
    cases: Vec<KingdeeCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KingdeeCase {
    file: String,
    status: u16,
    content_type: String,
    about: String,
    expect: KingdeeExpect,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum KingdeeExpect {
    /// The pass stops: exit code 1, and the error names every one of these.
    ErrorContains(Vec<String>),
    /// The pass succeeds and publishes these records, in order (listed fields compared; `$key`
    /// is the envelope's key).
    Published(Vec<serde_json::Map<String, Value>>),
}

/// An HTTP server that answers every request with one canned response and keeps the request
/// bodies.
struct Replay {
    port: u16,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl Replay {
    async fn start(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let reason = match status {
            200 => "OK",
            302 => "Found",
            500 => "Internal Server Error",
            _ => "Status",
        };
        let mut head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Connection: close\r\n",
            body.len()
        );
        if status == 302 {
            head.push_str("Location: /k3cloud/html5/index.aspx\r\n");
        }
        head.push_str("\r\n");
        let response: Arc<Vec<u8>> = Arc::new([head.into_bytes(), body].concat());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (response, seen) = (Arc::clone(&response), Arc::clone(&seen));
                tokio::spawn(async move {
                    if let Some(request) = answer(stream, &response).await {
                        seen.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(request);
                    }
                });
            }
        });
        Self {
            port,
            requests,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/k3cloud/", self.port)
    }

    fn requests(&self) -> Vec<Vec<u8>> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (headers, then Content-Length bytes), writes the response; returns the
/// request body.
async fn answer(mut stream: TcpStream, response: &[u8]) -> Option<Vec<u8>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let request = buffer[end..].to_vec();
    // A pass reads until an empty page: the corpus answers the first page (and its retries);
    // the page after it (a cursor in the filter) is empty, as a real server's would be.
    let after_cursor = serde_json::from_slice::<Value>(&request)
        .ok()
        .and_then(|b| {
            b["data"]["FilterString"]
                .as_str()
                .map(|f| f.contains("FMaterialId >"))
        })
        .unwrap_or(false);
    let empty: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]";
    stream
        .write_all(if after_cursor { empty } else { response })
        .await
        .ok()?;
    let _ = stream.shutdown().await;
    Some(request)
}

/// The FieldKeys of a recorded ExecuteBillQuery body.
fn field_keys(request: &[u8]) -> Vec<String> {
    let body: Value = serde_json::from_slice(request).expect("the producer sends JSON");
    body["data"]["FieldKeys"]
        .as_str()
        .expect("FieldKeys")
        .split(',')
        .map(str::to_owned)
        .collect()
}

/// Runs one case with the settings `config_text` (its `{server_url}` filled in) written to
/// `config`; returns what is wrong with its outcome.
async fn run_case(
    env: &TestEnv,
    config: &std::path::Path,
    config_text: &str,
    case: &KingdeeCase,
    keys: &[String],
) -> Option<String> {
    let body = std::fs::read(corpus("kingdee").join(&case.file)).expect("corpus answer");
    let replay = Replay::start(case.status, &case.content_type, body).await;
    std::fs::write(config, config_text.replace("{server_url}", &replay.url())).expect("config");
    let args = producer_args(env, config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stderr) = run_binary("producer", &args, Duration::from_secs(60))
        .await
        .expect("the producer ends");
    let last = stderr.lines().last().unwrap_or_default().to_owned();
    let published = env.drain_work_queue().await;
    if let Some(first) = replay.requests().first() {
        let asked = field_keys(first);
        assert_eq!(
            asked, keys,
            "the corpus rows are in cases.json's field_keys order"
        );
    }
    let problem = match &case.expect {
        KingdeeExpect::ErrorContains(parts) => {
            if code != 1 || stderr.contains("panicked") {
                Some(format!(
                    "exit code {code}, want 1 (a named error, no crash): {last}"
                ))
            } else if let Some(missing) = parts.iter().find(|p| !last.contains(p.as_str())) {
                Some(format!("the error does not say `{missing}`: {last}"))
            } else if !published.is_empty() {
                Some(format!(
                    "{} messages published by a failed pass",
                    published.len()
                ))
            } else {
                None
            }
        }
        KingdeeExpect::Published(want) => {
            let got: Vec<_> = published.iter().flat_map(records_of).collect();
            if code != 0 {
                Some(format!("exit code {code}: {last}"))
            } else if got.len() != want.len() {
                Some(format!(
                    "{} records published, want {}",
                    got.len(),
                    want.len()
                ))
            } else {
                want.iter().zip(&got).find_map(|(fields, record)| {
                    fields.iter().find_map(|(field, value)| {
                        let have = match field.as_str() {
                            "$key" => Value::from(record.key),
                            _ => record.record.get(field).cloned().unwrap_or(Value::Null),
                        };
                        (&have != value).then(|| format!("{field} is {have}, want {value}"))
                    })
                })
            }
        }
    };
    problem.map(|p| format!("{} ({}): {p}", case.file, case.about))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kingdee_corpus_answer_is_published_verbatim_or_stops_the_pass_with_a_named_error() {
    let env = TestEnv::start(100).await;
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(corpus("kingdee").join("cases.json")).expect("cases.json"),
    )
    .expect("cases.json");
    // Quick retries: the transient answers (HTTP 500, MsgCode 14) come back on every request.
    // One reader: a full pass is then the one stream whose first request is the first page
    // (partitioned, it would first ask for the key range).
    let config_text = std::fs::read_to_string(env.write_config())
        .expect("config")
        .replace(&env.mock.url(), "{server_url}")
        .replace("max_in_flight = 4", "max_in_flight = 1")
        .replace(
            "request_timeout_secs = 120",
            "request_timeout_secs = 10\nretry_attempts = 3\nretry_min_delay_ms = 50\nretry_max_delay_ms = 100",
        );
    assert!(
        config_text.contains("{server_url}")
            && config_text.contains("retry_attempts = 3")
            && config_text.contains("max_in_flight = 1")
    );
    let config = std::env::temp_dir().join(format!("k3sync-{}-kingdee.toml", env.id));
    let mut problems = Vec::new();
    for case in &manifest.cases {
        let started = std::time::Instant::now();
        problems.extend(run_case(&env, &config, &config_text, case, &manifest.field_keys).await);
        eprintln!("{}: {:?}", case.file, started.elapsed());
    }
    let _ = std::fs::remove_file(&config);
    assert!(
        problems.is_empty(),
        "{} of {} Kingdee answers ended otherwise than cases.json says:\n{}",
        problems.len(),
        manifest.cases.len(),
        problems.join("\n")
    );
    env.cleanup().await;
}
