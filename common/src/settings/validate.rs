//! The one validation step of the settings: [`Settings::validate`] runs every section's rules in
//! file order and stops at the first failure, named by its key (`jobs[0].page_size`).

use super::{Settings, SettingsError};

impl Settings {
    /// Every rule of every section; [`Settings::load`] calls it, so loaded settings have passed.
    /// Other parts of k3sync (the Kingdee client, the pool, the topology) rely on it and do not
    /// check again.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.kingdee.validate()?;
        self.amqp.validate()?;
        self.mysql.validate()?;
        self.worker.validate()?;
        ensure(
            !self.jobs.is_empty(),
            "jobs",
            "at least one [[jobs]] entry is needed",
        )?;
        for (i, job) in self.jobs.iter().enumerate() {
            let at = format!("jobs[{i}]");
            job.validate(&at)?;
            ensure(
                // The later of two, the one to rename.
                !self.jobs[..i].iter().any(|j| j.name == job.name),
                &format!("{at}.name"),
                "job names must be unique",
            )?;
        }
        Ok(())
    }
}

/// `Err(Invalid)` naming `name` unless the rule `holds`.
pub(super) fn ensure(holds: bool, name: &str, reason: &str) -> Result<(), SettingsError> {
    if holds {
        Ok(())
    } else {
        Err(SettingsError::Invalid {
            name: name.into(),
            reason: reason.into(),
        })
    }
}

/// `Err(Invalid)` naming `name` when `value`, an unsigned number, is 0 (its `Default`).
pub(super) fn at_least_one<T: Default + PartialEq>(
    name: &str,
    value: T,
) -> Result<(), SettingsError> {
    ensure(value != T::default(), name, "must be at least 1")
}

/// `Err(Missing)` naming `name` when a required `value` is absent (defaults are empty) or blank.
pub(super) fn required(name: &str, value: &str) -> Result<(), SettingsError> {
    if value.trim().is_empty() {
        Err(SettingsError::Missing { name: name.into() })
    } else {
        Ok(())
    }
}
