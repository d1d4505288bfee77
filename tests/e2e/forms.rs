//! Beyond materials, by configuration only: customers (`BD_Customer`) and suppliers
//! (`BD_Supplier`) sync into tables of their own next to materials — two `[[jobs]]` entries in the
//! settings file, their tables created from `ctl ddl --create`, the three jobs in one producer
//! process and two workers consuming every job. Each table must equal the rows computed here
//! from the mock's own listing of the form.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k3sync_common::amqp::Topology;
use k3sync_tests::chaos::{
    Proc, Row, assert_same_table, date, expected, log_dir, remove_logs, table, text,
};
use k3sync_tests::{TestEnv, poll, run_binary};
use kingdee_mock::MockConfig;
use serde_json::Value;
use sqlx::MySqlPool;

/// One extra job: its form, target table, mapping and how a listed record maps by hand.
struct FormJob {
    suffix: &'static str,
    form: &'static str,
    key: &'static str,
    table: &'static str,
    converges: bool,
    /// (column, expression); the first column is the key, `modified` the version.
    columns: &'static [(&'static str, &'static str)],
    /// The record's fields each non-key column holds, in `columns` order after the key.
    fields: &'static [&'static str],
}

const CUSTOMERS: FormJob = FormJob {
    suffix: "c",
    form: "BD_Customer",
    key: "FCUSTID",
    table: "crm_customer",
    converges: true,
    columns: &[
        ("id", "{FCUSTID}"),
        ("code", "{FNumber}"),
        ("name", "{FName}"),
        ("short_name", "_function trim('{FShortName}')"),
        ("country", "{FCOUNTRY.FNumber}"),
        ("modified", "_function datetime('{FModifyDate}')"),
    ],
    fields: &[
        "FNumber",
        "FName",
        "FShortName",
        "FCOUNTRY.FNumber",
        "FModifyDate",
    ],
};

const SUPPLIERS: FormJob = FormJob {
    suffix: "s",
    form: "BD_Supplier",
    key: "FSupplierId",
    table: "crm_supplier",
    converges: false,
    columns: &[
        ("id", "{FSupplierId}"),
        ("code", "{FNumber}"),
        ("name", "{FName}"),
        ("tax_code", "{FTaxRegisterCode}"),
        ("currency", "{FPayCurrencyId.FNumber}"),
        ("modified", "_function datetime('{FModifyDate}')"),
    ],
    fields: &[
        "FNumber",
        "FName",
        "FTaxRegisterCode",
        "FPayCurrencyId.FNumber",
        "FModifyDate",
    ],
};

impl FormJob {
    fn name(&self, env: &TestEnv) -> String {
        format!("{}{}", env.job(), self.suffix)
    }

    /// The `[[jobs]]` entry, in the demo's scope and filter.
    fn settings(&self, env: &TestEnv) -> String {
        let mut text = format!(
            "\n[[jobs]]\nname = \"{}\"\nform_id = \"{}\"\n\
             scope = \"FUseOrgId.FNumber = 'T00'\"\n\
             filter = \"FDocumentStatus = 'C' AND FForbidStatus = 'A'\"\n\
             page_size = 100\nschedule_secs = 2\n",
            self.name(env),
            self.form
        );
        if self.converges {
            text.push_str(
                "\n[jobs.leave]\nmode = \"mark\"\nmark_column = \"left_at\"\nstamp_column = \"sync_stamp\"\n",
            );
        }
        text.push_str(&format!(
            "\n[jobs.target]\ntable = \"{}\"\nkey = \"id\"\nversion = \"modified\"\n\n[jobs.target.columns]\n",
            self.table
        ));
        for (column, expression) in self.columns {
            text.push_str(&format!(
                "{column} = \"{}\"\n",
                expression.replace('"', "\\\"")
            ));
        }
        text
    }

    /// The rows the job must write: the form's listed records under the job's filter, mapped
    /// by hand (trim for `short_name`, dates to the millisecond).
    fn expected(&self, records: &[Value]) -> BTreeMap<i64, Row> {
        records
            .iter()
            .filter(|r| {
                r["FUseOrgId.FNumber"] == "T00"
                    && r["FDocumentStatus"] == "C"
                    && r["FForbidStatus"] == "A"
            })
            .map(|r| {
                let key = r[self.key].as_i64().expect("the form's key");
                let row = self
                    .fields
                    .iter()
                    .map(|f| match *f {
                        "FModifyDate" => date(&r[*f]),
                        "FShortName" => text(&r[*f]).map(|s| s.trim().to_owned()),
                        _ => text(&r[*f]),
                    })
                    .collect();
                (key, row)
            })
            .collect()
    }

