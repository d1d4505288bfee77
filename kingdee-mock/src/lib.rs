//! kingdee-mock: a Kingdee K3Cloud WebAPI server that Kingdee's official Python SDK
//! (`kingdee-cdp-webapi-sdk` 8.2.0) cannot tell from the real one, serving deterministic,
//! generated BD_MATERIAL, BD_Customer and BD_Supplier data sets (one engine, a catalogue per
//! form: [`data::form`]). It shares no code with k3sync's client, so a mistake in one
//! cannot hide in the other. The wire protocol is `kingdee-webapi.md`.
//!
//! Served: `POST <any prefix>/<Service>.common.kdsvc` for DynamicFormService
//! `ExecuteBillQuery`, `BillQuery`, `QueryBusinessInfo`, AuthService `ValidateUser`,
//! `LoginByAppSecret`, and AccountService `GetDataCenterList`; operator endpoints under
//! `/_mock/` (see [`ops`]). The data set lives: [`lifecycle`] operations (save, submit, audit,
//! un-audit, forbid, enable, delete, allocate, create) under K3Cloud's status rules, driven one
//! by one or by a seeded [`churn`], with late commits, clamped pages and NULL dates on demand
//! (materials only), and a slow server on demand ([`throttle`]).
//!
//! Decisions where the real server is unknown or was not copied:
//! - `Limit` above [`MockConfig::max_limit`] (10000) is refused with MsgCode 4
//!   `Limit不能超过10000`; pages are cut silently only with `clamp_limit`. `Limit` 0 means all
//!   rows.
//! - An empty base-data reference (no material group, no approver yet, …) reads as id `0` and
//!   `""` for `.FNumber` and `.FName`, never NULL. FApproveDate is NULL until approved,
//!   FForbidDate until forbidden; F_ProductLine is sometimes NULL, sometimes `""`.
//! - Without an OrderString rows come in FMaterialId order, and every order ends with an
//!   implicit FMaterialId ASC; the real server promises neither.
//! - String comparison is exact and case-sensitive; dates are exact to the millisecond and
//!   answered as `yyyy-MM-ddTHH:mm:ss.fff`.
//! - Sessions never expire; unknown services answer MsgCode 4 with HTTP 200.

pub mod auth;
pub mod body;
pub mod churn;
pub mod config;
pub mod data;
pub mod dates;
pub mod faults;
pub mod filter;
pub mod lifecycle;
pub mod ops;
pub mod query;
pub mod reply;
pub mod rng;
pub mod server;
pub mod services;
pub mod stats;
pub mod throttle;

pub use auth::sign;
pub use config::{Faults, Latency, MockConfig};
pub use server::{MockServer, serve};
