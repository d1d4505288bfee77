//! The churn: a seeded stream of the operations a busy K3Cloud sees (edits of names and
//! specifications, submits, audits, un-audits, forbids, enables, deletes, allocations, new
//! materials), applied at a chosen rate while clients page. [`Planner`] decides each operation
//! (deterministic for a seed and the same store); [`driver`] runs it on a timer and keeps the
//! status and the log that `/_mock/churn` shows.

pub mod driver;
mod planner;

use serde::{Deserialize, Serialize};

pub use driver::Driver;
pub use planner::Planner;

/// What `POST /_mock/churn` (or `--churn-*`) asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnPlan {
    /// How many operations to apply; 0 runs until stopped.
    pub ops: u64,
    /// Operations per second; 0 applies them as fast as the store allows.
    pub rate_per_sec: f64,
    /// Seed of every choice (which operation, which row, which user, late-commit lags).
    pub seed: u64,
    /// Relative weights of the workflows a new step starts.
    pub mix: Mix,
}

impl Default for ChurnPlan {
    fn default() -> Self {
        Self {
            ops: 0,
            rate_per_sec: 10.0,
            seed: 1,
            mix: Mix::default(),
        }
    }
}

impl ChurnPlan {
    pub fn validate(&self) -> Result<(), String> {
        if !self.rate_per_sec.is_finite() || self.rate_per_sec < 0.0 {
            return Err(format!(
                "rate_per_sec must be 0 or more, got {}",
                self.rate_per_sec
            ));
        }
        if self.mix.weights().iter().all(|&w| w == 0) {
            return Err("mix needs at least one weight above 0".to_owned());
        }
        Ok(())
    }
}

/// The workflows a churn starts, by weight. Each is a realistic sequence of operations on one
/// row; its later steps are interleaved with other workflows (see the README).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mix {
    /// Change a name or specification: (un-audit if audited →) save → submit → audit; a row
    /// found submitted (B) is audited instead.
    #[serde(alias = "save")]
    pub edit: u32,
    /// Un-audit an audited row; half the time it is submitted and audited again later.
    pub unaudit: u32,
    /// Forbid an audited, enabled row; a quarter of them are enabled again later.
    pub forbid: u32,
    /// Enable a forbidden row.
    pub enable: u32,
    /// Delete a row (un-auditing it first if audited; never a master with allocated copies).
    pub delete: u32,
    /// Allocate an audited row to a use-org its master lacks; audited at once or later.
    pub allocate: u32,
    /// Create a material; mostly submitted and audited later.
    pub create: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            edit: 40,
            unaudit: 5,
            forbid: 10,
            enable: 6,
            delete: 6,
            allocate: 10,
            create: 23,
        }
    }
}

impl Mix {
    /// The weights in the order `planner` reads them.
    pub fn weights(&self) -> [u32; 7] {
        [
            self.edit,
            self.unaudit,
            self.forbid,
            self.enable,
            self.delete,
            self.allocate,
            self.create,
        ]
    }
}

#[cfg(test)]
mod tests;