    /// The table as MySQL holds it, in the same shape.
    async fn table(&self, pool: &MySqlPool) -> BTreeMap<i64, Row> {
        let columns: Vec<String> = self.columns[1..]
            .iter()
            .map(|(c, _)| {
                if *c == "modified" {
                    "DATE_FORMAT(modified, '%Y-%m-%d %H:%i:%s.%f')".to_owned()
                } else {
                    format!("CAST({c} AS CHAR)")
                }
            })
            .collect();
        let sql = format!("SELECT id, {} FROM {}", columns.join(", "), self.table);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .expect("read the target table");
        use sqlx::Row as _;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let values = (1..self.columns.len())
                    .map(|i| {
                        let v: Option<String> = r.get(i);
                        if self.columns[i].0 == "modified" {
                            v.map(|s| s[..s.len() - 3].to_owned())
                        } else {
                            v
                        }
                    })
                    .collect();
                (id, values)
            })
            .collect()
    }

    async fn count(&self, pool: &MySqlPool) -> Option<usize> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.table);
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .ok()
            .map(|n| n as usize)
    }
}

/// `ctl ddl --job J --create` with the test's settings file.
async fn create_table(config: &Path, job: &str) {
    let config = config.display().to_string();
    let (code, stderr) = run_binary(
        "ctl",
        &["--config", &config, "ddl", "--job", job, "--create"],
        Duration::from_secs(60),
    )
    .await
    .expect("ctl ddl");
    assert_eq!(code, 0, "ctl ddl --create for {job}: {stderr}");
}

