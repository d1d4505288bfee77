//! `mock-bench`: how long the mock takes to serve the producer's realistic pages out of a
//! large data set. Generates the rows (timing it and reading RSS), serves them on loopback,
//! and times keyset pages over HTTP: full mode (`<job> AND FMaterialId > K`, by FMaterialId),
//! incremental mode (`(<job>) AND (FModifyDate > T OR (FModifyDate = T AND FMaterialId > K))`,
//! by FModifyDate then FMaterialId), and for contrast an order no index has (top-k path).
//! Run it in release: `cargo run --release -p kingdee-mock --bin mock-bench -- --rows 1000000`.

mod http;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use clap::Parser;
use kingdee_mock::MockConfig;
use kingdee_mock::server::{App, serve_app};
use kingdee_mock::sign::Signer;
use serde_json::{Value, json};

const JOB: &str = "FUseOrgId.FNumber = 'T00' AND FDocumentStatus = 'C' AND FForbidStatus = 'A'";
/// 15 fields; FMaterialId first and FModifyDate second, for the cursors.
const FIELDS: &str = "FMaterialId,FModifyDate,FMasterId,FNumber,FName,FSpecification,\
    FCreateDate,FUseOrgId.FNumber,FCreateOrgId.FNumber,FDocumentStatus,FForbidStatus,\
    FMaterialGroup.FNumber,FBaseUnitId.FNumber,FErpClsID,F_ProductLine";
const PATH: &str =
    "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc";

#[derive(Debug, Parser)]
struct Args {
    /// Rows to generate.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Timed pages per mode.
    #[arg(long, default_value_t = 200)]
    pages: usize,
    /// Rows per page.
    #[arg(long, default_value_t = 2000)]
    limit: usize,
    /// Data seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Client {
    conn: http::Conn,
    signer: Signer,
    session: Option<String>,
}

impl Client {
    /// One page: its rows, its size, and how long the answer took to arrive (the client's
    /// own JSON parsing is not counted).
    async fn page(&mut self, data: Value) -> anyhow::Result<(Vec<Value>, usize, Duration)> {
        let mut headers = Vec::new();
        match &self.session {
            Some(sid) => headers.push(("kdservice-sessionid".to_owned(), sid.clone())),
            None => {
                let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
                for (k, v) in self.signer.headers(PATH, now) {
                    headers.push((k.to_owned(), v));
                }
            }
        }
        let body = json!({"data": data}).to_string();
        let started = Instant::now();
        let reply = self.conn.post(PATH, &headers, body.as_bytes()).await?;
        let took = started.elapsed();
        if reply.status != 200 {
            bail!("HTTP {}", reply.status);
        }
        if let Some(cookie) = reply.header("set-cookie") {
            let sid = cookie
                .strip_prefix("kdservice-sessionid=")
                .and_then(|c| c.split(';').next());
            self.session = sid.map(str::to_owned).or(self.session.take());
        }
        let rows: Vec<Value> = serde_json::from_slice(&reply.body).context("rows")?;
        Ok((rows, reply.body.len(), took))
    }
}

struct Timings(Vec<Duration>);

impl Timings {
    fn report(&mut self, name: &str, rows: usize, bytes: usize) {
        self.0.sort();
        let at = |q: f64| self.0[((self.0.len() as f64 - 1.0) * q).round() as usize];
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} KiB |",
            self.0.len(),
            ms(at(0.5)),
            ms(at(0.95)),
            ms(self.0[self.0.len() - 1]),
            ms(self.0.iter().sum::<Duration>() / self.0.len() as u32),
            rows / self.0.len().max(1),
            bytes / self.0.len().max(1) / 1024,
        );
    }
}

async fn run_mode(
    client: &mut Client,
    name: &str,
    pages: usize,
    next: impl Fn(Option<&Value>) -> Value,
) -> anyhow::Result<()> {
    let mut timings = Timings(Vec::with_capacity(pages));
    let (mut rows, mut bytes) = (0, 0);
    let mut last: Option<Value> = None;
    for _ in 0..pages {
        let data = next(last.as_ref());
        let (page, size, took) = client.page(data).await?;
        timings.0.push(took);
        rows += page.len();
        bytes += size;
        // Wrap around at the end of the data, as a scheduled producer would.
        last = page.last().cloned();
    }
    timings.report(name, rows, bytes);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = MockConfig {
        rows: args.rows,
        seed: args.seed,
        ..MockConfig::default()
    };
    let signer = Signer::from_config(&config);
    let rss_before = rss_kib("VmRSS:");
    let started = Instant::now();
    let app: Arc<App> = App::build(config).await?;
    let generated = started.elapsed();
    let (rss, peak) = (rss_kib("VmRSS:"), rss_kib("VmHWM:"));
    println!(
        "rows: {}, generated in {:.2} s",
        args.rows,
        generated.as_secs_f64()
    );
    println!(
        "RSS after generation: {} MiB (before: {} MiB, peak: {} MiB)",
        rss / 1024,
        rss_before / 1024,
        peak / 1024
    );

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_app(listener, app, async move {
        let _ = stopped.await;
    }));
    let mut client = Client {
        conn: http::Conn::open(addr).await?,
        signer,
        session: None,
    };
    let limit = args.limit;
    // Warm up: the first request signs and opens the session.
    client
        .page(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId", "Limit": 1}))
        .await?;

    println!("\n| mode | pages | p50 ms | p95 ms | max ms | mean ms | rows/page | body/page |");
    println!("|---|---|---|---|---|---|---|---|");
    run_mode(
        &mut client,
        "full (keyset on FMaterialId)",
        args.pages,
        |last| {
            let k = last.and_then(|r| r[0].as_i64()).unwrap_or(0);
            json!({"FormId": "BD_MATERIAL", "FieldKeys": FIELDS,
            "FilterString": format!("{JOB} AND FMaterialId > {k}"),
            "OrderString": "FMaterialId ASC", "StartRow": 0, "Limit": limit})
        },
    )
    .await?;
    run_mode(
        &mut client,
        "incremental (keyset on FModifyDate, FMaterialId)",
        args.pages,
        |last| {
            let t = last
                .and_then(|r| r[1].as_str())
                .unwrap_or("2019-01-01 00:00:00.000");
            let k = last.and_then(|r| r[0].as_i64()).unwrap_or(0);
            json!({"FormId": "BD_MATERIAL", "FieldKeys": FIELDS,
            "FilterString": format!(
                "({JOB}) AND (FModifyDate > '{t}' OR (FModifyDate = '{t}' AND FMaterialId > {k}))"),
            "OrderString": "FModifyDate ASC, FMaterialId ASC", "StartRow": 0, "Limit": limit})
        },
    )
    .await?;
    let other = args.pages.min(20);
    run_mode(
        &mut client,
        "other order (FNumber DESC; top-k over all rows)",
        other,
        |_| {
            json!({"FormId": "BD_MATERIAL", "FieldKeys": FIELDS, "FilterString": JOB,
            "OrderString": "FNumber DESC", "StartRow": 0, "Limit": limit})
        },
    )
    .await?;
    println!("\nRSS at the end: {} MiB", rss_kib("VmRSS:") / 1024);
    let _ = stop.send(());
    server.await??;
    Ok(())
}
