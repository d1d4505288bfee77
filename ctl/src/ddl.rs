//! `ctl ddl`: the `CREATE TABLE` of a job's target, from its mapping and the form's metadata
//! (QueryBusinessInfo), for the operator to review and then run (`--create` runs it). k3sync's
//! own tables stay in the migrations; a target table belongs to the CRM.
//!
//! Types follow each field's element type in the metadata (`column_type`); every column but
//! the key is NULL-able (Kingdee sends nulls, and rows with NULL dates exist). A field the
//! metadata does not list is typed as text, with a comment saying so.

use anyhow::Context;
use k3sync_common::kingdee::{FormMetadata, KingdeeClient};
use k3sync_common::mapping::{ColumnSource, CompiledMapping, MappingSpec};
use k3sync_common::settings::{JobSettings, Settings};

/// Reads the job's mapping and the form's metadata, and writes the DDL.
pub async fn generate(settings: &Settings, job: &str) -> anyhow::Result<String> {
    let job = settings.job(job)?;
    let mapping = MappingSpec::from_target(&job.target)
        .and_then(|spec| CompiledMapping::compile(&spec))
        .with_context(|| format!("mapping of job `{}`", job.name))?;
    let client = KingdeeClient::new(&settings.kingdee).context("Kingdee client settings")?;
    let metadata = client
        .query_business_info(&job.form_id)
        .await
        .with_context(|| format!("cannot read the metadata of form `{}`", job.form_id))?;
    Ok(create_table(job, &mapping, &metadata))
}

/// Runs the DDL on the settings' database.
pub async fn create(settings: &Settings, ddl: &str) -> anyhow::Result<()> {
    let pool = settings.mysql.pool().context("mysql.url")?;
    // Every identifier in it passed the mapping's whitelist; it holds no value.
    sqlx::raw_sql(sqlx::AssertSqlSafe(ddl.to_owned()))
        .execute(&pool)
        .await
        .context("MySQL refused the CREATE TABLE")?;
    pool.close().await;
    Ok(())
}

/// The `CREATE TABLE` statement, one commented line per column.
pub fn create_table(
    job: &JobSettings,
    mapping: &CompiledMapping,
    metadata: &FormMetadata,
) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    for (index, column) in mapping.columns().iter().enumerate() {
        let source = mapping.column_source(index);
        let (sql_type, origin) = column_type(source, metadata);
        let line = if index == mapping.key_index() {
            format!("`{column}` BIGINT NOT NULL")
        } else {
            format!("`{column}` {sql_type} NULL")
        };
        lines.push((line, origin));
    }
    if let Some(leave) = &job.leave {
        let stamp = &leave.stamp_column;
        lines.push((
            format!("`{stamp}` BIGINT NULL"),
            "k3sync's stamp of the row's last event (jobs.leave.stamp_column)".into(),
        ));
        if let Some(mark) = leave.mark() {
            lines.push((
                format!("`{mark}` DATETIME(3) NULL"),
                "when the row left Kingdee's view; NULL while present (jobs.leave.mark_column)"
                    .into(),
            ));
        }
    }
    lines.push((
        format!("PRIMARY KEY (`{}`)", mapping.key_column()),
        String::new(),
    ));
    let mut out = format!(
        "-- Target of job `{}` (form {}), from its mapping and the form's metadata.\n\
         -- Review the types and lengths before running it.\n\
         CREATE TABLE `{}` (\n",
        job.name,
        job.form_id,
        mapping.table()
    );
    let last = lines.len() - 1;
    for (i, (line, origin)) in lines.iter().enumerate() {
        let comma = if i == last { "" } else { "," };
        if origin.is_empty() {
            out.push_str(&format!("    {line}{comma}\n"));
        } else {
            out.push_str(&format!("    {line}{comma} -- {origin}\n"));
        }
    }
    out.push_str(") ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;\n");
    out
}

