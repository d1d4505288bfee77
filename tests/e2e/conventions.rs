//! Command-line conventions an operator expects of every binary: `--config` anywhere on the line,
//! a prompt stop on SIGTERM even while Kingdee is down and an immediate one on a second Ctrl-C,
//! errors named once and by their real cause, completions and man pages, and the tests that
//! restart shared servers reported as skipped by the main suite.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k3sync_tests::chaos::{Proc, log_dir, remove_logs};
use k3sync_tests::{TestEnv, binary, mysql_server_url, wait_for};
use sqlx::{Connection, MySqlConnection};

/// How long a binary may take to stop once it has been told to.
const PROMPT: Duration = Duration::from_secs(5);
/// How long a short command (help, completions, a failing check) may take.
const SHORT: Duration = Duration::from_secs(60);

/// Runs `name` with `args` and extra environment `vars`; returns (exit code, stdout, stderr).
async fn run(name: &str, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = tokio::process::Command::new(binary(name));
    command.args(args).env("RUST_LOG", "info");
    for (key, value) in vars {
        command.env(key, value);
    }
    let output = tokio::time::timeout(SHORT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{name} {args:?} did not finish within {SHORT:?}"))
        .expect("run the binary");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A settings file that does not exist, named so its path shows in the error.
fn missing_config() -> PathBuf {
    std::env::temp_dir().join(format!(
        "k3sync-missing-{}.toml",
        uuid::Uuid::new_v4().simple()
    ))
}

#[tokio::test]
async fn config_is_accepted_after_the_subcommand_by_every_binary() {
    let config = missing_config();
    let path = config.display().to_string();
    let lines: [(&str, Vec<&str>); 4] = [
        ("producer", vec!["sync", "--once", "--config", &path]),
        ("producer", vec!["--config", &path, "sync", "--once"]),
        ("worker", vec!["--job", "materials", "--config", &path]),
        ("ctl", vec!["status", "--config", &path]),
    ];
    for (name, args) in lines {
        let (code, stdout, stderr) = run(name, &args, &[]).await;
        // The flag was taken: the program read the settings file it names (and found none),
        // instead of clap refusing the line.
        assert_eq!(code, 1, "{name} {args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("cannot read settings") && stderr.contains(&path),
            "{name} {args:?}: {stderr}"
        );
        assert!(!stderr.contains("unexpected argument"), "{stderr}");
    }
}

#[tokio::test]
async fn a_settings_error_is_printed_once() {
    let config =
        std::env::temp_dir().join(format!("k3sync-bad-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&config, "[kingdee]\nserver_url = \"http://127.0.0.1:1/\"\n").unwrap();
    let path = config.display().to_string();
    let (code, _, stderr) = run("ctl", &["--config", &path, "status"], &[]).await;
    assert_eq!(code, 1, "{stderr}");
    let missing = "`kingdee.acct_id` is required";
    assert_eq!(stderr.matches(missing).count(), 1, "{stderr}");
    let (code, stdout, _) = run("ctl", &["--config", &path, "check"], &[]).await;
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stdout.matches(missing).count(), 1, "{stdout}");
    let _ = std::fs::remove_file(config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_check_names_the_real_cause_of_a_mysql_failure() {
    let env = TestEnv::start(20).await;
    let config = env.write_config();
    let path = config.display().to_string();

    let mut wrong_password = reqwest::Url::parse(&mysql_server_url()).expect("a MySQL URL");
    if wrong_password.username().is_empty() {
        wrong_password.set_username("k3sync").unwrap();
    }
    wrong_password
        .set_password(Some("not-the-password"))
        .unwrap();
    let url = format!(
        "{}/{}",
        wrong_password.as_str().trim_end_matches('/'),
        env.database
    );
    let started = Instant::now();
    let (code, stdout, stderr) = run(
        "ctl",
        &["--config", &path, "check"],
        &[("K3SYNC__MYSQL__URL", &url)],
    )
    .await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    let mysql = stdout
        .lines()
        .find(|l| l.starts_with("FAIL mysql"))
        .unwrap_or_else(|| panic!("no failed mysql line: {stdout}"));
    assert!(mysql.contains("Access denied for user"), "{mysql}");
    assert!(!stdout.contains("pool timed out"), "{stdout}");

    let refused = format!("mysql://k3sync:k3sync@127.0.0.1:{}/x", closed_port());
    let (_, stdout, _) = run(
        "ctl",
        &["--config", &path, "check"],
        &[("K3SYNC__MYSQL__URL", &refused)],
    )
    .await;
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("FAIL mysql") && l.contains("Connection refused")),
        "{stdout}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "two checks took {:?}: a pool's acquire timeout is 10 s each",
        started.elapsed()
    );
    let _ = std::fs::remove_file(config);
    env.cleanup().await;
}

/// A port on the loopback where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn signal(proc: &Proc, name: &str) {
    let pid = proc.pid().expect("the process runs").to_string();
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} {pid}");
}

