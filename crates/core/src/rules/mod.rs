//! Detection rules: loaded from YAML (embedded, plus `--rules DIR`),
//! validated, compiled into one multi-pattern prefilter, run over the
//! logs ([`scan`]) and correlated into findings ([`correlate`]).

mod compile;
pub mod correlate;
pub mod model;
pub mod scan;
pub mod selftest;

pub use compile::{Candidates, Remediation, Rule, RuleError, RuleSet, Signal, Step};
pub use model::{Emit, Severity};

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));