/// The column types MySQL holds for `table`, by column.
async fn column_types(pool: &MySqlPool, table: &str) -> BTreeMap<String, String> {
    sqlx::query_as::<_, (String, String)>(
        "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .expect("information_schema")
    .into_iter()
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_and_suppliers_sync_next_to_materials_by_configuration_only() {
    let env = TestEnv::with_mock(MockConfig {
        rows: 1500,
        customers: 700,
        suppliers: 400,
        ..MockConfig::default()
    })
    .await;
    let config = env.write_config();
    let mut text = std::fs::read_to_string(&config).expect("test config");
    for form in [&CUSTOMERS, &SUPPLIERS] {
        text.push_str(&form.settings(&env));
    }
    std::fs::write(&config, text).expect("write test config");

    for form in [&CUSTOMERS, &SUPPLIERS] {
        create_table(&config, &form.name(&env)).await;
    }
    let customers = column_types(&env.pool, CUSTOMERS.table).await;
    let want: BTreeMap<String, String> = [
        ("id", "bigint(20)"),
        ("code", "varchar(255)"),
        ("name", "varchar(255)"),
        ("short_name", "varchar(255)"),
        ("country", "varchar(80)"),
        ("modified", "datetime(3)"),
        ("sync_stamp", "bigint(20)"),
        ("left_at", "datetime(3)"),
    ]
    .into_iter()
    .map(|(c, t)| (c.to_owned(), t.to_owned()))
    .collect();
    assert_eq!(customers, want, "the customers table ctl ddl created");

    let args = ["--config".to_owned(), config.display().to_string()];
    let workers: Vec<Proc> = (1..=2)
        .map(|i| {
            Proc::spawn(
                &format!("worker-{i}"),
                "worker",
                &args,
                &[],
                log_dir(&env).join(format!("worker-{i}.log")),
            )
        })
        .collect();
    // One scheduled producer process for the three jobs, each on its own schedule.
    let producer = Proc::spawn(
        "producer",
        "producer",
        &[args[0].clone(), args[1].clone(), "sync".to_owned()],
        &[],
        log_dir(&env).join("producer.log"),
    );
    let materials = expected(&env.mock_rows().await);
    let mut wanted = Vec::new();
    for form in [&CUSTOMERS, &SUPPLIERS] {
        let path = format!("/_mock/rows?form={}", form.form);
        let records = match env.mock_get(&path).await {
            Value::Array(rows) => rows,
            other => panic!("{path} gave {other}"),
        };
        let want = form.expected(&records);
        assert!(
            want.len() > 50,
            "{}: too few rows to mean much: {}",
            form.form,
            want.len()
        );
        wanted.push(want);
    }
    poll(
        "every table to hold its rows",
        Duration::from_secs(120),
        Duration::from_millis(250),
        || async {
            let done = table(&env.pool).await.ok()?.len() == materials.len()
                && CUSTOMERS.count(&env.pool).await? == wanted[0].len()
                && SUPPLIERS.count(&env.pool).await? == wanted[1].len();
            done.then_some(())
        },
    )
    .await;
    let jobs = [
        env.job().to_owned(),
        CUSTOMERS.name(&env),
        SUPPLIERS.name(&env),
    ];
    let passed = |log: &str, job: &str| {
        log.lines().any(|l| {
            l.contains("Pass finished")
                && l.contains(&format!("\"job\":\"{job}\""))
                && l.contains("succeeded")
        })
    };
    poll(
        "a successful pass of each job in the one producer process",
        Duration::from_secs(60),
        Duration::from_millis(250),
        || async {
            let log = std::fs::read_to_string(&producer.log).ok()?;
            jobs.iter().all(|job| passed(&log, job)).then_some(())
        },
    )
    .await;
    // A moment for anything extra to arrive, then exact contents.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_same_table(&table(&env.pool).await.expect("materials"), &materials);
    assert_same_table(&CUSTOMERS.table(&env.pool).await, &wanted[0]);
    assert_same_table(&SUPPLIERS.table(&env.pool).await, &wanted[1]);

    // A full pass of the new forms reads their key ranges in partitions (max_in_flight 4) by
    // their own key fields, and changes nothing.
    drop(producer);
    let config_arg = config.display().to_string();
    for form in [&CUSTOMERS, &SUPPLIERS] {
        let name = form.name(&env);
        let (code, stderr) = run_binary(
            "producer",
            &[
                "--config",
                &config_arg,
                "sync",
                "--job",
                &name,
                "--mode",
                "full",
                "--once",
            ],
            Duration::from_secs(120),
        )
        .await
        .expect("producer full pass");
        assert_eq!(code, 0, "full pass of {name}: {stderr}");
        let (parts, open): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(pass_open), 0) AS SIGNED) FROM sync_state \
             WHERE job = ? AND mode LIKE 'full:part:%'",
        )
        .bind(&name)
        .fetch_one(&env.pool)
        .await
        .expect("sync_state");
        assert!(
            parts >= 4 && open == 0,
            "{name}: {parts} partitions, {open} open"
        );
    }
    poll(
        "the full passes' records to be written",
        Duration::from_secs(60),
        Duration::from_millis(250),
        || async {
            let queued = [&CUSTOMERS, &SUPPLIERS]
                .iter()
                .map(|f| f.name(&env))
                .collect::<Vec<_>>();
            let mut depth = 0;
            for job in &queued {
                let topology = Topology::new(job, &env.settings.amqp);
                let connection =
                    k3sync_common::amqp::connect(&env.settings.amqp, "k3sync-test-depth")
                        .await
                        .ok()?;
                let channel = k3sync_common::amqp::open_channel(&connection, false)
                    .await
                    .ok()?;
                let (ready, _) =
                    k3sync_common::amqp::topology::queue_depth(&channel, &topology.work_queue())
                        .await
                        .ok()?;
                depth += ready;
                let _ = connection.close(200, "done".into()).await;
            }
            (depth == 0).then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_same_table(&CUSTOMERS.table(&env.pool).await, &wanted[0]);
    assert_same_table(&SUPPLIERS.table(&env.pool).await, &wanted[1]);

    drop(workers);
    remove_logs(&env);
    for form in [&CUSTOMERS, &SUPPLIERS] {
        delete_queues(&env, &form.name(&env)).await;
    }
    env.cleanup().await;
}

async fn delete_queues(env: &TestEnv, job: &str) {
    let topology = Topology::new(job, &env.settings.amqp);
    let Ok(connection) =
        k3sync_common::amqp::connect(&env.settings.amqp, "k3sync-test-cleanup").await
    else {
        return;
    };
    if let Ok(channel) = k3sync_common::amqp::open_channel(&connection, false).await {
        for queue in topology.all_queues() {
            let _ = channel
                .queue_delete(queue.into(), lapin::options::QueueDeleteOptions::default())
                .await;
        }
    }
}