fn producer_args(env: &TestEnv, config: &Path) -> Vec<String> {
    let config = config.display().to_string();
    ["--config", &config, "sync", "--job", env.job(), "--once"]
        .map(str::to_owned)
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_producer_waiting_out_kingdee_retries_at_once() {
    let env = TestEnv::start(20).await;
    let config = env.write_config();
    // Kingdee down (nothing listens), and retries far apart: the producer sits in a retry sleep.
    let server = format!("http://127.0.0.1:{}/k3cloud/", closed_port());
    let vars = [
        ("K3SYNC__KINGDEE__SERVER_URL", server.as_str()),
        ("K3SYNC__KINGDEE__RETRY_ATTEMPTS", "10"),
        ("K3SYNC__KINGDEE__RETRY_MIN_DELAY_MS", "30000"),
        ("K3SYNC__KINGDEE__RETRY_MAX_DELAY_MS", "60000"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let log = log_dir(&env).join("producer.log");
    let mut producer = Proc::spawn(
        "producer",
        "producer",
        &producer_args(&env, &config),
        &vars,
        log,
    );
    wait_for("the producer to retry Kingdee", SHORT, || async {
        let text = std::fs::read_to_string(&producer.log).unwrap_or_default();
        text.contains("Retrying a Kingdee request").then_some(())
    })
    .await;
    let status = producer.terminate(PROMPT).await;
    let status = status.unwrap_or_else(|| {
        panic!(
            "no exit within {PROMPT:?} of SIGTERM:\n{}",
            producer.log_tail(10)
        )
    });
    assert!(status.success(), "{status:?}:\n{}", producer.log_tail(10));
    let run: String = sqlx::query_scalar("SELECT status FROM sync_runs WHERE job = ?")
        .bind(env.job())
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(run, "cancelled");
    remove_logs(&env);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_exits_at_once_with_130() {
    let env = TestEnv::start(20).await;
    let config = env.write_config();
    // Another session holds the job's lock: the producer waits for it (lock_wait_secs, 600 s by
    // default), a wait that the first SIGINT does not end.
    let mut holder = MySqlConnection::connect(&format!("{}/{}", mysql_server_url(), env.database))
        .await
        .unwrap();
    let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, 0)")
        .bind(format!("k3sync.producer.{}", env.job()))
        .fetch_one(&mut holder)
        .await
        .unwrap();
    assert_eq!(got, Some(1));
    let log = log_dir(&env).join("producer.log");
    let mut producer = Proc::spawn(
        "producer",
        "producer",
        &producer_args(&env, &config),
        &[],
        log,
    );
    wait_for("the producer to wait for the job's lock", SHORT, || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE DB = ? AND INFO LIKE 'SELECT GET_LOCK%'",
        )
        .bind(&env.database)
        .fetch_one(&env.pool)
        .await
        .unwrap();
        (waiting > 0).then_some(())
    })
    .await;
    signal(&producer, "INT");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        producer.exited().is_none(),
        "the first SIGINT should wait for a safe point (here: the lock); pick another wait"
    );
    let asked = Instant::now();
    signal(&producer, "INT");
    let status = producer.wait(PROMPT).await.unwrap_or_else(|| {
        panic!(
            "no exit within {PROMPT:?} of the second SIGINT:\n{}",
            producer.log_tail(10)
        )
    });
    assert_eq!(status.code(), Some(130), "{}", producer.log_tail(10));
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    let _ = holder.close().await;
    remove_logs(&env);
    env.cleanup().await;
}

