//! The end-to-end test binary: one binary (link time matters on two cores), a module per area.
//! Every test talks to the real RabbitMQ and MariaDB on this machine, with its own database and
//! its own queue names, and to an in-process Kingdee mock on a random port.

mod alerts;
mod bad_input;
mod chaos;
mod conventions;
mod converge;
mod ctl;
mod drift;
mod forms;
mod leave;
mod mock_ops;
mod mock_sdk;
mod ops;
mod oversized;
mod partitions;
mod producer;
mod sink;
mod worker;
