//! `[[jobs]]`: what each sync job reads from Kingdee (form, filter, cursor fields, paging) and
//! where it writes (`[jobs.target]`: table, key, version, mapping).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::SettingsError;
use super::validate::{at_least_one, ensure, required};

/// Largest ExecuteBillQuery page Kingdee serves.
const MAX_PAGE_SIZE: u32 = 10_000;

/// Which rows a producer pass reads; also the values of `producer sync --mode`, whose help
/// shows the first paragraph of each variant's comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Rows whose watched date fields moved past their cursors, leavers too.
    ///
    /// Each field of `watch` has its own (date, key) cursor; a converging job also reads the
    /// rows that stopped matching `filter`.
    #[default]
    Incremental,
    /// Every matching row, by key.
    ///
    /// For the first load or to read everything again; the incremental cursors stay put.
    Full,
    /// Rows created since the watermark.
    ///
    /// The watermark is on `created_field` (FCreateDate): the seed's "新增".
    New,
    /// Every key listed: deletions and anything missed.
    ///
    /// Lists every key under `scope` and `filter`; target rows not listed leave, listed rows
    /// missing from the target are sent again. Acts only on a complete listing.
    Reconcile,
}

/// How a row that stops matching the job (or is deleted in Kingdee) leaves the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LeaveMode {
    /// Set `mark_column` to the time the row left; a row that comes back clears it.
    #[default]
    Mark,
    /// Delete the row (k3sync's `sync_tombstones` keeps its stamp, so a late message of an
    /// older state cannot bring it back).
    Delete,
}

/// `[jobs.leave]`: the job converges — rows leave the target as they leave Kingdee's view.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeaveSettings {
    pub mode: LeaveMode,
    /// Mark mode: a nullable datetime column of the target, NULL while the row is present.
    pub mark_column: String,
    /// A `BIGINT` column of the target where k3sync keeps the stamp (when k3sync read the
    /// state, µs) of the row's last event: the stale-write guard of converging jobs, which
    /// orders upserts and leaves alike. Required.
    pub stamp_column: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// Job name: 1-64 of lower-case letters, digits, `_` and `-`, unique. Required. Names the
    /// queues and the state rows.
    pub name: String,
    /// Kingdee form, e.g. `BD_MATERIAL`. Required.
    pub form_id: String,
    /// FilterString of the rows the job is about, e.g. `FUseOrgId.FNumber = 'T00'`; empty: the
    /// whole form. A row of the scope that does not match `filter` leaves the target.
    pub scope: String,
    /// FilterString of the rows of `scope` that belong in the target (the cursor condition is
    /// added to both).
    pub filter: String,
    /// Date fields an incremental pass watches, each with its own keyset cursor: a row is read
    /// again when any of them moves (audit and forbid need not move `FModifyDate`).
    pub watch: Vec<String>,
    /// Seconds an incremental pass reads back before each cursor, so that a change committed
    /// late with an earlier timestamp is still seen (re-reading is harmless).
    pub overlap_secs: u64,
    /// Seconds between two reconciliations when the producer runs scheduled; 0: never (only
    /// `producer sync --mode reconcile`). Needs `[jobs.leave]`.
    pub reconcile_secs: u64,
    /// How rows leave the target; without it the job only adds and updates rows.
    pub leave: Option<LeaveSettings>,
    /// Primary key field of the form (the keyset cursor's tie breaker and the partitions'
    /// range). Defaults to the form's own for the forms in [`known_key_field`] (`BD_MATERIAL`:
    /// `FMaterialId`, `BD_Customer`: `FCUSTID`, `BD_Supplier`: `FSupplierId`, …); required for
    /// any other form.
    pub key_field: String,
    /// Modification-time field (the incremental cursor). K3Cloud's base-data forms share the
    /// names of the date fields, so these defaults hold for every one of them.
    pub modified_field: String,
    /// Creation-time field (the `new` mode watermark).
    pub created_field: String,
    /// Default mode of `producer sync` for this job.
    pub mode: SyncMode,
    /// Rows per ExecuteBillQuery page, 1 to 10000 (older servers cap at 2000).
    pub page_size: u32,
    /// Seconds between two passes when the producer runs without `--once` (at least 1).
    pub schedule_secs: u64,
    /// Where the records go. Required.
    pub target: TargetSettings,
}

/// The name and form are empty here; `JobSettings::validate` reports them missing.
impl Default for JobSettings {
    fn default() -> Self {
        Self {
            name: String::new(),
            form_id: String::new(),
            scope: String::new(),
            filter: String::new(),
            watch: vec![
                "FModifyDate".into(),
                "FApproveDate".into(),
                "FForbidDate".into(),
            ],
            overlap_secs: 300,
            reconcile_secs: 0,
            leave: None,
            key_field: String::new(),
            modified_field: "FModifyDate".into(),
            created_field: "FCreateDate".into(),
            mode: SyncMode::Incremental,
            page_size: 2000,
            schedule_secs: 300,
            target: TargetSettings::default(),
        }
    }
}

