-- Convergence (DESIGN §12): rows leave the target as they leave Kingdee's view.
--
-- sync_state.mode names a cursor: besides full / incremental / new, an incremental pass keeps one
-- cursor per watched date field and direction, e.g. `watch:FApproveDate:enter`.
ALTER TABLE sync_state MODIFY mode VARCHAR(96) NOT NULL;

-- The stamp of the last leave of each key of a job (µs, when the producer read that state): a
-- message of an older state arriving later cannot bring the row back (it is deleted or marked
-- again right after it is written). Kept in delete mode and mark mode alike.
CREATE TABLE IF NOT EXISTS sync_tombstones (
    job         VARCHAR(64)  NOT NULL,
    target_key  BIGINT       NOT NULL,
    stamp       BIGINT       NOT NULL,
    left_at     DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (job, target_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- A reconciliation's listing: every target key under the job's scope and filter with the source
-- key it came from, written as the pages arrive (the producer's memory stays flat), then
-- compared with the target table in MySQL.
CREATE TABLE IF NOT EXISTS sync_reconcile (
    job         VARCHAR(64)  NOT NULL,
    target_key  BIGINT       NOT NULL,
    source_key  BIGINT       NOT NULL,
    PRIMARY KEY (job, target_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The demo target converges in mark mode: `left_at` is set when a material leaves (forbidden,
-- un-audited, deleted), cleared when it comes back; `sync_stamp` is the stale-write guard.
-- `modify_date` may be NULL: old or imported rows have no FModifyDate.
ALTER TABLE wk_wodtop_product
    ADD COLUMN left_at     DATETIME(3) NULL AFTER modify_date,
    ADD COLUMN sync_stamp  BIGINT      NOT NULL DEFAULT 0 AFTER left_at,
    MODIFY modify_date     DATETIME(3) NULL,
    ADD KEY ix_wk_wodtop_product_left (left_at);
