-- The default job's target: the CRM's product table, one row per Kingdee material (FMasterId).

CREATE TABLE IF NOT EXISTS wk_wodtop_product (
    data_id              BIGINT        NOT NULL,
    code                 VARCHAR(64)   NOT NULL,
    name                 VARCHAR(255)  NOT NULL,
    specification_model  VARCHAR(255)  NULL,
    product_line         VARCHAR(64)   NULL,
    material_group       VARCHAR(64)   NULL,
    base_unit            VARCHAR(32)   NULL,
    erp_cls              VARCHAR(16)   NULL,
    use_org              VARCHAR(32)   NULL,
    document_status      VARCHAR(16)   NULL,
    forbid_status        VARCHAR(8)    NULL,
    create_date          DATETIME(3)   NULL,
    modify_date          DATETIME(3)   NOT NULL,
    synced_at            DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (data_id),
    KEY ix_wk_wodtop_product_code (code),
    KEY ix_wk_wodtop_product_modify (modify_date)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