/// All empty: table, key and version are required, and columns or a mapping file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetSettings {
    /// Target table in the MySQL database. Required.
    pub table: String,
    /// Primary-key column of the target table. Required.
    pub key: String,
    /// Version column (a datetime): an older version never overwrites a newer row. Required.
    pub version: String,
    /// Target column → template or `_function …`, e.g. `data_id = "{FMasterId}"`.
    pub columns: BTreeMap<String, String>,
    /// A mapping file in the seed's JSON shape, used instead of (or on top of) `columns`. A
    /// relative path is read from the settings file's folder.
    pub mapping_file: Option<PathBuf>,
}

/// The primary-key field of the K3Cloud forms k3sync knows (their metadata's `PkFieldName`);
/// `None`: the job must name its `key_field`.
pub fn known_key_field(form_id: &str) -> Option<&'static str> {
    const KNOWN: &[(&str, &str)] = &[
        ("BD_MATERIAL", "FMaterialId"),
        ("BD_Customer", "FCUSTID"),
        ("BD_Supplier", "FSupplierId"),
        ("BD_UNIT", "FUNITID"),
        ("BD_MATERIALGROUP", "FID"),
        ("BD_Department", "FDEPTID"),
        ("BD_Empinfo", "FID"),
        ("BD_STOCK", "FStockId"),
        ("BD_Currency", "FCURRENCYID"),
    ];
    KNOWN
        .iter()
        .find(|(form, _)| form.eq_ignore_ascii_case(form_id.trim()))
        .map(|&(_, key)| key)
}

impl JobSettings {
    /// Fills in what depends on other settings (the form's key field); called once, when the
    /// settings load, before `JobSettings::validate`.
    pub(super) fn resolve_defaults(&mut self) {
        if self.key_field.trim().is_empty()
            && let Some(key) = known_key_field(&self.form_id)
        {
            self.key_field = key.to_owned();
        }
    }

    /// The rules of one job; `at` is its key, `jobs[0]`.
    pub(super) fn validate(&self, at: &str) -> Result<(), SettingsError> {
        let key = |field: &str| format!("{at}.{field}");
        required(&key("name"), &self.name)?;
        ensure(
            is_job_name(&self.name),
            &key("name"),
            "use 1-64 of a-z, 0-9, `_`, `-`",
        )?;
        required(&key("form_id"), &self.form_id)?;
        ensure(
            !self.key_field.trim().is_empty(),
            &key("key_field"),
            &format!(
                "required for form `{}` (k3sync knows the key of BD_MATERIAL, BD_Customer, \
                 BD_Supplier and a few more): name the form's primary-key field",
                self.form_id
            ),
        )?;
        ensure(
            (1..=MAX_PAGE_SIZE).contains(&self.page_size),
            &key("page_size"),
            "must be between 1 and 10000",
        )?;
        at_least_one(&key("schedule_secs"), self.schedule_secs)?;
        ensure(
            !self.watch.is_empty(),
            &key("watch"),
            "name at least one date field",
        )?;
        ensure(
            self.leave.is_some() || (self.reconcile_secs == 0 && self.mode != SyncMode::Reconcile),
            &key("leave"),
            "a reconciliation needs [jobs.leave] (how rows leave the target)",
        )?;
        if let Some(leave) = &self.leave {
            leave.validate(&key("leave"))?;
        }
        self.target.validate(&key("target"))
    }

    /// The FilterString of the rows that belong in the target: scope and filter.
    pub fn matching(&self) -> String {
        filter_and(&self.scope, &self.filter)
    }

    /// Whether rows leave the target (`[jobs.leave]` is set).
    pub fn converges(&self) -> bool {
        self.leave.is_some()
    }
}

impl LeaveSettings {
    /// The mark column in mark mode; `None` in delete mode (its `mark_column` is not used).
    pub fn mark(&self) -> Option<&str> {
        (self.mode == LeaveMode::Mark).then_some(self.mark_column.as_str())
    }

    fn validate(&self, at: &str) -> Result<(), SettingsError> {
        let column = |name: &str, value: &str| {
            let key = format!("{at}.{name}");
            required(&key, value)?;
            ensure(
                crate::mapping::is_sql_identifier(value),
                &key,
                "must be a column name (letters, digits, `_`)",
            )
        };
        column("stamp_column", &self.stamp_column)?;
        if let Some(mark) = self.mark() {
            column("mark_column", mark)?;
        }
        Ok(())
    }
}

impl TargetSettings {
    /// `mapping_file` read from `dir` when relative; called once, when the settings load.
    pub(super) fn resolve_paths(&mut self, dir: &Path) {
        if let Some(file) = self.mapping_file.as_mut().filter(|f| f.is_relative()) {
            *file = dir.join(&*file);
        }
    }

    /// The rules of one target; `at` is its key, `jobs[0].target`.
    fn validate(&self, at: &str) -> Result<(), SettingsError> {
        let key = |field: &str| format!("{at}.{field}");
        required(&key("table"), &self.table)?;
        required(&key("key"), &self.key)?;
        required(&key("version"), &self.version)?;
        ensure(
            !self.columns.is_empty() || self.mapping_file.is_some(),
            &key("columns"),
            "give columns or a mapping_file",
        )
    }
}

/// Both FilterString conditions (either may be empty).
pub fn filter_and(a: &str, b: &str) -> String {
    match (a.trim(), b.trim()) {
        ("", b) => b.to_owned(),
        (a, "") => a.to_owned(),
        (a, b) => format!("({a}) AND ({b})"),
    }
}

fn is_job_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}
