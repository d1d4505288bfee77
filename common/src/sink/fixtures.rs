//! The mapping and `[jobs.leave]` that the sink's unit tests share.

use crate::mapping::{CompiledMapping, MappingSpec};
use crate::settings::{LeaveMode, LeaveSettings};

/// The demo table's key, version and one more column.
pub fn mapping() -> CompiledMapping {
    let spec = MappingSpec {
        table: "wk_wodtop_product".into(),
        key: "data_id".into(),
        version: "modify_date".into(),
        columns: vec![
            ("data_id".into(), "{FMasterId}".into()),
            ("modify_date".into(), "{FModifyDate}".into()),
            ("name".into(), "{FName}".into()),
        ],
    };
    CompiledMapping::compile(&spec).expect("the fixture mapping compiles")
}

pub fn leave(mode: LeaveMode, mark: &str, stamp: &str) -> LeaveSettings {
    LeaveSettings {
        mode,
        mark_column: mark.into(),
        stamp_column: stamp.into(),
    }
}
