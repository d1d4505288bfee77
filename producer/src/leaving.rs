//! Leaves, as the producer sends them: the target keys of rows that left the job's view, worked
//! out with the mapping's key column alone (a leave message carries target keys, the keys the
//! target table and the reconciliation know), in messages of at most [`KEYS_PER_MESSAGE`].

use anyhow::Context;
use k3sync_common::amqp::{Envelope, Outgoing, Route};
use k3sync_common::dlq::Headers;
use k3sync_common::mapping::{CompiledMapping, MappingSpec};
use k3sync_common::record::Rows;
use k3sync_common::settings::JobSettings;
use k3sync_common::sink::target_key;
use uuid::Uuid;

/// Target keys per leave message (a key is ~10 bytes of JSON).
pub const KEYS_PER_MESSAGE: usize = 1000;

/// The mapping's key column, compiled alone.
pub struct TargetKeys {
    mapping: CompiledMapping,
    fields: Vec<String>,
}

impl TargetKeys {
    /// From the job's mapping `spec` (already read).
    pub fn new(job: &JobSettings, spec: &MappingSpec) -> anyhow::Result<Self> {
        let mapping = CompiledMapping::compile(&spec.key_only())
            .with_context(|| format!("key column of job `{}`", job.name))?;
        let fields = mapping.source_fields();
        Ok(Self { mapping, fields })
    }

    /// The target table (a whitelisted identifier).
    pub fn table(&self) -> &str {
        self.mapping.table()
    }

    /// The target's key column (a whitelisted identifier).
    pub fn key_column(&self) -> &str {
        self.mapping.key_column()
    }

    /// The fields the key column reads.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Each row's target key, read as the sink reads it ([`target_key`]); `None` for a row whose
    /// key column does not give an integer (such a row was never written either: the worker
    /// refuses it).
    pub fn of(&self, rows: &Rows) -> Vec<Option<i64>> {
        let positions = rows.positions(&self.fields);
        rows.rows
            .iter()
            .map(|values| target_key(self.mapping.apply_row(&positions, values).ok()?.first()?))
            .collect()
    }
}

/// Leave messages for `keys`, read at `seen`.
pub fn messages(
    job: &JobSettings,
    route: &Route,
    run_id: Uuid,
    seen: i64,
    keys: &[i64],
) -> Vec<Outgoing> {
    let headers = Headers::new(&job.name, run_id);
    keys.chunks(KEYS_PER_MESSAGE)
        .map(|chunk| {
            let envelope = Envelope::leave(&job.name, &job.form_id, run_id, seen, chunk);
            Outgoing::new(
                route.clone(),
                envelope.message_id().to_string(),
                headers.to_table(),
                envelope.to_json(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k3sync_common::amqp::Kind;
    use serde_json::json;

    #[test]
    fn target_keys_come_from_the_key_column_alone() {
        let mut job = JobSettings {
            name: "materials".into(),
            form_id: "BD_MATERIAL".into(),
            key_field: "FMaterialId".into(),
            ..JobSettings::default()
        };
        job.target.table = "wk_wodtop_product".into();
        job.target.key = "data_id".into();
        job.target.version = "modify_date".into();
        job.target.columns = [
            ("data_id".to_owned(), "{FMasterId}".to_owned()),
            ("name".to_owned(), "_function trim('{FName}')".to_owned()),
            ("modify_date".to_owned(), "{FModifyDate}".to_owned()),
        ]
        .into();
        let spec = MappingSpec::from_target(&job.target).unwrap();
        let keys = TargetKeys::new(&job, &spec).unwrap();
        assert_eq!(keys.fields(), ["FMasterId"]);
        let rows = Rows {
            fields: vec!["FMaterialId".into(), "FMasterId".into()],
            rows: vec![
                vec![json!(5), json!(100_001)],
                vec![json!(6), json!("100002")],
                vec![json!(7), json!(null)],
            ],
        };
        assert_eq!(keys.of(&rows), vec![Some(100_001), Some(100_002), None]);

        let route = Route {
            exchange: String::new(),
            routing_key: "k3sync.materials".into(),
        };
        let many: Vec<i64> = (0..2500).collect();
        let out = messages(&job, &route, Uuid::nil(), 9, &many);
        assert_eq!(out.len(), 3);
        let last = Envelope::from_json(&out[2].body).unwrap();
        assert_eq!(
            (last.kind, last.seen, last.records.len()),
            (Kind::Leave, 9, 500)
        );
        assert_eq!(last.records[0].key, 2000);
    }
}
