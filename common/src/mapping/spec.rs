//! Where a mapping comes from: `[jobs.target]` in `k3sync.toml` (its `columns` table) and/or a
//! mapping file in the seed's JSON shape,
//! `{"field": "main_params", "children": [{"field": "data_id", "value": "{FMasterId}"}, …]}`
//! (or a bare array of `{"field", "value"}` entries; other keys such as `label` are ignored).
//!
//! When both are given, the file's entries come first, in the file's order; then each TOML
//! column replaces the file's entry of the same name (ignoring case) in place, and TOML columns
//! the file lacks are appended in name order. So a file holds the mapping and `k3sync.toml` (or
//! `K3SYNC__…` in the environment) overrides single columns.

use serde::Deserialize;
use serde_json::Value;

use super::error::MappingError;
use crate::settings::TargetSettings;

/// A mapping as written: the target table, its key and version columns, and (target column,
/// value expression) pairs in order. [`super::CompiledMapping::compile`] checks all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingSpec {
    pub table: String,
    pub key: String,
    pub version: String,
    pub columns: Vec<(String, String)>,
}

/// One entry of the seed's mapping shape.
#[derive(Deserialize)]
struct SeedEntry {
    field: String,
    value: String,
}

impl MappingSpec {
    /// The mapping of a job's target; its `mapping_file` is read as it is, a relative one having
    /// been resolved against the settings file's folder when the settings loaded.
    pub fn from_target(target: &TargetSettings) -> Result<Self, MappingError> {
        let mut columns = match &target.mapping_file {
            None => Vec::new(),
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| MappingError::ReadFile {
                        path: path.clone(),
                        source,
                    })?;
                Self::from_seed_json(&text).map_err(|e| MappingError::File {
                    path: path.clone(),
                    source: Box::new(e),
                })?
            }
        };
        let overrides = target.columns.iter().map(|(c, e)| (c.clone(), e.clone()));
        merge(&mut columns, overrides);
        Ok(Self {
            table: target.table.clone(),
            key: target.key.clone(),
            version: target.version.clone(),
            columns,
        })
    }

    /// The key column alone (a converging job's producer works out target keys with it).
    pub fn key_only(&self) -> Self {
        Self {
            table: self.table.clone(),
            key: self.key.clone(),
            version: self.key.clone(),
            columns: self
                .columns
                .iter()
                .filter(|(c, _)| c.eq_ignore_ascii_case(&self.key))
                .cloned()
                .collect(),
        }
    }

    /// The (column, expression) pairs of a mapping file in the seed's shape, in file order.
    pub fn from_seed_json(text: &str) -> Result<Vec<(String, String)>, MappingError> {
        let document: Value = serde_json::from_str(text).map_err(MappingError::Json)?;
        let entries = match document {
            Value::Array(entries) => entries,
            Value::Object(mut object) => match object.remove("children") {
                Some(Value::Array(entries)) => entries,
                _ => return Err(MappingError::SeedShape),
            },
            _ => return Err(MappingError::SeedShape),
        };
        entries
            .into_iter()
            .enumerate()
            .map(|(i, entry)| {
                SeedEntry::deserialize(entry)
                    .map(|e| (e.field, e.value))
                    .map_err(|source| MappingError::SeedEntry {
                        number: i + 1,
                        source,
                    })
            })
            .collect()
    }
}

/// Applies `overrides` on top of `columns`: same name (ignoring case) replaces in place, a new
/// name is appended.
fn merge(
    columns: &mut Vec<(String, String)>,
    overrides: impl IntoIterator<Item = (String, String)>,
) {
    for (column, expression) in overrides {
        match columns
            .iter_mut()
            .find(|(c, _)| c.eq_ignore_ascii_case(&column))
        {
            Some(entry) => *entry = (column, expression),
            None => columns.push((column, expression)),
        }
    }
}
