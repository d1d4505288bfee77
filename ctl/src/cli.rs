//! The command line: clap definitions and the dispatch from a parsed command to the library.
//! Every command loads the settings the same way the producer and the worker do.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand};
use k3sync_common::cli::{ConfigArg, DocsCommand, print_docs};
use k3sync_common::settings::Settings;

use crate::dlq::{self, Pace, ReplayOptions, Selection};
use crate::{check, migrate, status};

#[derive(Parser)]
#[command(
    version,
    about = "k3sync operations: status, dead letters, pre-flight checks, migrations"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Apply the pending database migrations and list what was applied.
    Migrate,
    /// Queues, consumers, last runs, target rows and unresolved dead letters per job.
    Status(StatusArgs),
    /// Browse, replay or purge dead letters.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Pre-flight: settings, MySQL and migrations, mappings, Kingdee, RabbitMQ and queues.
    Check,
    /// Print the CREATE TABLE of a job's target, typed from its mapping and the form's
    /// metadata (QueryBusinessInfo), for review; --create runs it.
    Ddl {
        /// The job whose target table to write.
        #[arg(long)]
        job: String,
        /// Also run the statement on mysql.url (fails if the table exists).
        #[arg(long)]
        create: bool,
    },
    #[command(flatten)]
    Docs(DocsCommand),
}

#[derive(Args)]
pub struct StatusArgs {
    /// Only this job (default: every job in the settings).
    #[arg(long)]
    pub job: Option<String>,
    /// Print the stable JSON document described in docs/ctl.md.
    #[arg(long)]
    pub json: bool,
    /// Redraw every --interval seconds until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between two redraws with --watch.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: u64,
    /// How many of the job's latest runs to show.
    #[arg(long, default_value_t = 5)]
    pub runs: u32,
}

#[derive(Subcommand)]
pub enum DlqCommand {
    /// List dead letters (oldest first) without taking them off the queue.
    List {
        #[command(flatten)]
        select: SelectArgs,
        /// One JSON object per letter, as an array.
        #[arg(long)]
        json: bool,
    },
    /// Print one dead letter in full, record included.
    Show {
        /// The letter's message id (first column of `dlq list`).
        id: String,
        /// Only look in this job's dead queue.
        #[arg(long)]
        job: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Publish selected dead letters back to their work queue with the attempt counter reset.
    Replay {
        #[command(flatten)]
        select: SelectArgs,
        /// Print what would be replayed; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Letters published per confirm round.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
        batch: u32,
        /// At most this many letters per second (default: as fast as the broker confirms).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        rate: Option<u32>,
    },
    /// Delete selected dead letters for good (needs --yes).
    Purge {
        #[command(flatten)]
        select: SelectArgs,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

/// Which dead letters a command acts on; every given condition must hold.
#[derive(Args, Clone, Debug, Default)]
pub struct SelectArgs {
    /// Only this job's dead queue (default: every job).
    #[arg(long)]
    pub job: Option<String>,
    /// Only this class (decode, mapping, data, too_large, exhausted, delivery_limit, unknown);
    /// repeatable. Any other name is refused.
    #[arg(long = "class")]
    pub classes: Vec<String>,
    /// Only letters carrying this record key; repeatable.
    #[arg(long = "key")]
    pub keys: Vec<i64>,
    /// Only letters that failed since then: RFC 3339 (2024-03-12T09:00:00Z) or an age (90m, 1h, 2d).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many letters (list: default 100).
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Default number of letters `dlq list` prints.
const LIST_LIMIT: usize = 100;

/// Runs a parsed command; the exit code says whether it succeeded (check: no FAIL).
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Docs(docs) = &cli.command {
        print_docs(Cli::command(), docs)?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = &cli.config.config;
    let settings = match cli.config.load() {
        Ok(settings) => settings,
        Err(error) if matches!(cli.command, Command::Check) => {
            println!("{}", check::settings_failed(path, &error));
            return Ok(ExitCode::FAILURE);
        }
        Err(error) => {
            return Err(error).with_context(|| format!("settings {}", path.display()));
        }
    };
    match cli.command {
        Command::Migrate => {
            let pool = settings.mysql.pool().context("mysql.url")?;
            let applied = migrate::run(&pool).await?;
            print!("{}", migrate::render(&applied));
            pool.close().await;
        }
        Command::Status(args) => {
            let options = status::StatusOptions {
                job: args.job,
                runs: args.runs,
            };
            if args.watch {
                let every = Duration::from_secs(args.interval);
                status::watch(&settings, &options, args.json, every).await?;
            } else {
                let report = status::StatusSource::new(&settings)?
                    .snapshot(&options)
                    .await?;
                print!("{}", status::render(&report, args.json));
            }
        }
        Command::Dlq(command) => return run_dlq(&settings, command).await,
        Command::Ddl { job, create } => {
            let ddl = crate::ddl::generate(&settings, &job).await?;
            print!("{ddl}");
            if create {
                crate::ddl::create(&settings, &ddl).await?;
                eprintln!("created the table of job `{job}`");
            }
        }
        Command::Docs(_) => {}
        Command::Check => {
            let report = check::run(&settings, &path.display().to_string()).await;
            print!("{}", report.render());
            if report.failed() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_dlq(settings: &Settings, command: DlqCommand) -> anyhow::Result<ExitCode> {
    match command {
        DlqCommand::List { mut select, json } => {
            select.limit.get_or_insert(LIST_LIMIT);
            let selection = Selection::from_args(settings, &select)?;
            let letters = dlq::list(settings, &selection).await?;
            print!("{}", dlq::render_list(&letters, json));
        }
        DlqCommand::Show { id, job, json } => {
            let shown = dlq::show(settings, job.as_deref(), &id).await?;
            print!("{}", dlq::render_show(&id, &shown, json));
            if shown.letter.is_none() {
                return Ok(ExitCode::FAILURE);
            }
        }
        DlqCommand::Replay {
            select,
            dry_run,
            batch,
            rate,
        } => {
            let selection = Selection::from_args(settings, &select)?;
            let pace = Pace {
                batch: batch as usize,
                rate,
            };
            let options = ReplayOptions { dry_run, pace };
            let summary = dlq::replay(settings, &selection, &options).await?;
            print!("{}", summary.render(dry_run));
        }
        DlqCommand::Purge { select, yes } => {
            if !yes {
                eprintln!(
                    "ctl: purge deletes dead letters for good; run `ctl dlq list` with the same \
                     selection to see them, then add --yes"
                );
                return Ok(ExitCode::from(2));
            }
            let selection = Selection::from_args(settings, &select)?;
            let summary = dlq::purge(settings, &selection).await?;
            print!("{}", summary.render_purged());
        }
    }
    Ok(ExitCode::SUCCESS)
}
