//! Unit tests of the settings: loading (defaults, paths, secrets), required keys, and every
//! validation rule. Each test loads its own copy of the demo `config/k3sync.toml` from a folder of
//! its own; none reads the environment's `K3SYNC__…` on purpose.

mod load;
mod missing;
mod rules;

use std::path::PathBuf;

use super::{Settings, SettingsError};

/// The demo settings' text.
fn demo_text() -> String {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/k3sync.toml");
    std::fs::read_to_string(demo).expect("config/k3sync.toml")
}

/// A folder of its own for one load; removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "k3sync-settings-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Self(dir)
    }

    /// Writes `text` as `k3sync.toml` in the folder and loads it.
    fn load(&self, text: &str) -> Result<Settings, SettingsError> {
        let path = self.0.join("k3sync.toml");
        std::fs::write(&path, text).expect("temporary settings file");
        Settings::load(&path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The demo settings with `edit` applied to their text, loaded from a folder of their own.
fn load_demo(edit: impl Fn(String) -> String) -> Result<Settings, SettingsError> {
    Scratch::new().load(&edit(demo_text()))
}

/// `text` without the `[header]` section: from its header line to the next header line.
fn without_section(text: &str, header: &str) -> String {
    let mut inside = false;
    text.lines()
        .filter(|line| {
            if line.starts_with('[') {
                inside = line.trim() == header;
            }
            !inside
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// `text` without the line that is exactly `line`, which must be there.
fn without_line(text: &str, line: &str) -> String {
    assert!(text.lines().any(|l| l == line), "the demo has `{line}`");
    text.lines()
        .filter(|l| *l != line)
        .map(|l| format!("{l}\n"))
        .collect()
}
