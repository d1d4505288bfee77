//! `ctl` against the real broker and database: status counts what is really there, dead-letter
//! browsing and replay never lose or reorder a letter, purge asks first, check finds what would
//! stop a run. Dead letters come from a real worker fed with poison, from the broker's own
//! delivery limit, or (where only the queue mechanics matter) are published as the worker would.

mod browse;
mod check;
mod replay;
mod status;
mod support;
