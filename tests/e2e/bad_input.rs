//! Bad input: the corpus in `tests/corpus/` of what the queue (`queue/*.json`) and Kingdee
//! (`kingdee/cases.json` and the answers it names) can hand us, each case with its expected
//! outcome — stored verbatim, a dead letter with its class and reason, or a pass stopped with a
//! named error. None may crash a process or stall the queue. `tests/corpus/README.md` has the
//! file formats.

mod kingdee;
mod queue;
mod queue_cases;

use std::path::PathBuf;

/// A folder of the corpus.
fn corpus(folder: &str) -> PathBuf {
    k3sync_tests::workspace_root()
        .join("tests/corpus")
        .join(folder)
}