/// The SQL type of a mapped column and where it comes from, for the line's comment.
fn column_type(source: ColumnSource<'_>, metadata: &FormMetadata) -> (&'static str, String) {
    const TEXT: &str = "VARCHAR(255)";
    let field = match source {
        ColumnSource::Field(field) => field,
        ColumnSource::Template => return (TEXT, "a template".into()),
        ColumnSource::Function(function) => {
            let sql_type = match function {
                "datetime" => "DATETIME(3)",
                "to_int" | "length" => "BIGINT",
                "to_decimal" => "DECIMAL(23,10)",
                _ => TEXT,
            };
            return (sql_type, format!("_function {function}"));
        }
        ColumnSource::Constant => return (TEXT, "a constant".into()),
    };
    let (head, tail) = field
        .split_once('.')
        .map_or((field, None), |(head, tail)| (head, Some(tail)));
    let Some(meta) = metadata.field(head) else {
        return (TEXT, format!("{{{field}}}: not in the form's metadata"));
    };
    let sql_type = match (meta.element_type.as_str(), tail) {
        (_, Some(t)) if t.eq_ignore_ascii_case("FNumber") => "VARCHAR(80)",
        (_, Some(t)) if t.eq_ignore_ascii_case("FId") => "BIGINT",
        (_, Some(_)) => TEXT,
        ("IntegerField" | "BaseDataField" | "AssistantField" | "UserField" | "OrgField", None) => {
            "BIGINT"
        }
        ("DecimalField" | "QtyField" | "PriceField" | "AmountField", None) => "DECIMAL(23,10)",
        ("DateTimeField" | "DateField" | "CreateDateField" | "ModifyDateField", None) => {
            "DATETIME(3)"
        }
        ("CheckBoxField", None) => "TINYINT(1)",
        ("ComboField", None) => "VARCHAR(32)",
        _ => TEXT,
    };
    let origin = format!("{{{field}}}: {} {}", meta.element_type, meta.caption);
    (sql_type, origin.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k3sync_common::kingdee::FormField;
    use k3sync_common::settings::LeaveSettings;

    fn metadata() -> FormMetadata {
        let field = |key: &str, element_type: &str, caption: &str| FormField {
            key: key.into(),
            element_type: element_type.into(),
            caption: caption.into(),
        };
        FormMetadata {
            form_id: "BD_Customer".into(),
            pk_field: "FCUSTID".into(),
            fields: vec![
                field("FCUSTID", "IntegerField", "客户内码"),
                field("FNumber", "TextField", "客户编码"),
                field("FName", "MultiLangTextField", "客户名称"),
                field("FCOUNTRY", "BaseDataField", "国家"),
                field("FModifyDate", "DateTimeField", "修改日期"),
                field("FDocumentStatus", "ComboField", "数据状态"),
            ],
        }
    }

    #[test]
    fn each_column_is_typed_from_the_field_it_holds() {
        let mut job = JobSettings {
            name: "customers".into(),
            form_id: "BD_Customer".into(),
            leave: Some(LeaveSettings {
                mark_column: "left_at".into(),
                stamp_column: "sync_stamp".into(),
                ..LeaveSettings::default()
            }),
            ..JobSettings::default()
        };
        job.target.table = "crm_customer".into();
        job.target.key = "id".into();
        job.target.version = "modified".into();
        let columns = [
            ("id", "{FCUSTID}"),
            ("code", "{FNumber}"),
            ("name", "_function trim('{FName}')"),
            ("country", "{FCOUNTRY.FNumber}"),
            ("label", "{FNumber}-{FName}"),
            ("status", "{FDocumentStatus}"),
            ("modified", "{FModifyDate}"),
            ("phone", "{FTEL}"),
        ];
        job.target.columns = columns
            .iter()
            .map(|(c, e)| ((*c).to_owned(), (*e).to_owned()))
            .collect();
        let spec = MappingSpec::from_target(&job.target).unwrap();
        let mapping = CompiledMapping::compile(&spec).unwrap();
        let ddl = create_table(&job, &mapping, &metadata());
        let expected = [
            "CREATE TABLE `crm_customer` (",
            "    `code` VARCHAR(255) NULL, -- {FNumber}: TextField 客户编码",
            "    `country` VARCHAR(80) NULL, -- {FCOUNTRY.FNumber}: BaseDataField 国家",
            "    `id` BIGINT NOT NULL, -- {FCUSTID}: IntegerField 客户内码",
            "    `label` VARCHAR(255) NULL, -- a template",
            "    `modified` DATETIME(3) NULL, -- {FModifyDate}: DateTimeField 修改日期",
            "    `name` VARCHAR(255) NULL, -- _function trim",
            "    `phone` VARCHAR(255) NULL, -- {FTEL}: not in the form's metadata",
            "    `status` VARCHAR(32) NULL, -- {FDocumentStatus}: ComboField 数据状态",
            "    `sync_stamp` BIGINT NULL, -- k3sync's stamp of the row's last event (jobs.leave.stamp_column)",
            "    `left_at` DATETIME(3) NULL, -- when the row left Kingdee's view; NULL while present (jobs.leave.mark_column)",
            "    PRIMARY KEY (`id`)",
            ") ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;",
        ];
        let body: Vec<&str> = ddl.lines().skip(2).collect();
        assert_eq!(body, expected, "{ddl}");
    }
}
