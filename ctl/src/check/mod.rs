//! `ctl check`: a pre-flight of everything a run needs, one line per check (OK, WARN or FAIL
//! with the detail an operator acts on). Settings load; MySQL answers and has every migration;
//! each job's mapping compiles and fits the live table; Kingdee accepts the credentials and the
//! job's form and fields; RabbitMQ answers, its version is supported, and each job's queues
//! exist with the arguments the producer and worker declare; the cluster's nodes and each work
//! queue's replicas and leader, where `rabbitmqctl` can tell.

mod broker;
mod cluster;
mod kingdee;
mod mysql;
mod version;

use std::fmt::Write;
use std::path::Path;

use k3sync_common::mapping::{CompiledMapping, MappingSpec};
use k3sync_common::settings::{JobSettings, Settings, SettingsError};

pub use version::{ServerInfo, server_info};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Line {
    pub level: Level,
    pub what: String,
    pub detail: String,
}

/// Every line, in the order the checks ran.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<Line>,
}

impl Report {
    fn push(&mut self, level: Level, what: impl Into<String>, detail: impl Into<String>) {
        self.lines.push(Line {
            level,
            what: what.into(),
            detail: detail.into(),
        });
    }

    pub(crate) fn ok(&mut self, what: impl Into<String>, detail: impl Into<String>) {
        self.push(Level::Ok, what, detail);
    }

    pub(crate) fn warn(&mut self, what: impl Into<String>, detail: impl Into<String>) {
        self.push(Level::Warn, what, detail);
    }

    pub(crate) fn fail(&mut self, what: impl Into<String>, detail: impl Into<String>) {
        self.push(Level::Fail, what, detail);
    }

    /// Whether any check failed (the exit code is non-zero then).
    pub fn failed(&self) -> bool {
        self.lines.iter().any(|l| l.level == Level::Fail)
    }

    /// The lines that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(|l| l.level == Level::Fail)
    }

    pub fn render(&self) -> String {
        let width = self.lines.iter().map(|l| l.what.len()).max().unwrap_or(0);
        let mut out = String::new();
        for l in &self.lines {
            let (level, what, detail) = (l.level.as_str(), &l.what, &l.detail);
            let _ = writeln!(out, "{level:<4} {what:<width$}  {detail}");
        }
        let fails = self.failures().count();
        let warns = self.lines.iter().filter(|l| l.level == Level::Warn).count();
        let _ = writeln!(out, "{fails} failed, {warns} warned");
        out
    }
}

/// The line `ctl check` prints when the settings do not load.
pub fn settings_failed(path: &Path, error: &SettingsError) -> String {
    // figment breaks its message before " in <file>"; one line per check keeps the report readable.
    let error = error_chain(error).replace('\n', "");
    format!(
        "FAIL settings  {}: {error}\n1 failed, 0 warned",
        path.display()
    )
}

/// Runs every check; `config` names the settings file in the first line.
pub async fn run(settings: &Settings, config: &str) -> Report {
    let mut report = Report::default();
    report.ok(
        "settings",
        format!("{config}: jobs {}", settings.job_names().join(", ")),
    );
    let mappings: Vec<(&JobSettings, Option<CompiledMapping>)> = settings
        .jobs
        .iter()
        .map(|job| (job, compile(job, &mut report)))
        .collect();
    mysql::check(settings, &mappings, &mut report).await;
    kingdee::check(settings, &mappings, &mut report).await;
    broker::check(settings, &mut report).await;
    cluster::check(settings, &mut report).await;
    report
}

fn compile(job: &JobSettings, report: &mut Report) -> Option<CompiledMapping> {
    MappingSpec::from_target(&job.target)
        .and_then(|spec| CompiledMapping::compile(&spec))
        .inspect_err(|error| report.fail(format!("mapping {}", job.name), error_chain(error)))
        .ok()
}

pub(crate) use k3sync_common::error_chain;
