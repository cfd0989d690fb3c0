//! servicing-doctor's library: reads Windows servicing logs, finds why an
//! update or upgrade failed, and returns one report model. It never prints;
//! the `servicing-doctor` binary is a thin layer over it.
//!
//! Pipeline (one direction): [`sources`] → [`decode`] → [`records`] →
//! [`rules`] (prefilter, signals, correlation) → [`report`].
//! [`diagnose`] runs the whole pipeline.

pub mod checks;
pub mod decode;
pub mod diagnose;
pub mod hresult;
pub mod kind;
pub mod package;
pub mod plan;
pub mod records;
pub mod report;
pub mod rules;
pub mod sources;
pub mod stream;
pub mod support;
pub mod version;
pub mod view;

pub use diagnose::{diagnose, diagnose_each, diagnose_live, DiagnoseOptions};
pub use kind::LogKind;
pub use report::Report;

/// The message of a caught panic (third-party parsers run under
/// `catch_unwind`; their panic becomes an error on one source).
pub(crate) fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// The version printed in reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
