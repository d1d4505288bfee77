-- k3sync's own state: cursors, pass history and the dead-letter log. utf8mb4 throughout.

CREATE TABLE IF NOT EXISTS sync_state (
    job          VARCHAR(64)  NOT NULL,
    mode         VARCHAR(16)  NOT NULL,
    -- The keyset cursor: the time field as Kingdee returned it (NULL in full mode) and the key.
    cursor_time  VARCHAR(40)  NULL,
    cursor_key   BIGINT       NULL,
    -- A full pass that has not finished yet resumes from its cursor; a finished one starts over.
    pass_open    TINYINT(1)   NOT NULL DEFAULT 0,
    run_id       CHAR(36)     NULL,
    updated_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (job, mode)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS sync_runs (
    id           BIGINT       NOT NULL AUTO_INCREMENT,
    run_id       CHAR(36)     NOT NULL,
    job          VARCHAR(64)  NOT NULL,
    mode         VARCHAR(16)  NOT NULL,
    status       VARCHAR(16)  NOT NULL,
    started_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    finished_at  DATETIME(3)  NULL,
    pages        BIGINT       NOT NULL DEFAULT 0,
    records      BIGINT       NOT NULL DEFAULT 0,
    error        TEXT         NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_sync_runs_run (run_id),
    KEY ix_sync_runs_job (job, started_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS error_log (
    id           BIGINT       NOT NULL AUTO_INCREMENT,
    message_id   VARCHAR(64)  NULL,
    job          VARCHAR(64)  NOT NULL,
    record_key   BIGINT       NULL,
    class        VARCHAR(32)  NOT NULL,
    error        TEXT         NOT NULL,
    payload      LONGTEXT     NULL,
    attempt      INT          NOT NULL DEFAULT 0,
    worker       VARCHAR(128) NULL,
    created_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    replayed_at  DATETIME(3)  NULL,
    purged_at    DATETIME(3)  NULL,
    PRIMARY KEY (id),
    KEY ix_error_log_job (job, created_at),
    KEY ix_error_log_message (message_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
