//! The shared servers as a chaos test disturbs them: the workers' MySQL connections (the workers
//! log in as a user of their own, so `information_schema.PROCESSLIST` tells their connections
//! from everyone else's), a MariaDB restart, and RabbitMQ's `stop_app` / `start_app`.

use std::time::Duration;

use sqlx::{Connection, MySqlConnection};

use super::poll;
use crate::{TestEnv, amqp_url, mysql_server_url};

/// How long a restarted server may take to answer again.
const RESTART_WAIT: Duration = Duration::from_secs(90);

async fn admin() -> Result<MySqlConnection, sqlx::Error> {
    MySqlConnection::connect(&mysql_server_url()).await
}

/// A MySQL user of the workers' own, so their connections can be told apart. Its rights are on
/// the databases `k3sync_*`, the pattern k3sync's test account holds them by: MariaDB lets a
/// grantor hand on a wildcard grant only as that same pattern, not for one database under it.
pub struct WorkerUser {
    pub name: String,
    database: String,
}

impl WorkerUser {
    pub async fn create(env: &TestEnv) -> Self {
        let name = format!("k3sync_w_{}", env.id);
        let mut admin = admin().await.expect("MariaDB");
        for sql in [
            format!("CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY 'chaos'"),
            format!("GRANT ALL PRIVILEGES ON `k3sync\\_%`.* TO '{name}'@'127.0.0.1'"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .expect("worker user");
        }
        let _ = admin.close().await;
        Self {
            name,
            database: env.database.clone(),
        }
    }

    /// `K3SYNC__MYSQL__URL` for the workers.
    pub fn url(&self) -> String {
        let server = mysql_server_url();
        let host = server.rsplit('@').next().unwrap_or("127.0.0.1:3306");
        format!("mysql://{}:chaos@{host}/{}", self.name, self.database)
    }

    pub async fn drop_user(self) {
        if let Ok(mut admin) = admin().await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP USER IF EXISTS '{}'@'127.0.0.1'",
                self.name
            )))
            .execute(&mut admin)
            .await;
            let _ = admin.close().await;
        }
    }
}

/// `KILL` of every connection `user` has open to the test database; returns how many.
pub async fn kill_connections_of(user: &WorkerUser) -> usize {
    let mut admin = admin().await.expect("MariaDB");
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND DB = ?",
    )
    .bind(&user.name)
    .bind(&user.database)
    .fetch_all(&mut admin)
    .await
    .expect("the workers' connections");
    let mut killed = 0;
    for id in ids {
        // A connection may be gone by now; that is fine.
        if sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
            .execute(&mut admin)
            .await
            .is_ok()
        {
            killed += 1;
        }
    }
    let _ = admin.close().await;
    killed
}

/// Whether MariaDB answers a query.
pub async fn mysql_answers() -> bool {
    match admin().await {
        Ok(mut c) => {
            let ok = sqlx::query("SELECT 1").execute(&mut c).await.is_ok();
            let _ = c.close().await;
            ok
        }
        Err(_) => false,
    }
}

/// The arguments the running mariadbd was started with (after the program), from `/proc`.
fn mariadbd_arguments() -> Option<Vec<String>> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let raw = std::fs::read(entry.path().join("cmdline")).ok()?;
            let mut parts = raw
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned());
            let program = parts.next()?;
            program
                .ends_with("mariadbd")
                .then(|| parts.collect::<Vec<_>>())
        })
}

async fn run(program: &str, args: &[&str]) {
    let output = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// Shuts MariaDB down and starts it again the way the machine runs it (`start-stop-daemon`, the
/// same arguments); returns once it answers queries.
pub async fn restart_mariadb() {
    let args = mariadbd_arguments().expect("a running mariadbd");
    run("mariadb-admin", &["-uroot", "shutdown"]).await;
    poll(
        "MariaDB to close its port",
        RESTART_WAIT,
        Duration::from_millis(200),
        || async { (!port_open(3306)).then_some(()) },
    )
    .await;
    let _ = std::fs::create_dir_all("/run/mysqld");
    let _ = run_status("chown", &["mysql:mysql", "/run/mysqld"]).await;
    let mut start = vec![
        "--start",
        "--oknodo",
        "--background",
        "--exec",
        "/usr/sbin/mariadbd",
    ];
    if !args.is_empty() {
        start.push("--");
        start.extend(args.iter().map(String::as_str));
    }
    run("start-stop-daemon", &start).await;
    poll(
        "MariaDB to answer again",
        RESTART_WAIT,
        Duration::from_millis(250),
        || async { mysql_answers().await.then_some(()) },
    )
    .await;
}

async fn run_status(program: &str, args: &[&str]) -> bool {
    tokio::process::Command::new(program)
        .args(args)
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// `rabbitmqctl stop_app`: the broker drops every connection and refuses new ones.
pub async fn rabbitmq_stop_app() {
    run("rabbitmqctl", &["stop_app"]).await;
}

/// `rabbitmqctl start_app`; returns once a client can log in again.
pub async fn rabbitmq_start_app() {
    run("rabbitmqctl", &["start_app"]).await;
    poll(
        "RabbitMQ to accept logins",
        RESTART_WAIT,
        Duration::from_millis(250),
        || async {
            let connection = lapin::Connection::connect(&amqp_url(), Default::default())
                .await
                .ok()?;
            let _ = connection.close(200, "ok".into()).await;
            Some(())
        },
    )
    .await;
}