#[tokio::test]
async fn completions_and_man_pages_come_from_every_binarys_own_flags() {
    let binaries = [
        ("producer", vec!["sync", "--once", "--config"]),
        ("worker", vec!["--job", "--config"]),
        ("ctl", vec!["status", "dlq", "replay", "check", "--config"]),
    ];
    for (name, words) in binaries {
        let (code, bash, stderr) = run(name, &["completions", "bash"], &[]).await;
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(bash.contains(&format!("_{name}()")), "{name}: {bash}");
        for word in &words {
            assert!(bash.contains(word), "{name} completions lack {word}");
        }
        let (code, zsh, _) = run(name, &["completions", "zsh"], &[]).await;
        assert_eq!(code, 0);
        assert!(zsh.starts_with(&format!("#compdef {name}")), "{zsh}");

        let (code, man, stderr) = run(name, &["man"], &[]).await;
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(man.contains(&format!(".TH {name} 1")), "{name}: {man}");
        assert!(
            man.contains("K3SYNC_CONFIG"),
            "{name}: the man page names the env var"
        );

        // Documentation, not a command an operator runs: out of the help.
        let (_, help, _) = run(name, &["--help"], &[]).await;
        assert!(!help.contains("completions"), "{name}: {help}");
    }

    let dir = std::env::temp_dir().join(format!("k3sync-man-{}", uuid::Uuid::new_v4().simple()));
    let path = dir.display().to_string();
    let (code, _, stderr) = run("ctl", &["man", "--dir", &path], &[]).await;
    assert_eq!(code, 0, "{stderr}");
    for page in ["ctl.1", "ctl-check.1", "ctl-dlq-replay.1"] {
        assert!(dir.join(page).is_file(), "{page} in {path}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// nextest counts an `#[ignore]`d test as skipped; `--list --ignored` on this very test binary
/// (libtest's own flags) lists exactly those. The restart tests must be among them, so the main
/// suite skips them, and the test script must run them on their own.
#[test]
fn tests_restarting_shared_servers_are_skipped_by_the_main_suite() {
    let exe = std::env::current_exe().expect("this test binary");
    let output = std::process::Command::new(exe)
        .args(["--list", "--ignored", "--format", "terse"])
        .output()
        .expect("list the ignored tests");
    let listed = String::from_utf8_lossy(&output.stdout);
    let ignored: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .collect();
    for test in [
        "chaos::mysql::a_mariadb_restart_mid_run_loses_nothing",
        "chaos::broker::a_rabbitmq_restart_mid_run_loses_nothing",
    ] {
        assert!(
            ignored.contains(&test),
            "{test} is not ignored: {ignored:?}"
        );
    }
    assert!(
        ignored
            .iter()
            .all(|t| t.contains("_restart_") || t.starts_with("chaos::cluster::")),
        "only the restart and cluster tests are ignored: {ignored:?}"
    );
    assert!(
        ignored
            .iter()
            .filter(|t| t.starts_with("chaos::cluster::"))
            .all(|t| t.contains("_cluster_")),
        "the cluster tests match the script's filter: {ignored:?}"
    );

    let root = k3sync_tests::workspace_root();
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect(".ci/run");
    assert!(
        ci.contains("scripts/test.sh"),
        "CI runs the README's script"
    );
    let script = std::fs::read_to_string(root.join("scripts/test.sh")).expect("scripts/test.sh");
    assert!(
        script.contains("--run-ignored only") && script.contains("-E 'test(/_restart_/)'"),
        "scripts/test.sh runs the restart tests apart"
    );
    assert!(
        script.contains("-E 'test(/_cluster_/)'"),
        "scripts/test.sh runs the cluster tests apart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_dlq_refuses_an_unknown_class_and_names_the_known_ones() {
    let env = TestEnv::start(10).await;
    let config = env.write_config();
    let path = config.display().to_string();
    for command in [&["list"][..], &["replay"], &["purge", "--yes"]] {
        let mut args = vec!["--config", path.as_str(), "dlq"];
        args.extend_from_slice(command);
        args.extend(["--class", "dat"]);
        let (code, stdout, stderr) = run("ctl", &args, &[]).await;
        let command = command[0];
        assert_ne!(code, 0, "{command}: {stdout}{stderr}");
        let text = format!("{stdout}{stderr}");
        assert!(
            text.contains("unknown error class `dat`") && text.contains("too_large"),
            "{command}: {text}"
        );
    }
    // A known class is taken (nothing to list in a new job's dead queue).
    let (code, stdout, stderr) = run(
        "ctl",
        &["--config", &path, "dlq", "list", "--class", "data"],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let _ = std::fs::remove_file(config);
    env.cleanup().await;
}
