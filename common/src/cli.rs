//! Command-line conventions the binaries share: `--config` anywhere on the line, and the hidden
//! `completions <shell>` and `man` subcommands that print shell completions and man pages
//! generated from a binary's own clap definition, so packages and users never keep a
//! hand-written copy that drifts.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use clap_complete::Shell;

use crate::settings::{Settings, SettingsError};

// The settings file, taken before or after a subcommand (`global`); every binary flattens it into
// its own command (`#[command(flatten)] config: ConfigArg`). A plain comment, not a doc comment:
// clap would take a doc comment here as the about text of the binary.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// Settings file; environment variables K3SYNC__SECTION__KEY override it.
    #[arg(
        long,
        env = "K3SYNC_CONFIG",
        default_value = "config/k3sync.toml",
        global = true
    )]
    pub config: PathBuf,
}

impl ConfigArg {
    /// The settings of the file `--config` names ([`Settings::load`]).
    pub fn load(&self) -> Result<Settings, SettingsError> {
        Settings::load(&self.config)
    }
}

// Hidden subcommands every binary carries; flatten them into the binary's own command enum
// (`#[command(flatten)] Docs(DocsCommand)`) and hand them to `print_docs` before anything loads
// settings: generating documentation needs no settings file. A plain comment, not a doc comment:
// clap would take a doc comment here as the about text of a command that has none.
#[derive(Debug, Clone, Subcommand)]
pub enum DocsCommand {
    /// Print shell completions, e.g. `producer completions bash > /etc/bash_completion.d/producer`.
    #[command(hide = true)]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: Shell,
    },
    /// Print the man page (roff) to stdout, or with --dir write one page per subcommand there.
    #[command(hide = true)]
    Man {
        /// Write `<binary>.1` and `<binary>-<subcommand>.1` pages into this folder.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// Prints (or writes) what `docs` asks for, generated from `command` (`Cli::command()`).
pub fn print_docs(mut command: clap::Command, docs: &DocsCommand) -> io::Result<()> {
    let name = command.get_name().to_owned();
    match docs {
        DocsCommand::Completions { shell } => {
            let mut out = io::stdout().lock();
            clap_complete::generate(*shell, &mut command, name, &mut out);
            out.flush()
        }
        DocsCommand::Man { dir: Some(dir) } => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(command, dir)
        }
        DocsCommand::Man { dir: None } => {
            let mut out = io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Parser)]
    #[command(name = "demo")]
    struct Demo {
        #[command(flatten)]
        config: ConfigArg,
        #[command(subcommand)]
        command: Option<Wrapped>,
    }

    #[derive(Subcommand)]
    enum Wrapped {
        /// Does the work.
        Run,
        #[command(flatten)]
        Docs(DocsCommand),
    }

    #[test]
    fn the_docs_subcommands_parse_and_stay_out_of_the_help() {
        let parsed = Demo::try_parse_from(["demo", "completions", "bash"]).map(|d| d.command);
        assert!(matches!(
            parsed,
            Ok(Some(Wrapped::Docs(DocsCommand::Completions {
                shell: Shell::Bash
            })))
        ));
        let help = Demo::command().render_help().to_string();
        assert!(help.contains("run"), "{help}");
        assert!(!help.contains("completions"), "{help}");
        assert!(
            !help.lines().any(|l| l.trim_start().starts_with("man")),
            "{help}"
        );
    }

    #[test]
    fn config_is_taken_before_or_after_the_subcommand() {
        for args in [
            ["demo", "--config", "x.toml", "run"],
            ["demo", "run", "--config", "x.toml"],
        ] {
            let demo = Demo::try_parse_from(args).unwrap();
            assert_eq!(demo.config.config, PathBuf::from("x.toml"));
            assert!(matches!(demo.command, Some(Wrapped::Run)));
        }
    }
}
