//! k3sync's operations tool as a library: what `ctl` prints, computed by functions that tests
//! call directly. `status` reads queue depths (passive declares), runs and the target table;
//! `dlq` browses, replays and purges dead letters without losing or reordering them; `check`
//! is a pre-flight of settings, MySQL, Kingdee and RabbitMQ; `migrate` applies the schema;
//! `ddl` writes a job's target table from its mapping and the form's metadata.

pub mod check;
pub mod cli;
pub mod ddl;
pub mod dlq;
pub mod migrate;
pub mod output;
pub mod probe;
pub mod status;
