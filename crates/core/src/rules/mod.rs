//! Detection rules: loaded from YAML (embedded, plus `--rules DIR`),
//! validated, compiled into one multi-pattern prefilter, run over the
//! logs ([`scan`]) and correlated into findings ([`correlate`]).

mod budget;
pub mod check_hits;
mod compile;
pub mod correlate;
pub mod model;
pub mod placeholder;
mod remediation;
pub mod scan;
pub mod selftest;
mod signal;

pub use compile::{Candidates, Rule, RuleError, RuleSet};
pub use model::{Emit, Severity};
pub use remediation::{Remediation, Step};
pub use signal::Signal;

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));
