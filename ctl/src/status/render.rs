//! `ctl status` for people (aligned tables, one block per job) and for scripts (`--json`).

use std::fmt::Write;

use super::{JobStatus, QueueHealth, QueueStatus, StatusReport};
use crate::output::{Table, clip, count_list, human_duration, or_dash, pretty_json, time};

/// The report as text, or as the JSON document of docs/ctl.md.
pub fn render(report: &StatusReport, json: bool) -> String {
    if json {
        return pretty_json(report);
    }
    let mut out = String::new();
    let _ = writeln!(out, "k3sync status at {}", time(Some(report.generated_at)));
    if let Some(error) = &report.broker_error {
        let _ = writeln!(out, "RabbitMQ: {error}");
    }
    if let Some(error) = &report.database_error {
        let _ = writeln!(out, "MySQL: {error}");
    }
    for job in &report.jobs {
        out.push('\n');
        render_job(&mut out, job);
    }
    out
}

fn render_job(out: &mut String, job: &JobStatus) {
    let _ = writeln!(out, "job {}", job.job);
    if let Some(health) = &job.health {
        let line = if health.failing {
            format!("FAILING: {}", health.summary())
        } else {
            format!("ok ({} failed passes in a row)", health.failed_in_a_row)
        };
        let _ = writeln!(out, "  health: {line}");
    }
    let mut queues = Table::new(&["queue", ">ready", ">unacked", ">consumers", "note"]);
    queues.row(queue_row(&job.work, "work".into()));
    for tier in &job.retry {
        let note = format!("retry tier {} ({}s)", tier.tier, tier.delay_secs);
        queues.row(queue_row(&tier.queue, note));
    }
    queues.row(queue_row(&job.dead, "dead letters".into()));
    out.push_str(&queues.render(2));

    let target = &job.target;
    let table = target.table.as_deref().unwrap_or("target");
    match (&target.error, target.rows) {
        (Some(error), _) => {
            let _ = writeln!(out, "  {table}: {error}");
        }
        (None, Some(rows)) => {
            let newest = match (&target.newest_version, target.newest_age_secs) {
                (Some(v), Some(age)) => format!("; newest {v} ({} old)", human_duration(age)),
                (Some(v), None) => format!("; newest {v}"),
                _ => String::new(),
            };
            let left = match target.left {
                Some(left) => format!(", {left} left"),
                None => String::new(),
            };
            let _ = writeln!(out, "  {table}: {rows} rows{left}{newest}");
            if let Some(run) = &target.last_reconciliation {
                let at = run.finished_at.or(run.started_at).map_or_else(
                    || "?".to_owned(),
                    |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
                );
                let _ = writeln!(
                    out,
                    "  last reconciliation: {at} UTC, {}, {} keys listed",
                    run.status, run.records
                );
            } else if target.left.is_some() {
                let _ = writeln!(out, "  last reconciliation: none yet");
            }
        }
        (None, None) => {
            let _ = writeln!(out, "  {table}: unknown");
        }
    }

    if let Some(counts) = &job.unresolved_dead_letters {
        let counts = if counts.is_empty() {
            "none".to_owned()
        } else {
            count_list(counts)
        };
        let _ = writeln!(out, "  unresolved dead letters (error_log): {counts}");
    }

    if job.runs.is_empty() {
        let _ = writeln!(out, "  no runs recorded");
        return;
    }
    let _ = writeln!(out, "  last runs");
    let mut runs = Table::new(&[
        "started",
        "mode",
        "status",
        ">pages",
        ">records",
        ">duration",
        "error",
    ]);
    for run in &job.runs {
        runs.row(vec![
            time(run.started_at),
            run.mode.clone(),
            run.status.clone(),
            run.pages.to_string(),
            run.records.to_string(),
            or_dash(run.duration_secs.map(human_duration)),
            clip(run.error.as_deref().unwrap_or(""), 60),
        ]);
    }
    out.push_str(&runs.render(4));
}

fn queue_row(queue: &QueueStatus, note: String) -> Vec<String> {
    let note = match queue.state {
        QueueHealth::Ok => note,
        QueueHealth::Missing => format!("{note}; missing (not declared yet)"),
        QueueHealth::Unknown => format!("{note}; unknown (broker unreachable)"),
    };
    vec![
        queue.name.clone(),
        or_dash(queue.ready),
        or_dash(queue.unacked),
        or_dash(queue.consumers),
        note,
    ]
}
