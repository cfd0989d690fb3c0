//! The regex size budgets: one regex, one rule file, all the rules loaded.
//! Rule files are input too: compiling must not stall a command.

use regex::{Regex, RegexBuilder};

/// Compiled size limit for one rule regex.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Compiled size of all the regexes of one rule file. Compiling costs time
/// in proportion to the size (about 25 ms a MiB for `\w{1500}`), and every
/// command loads the rules: a folder of big regexes must not stall it.
pub const FILE_REGEX_BUDGET: usize = 2 << 20;
/// Compiled size of the regexes of all the rules loaded (built in and
/// `--rules`); the built-in ones use under 100 KiB.
pub const TOTAL_REGEX_BUDGET: usize = 8 << 20;

/// What is left of the regex budgets while rules compile.
pub struct Budget {
    pub file: usize,
    pub total: usize,
}

impl Budget {
    pub fn new() -> Budget {
        Budget { file: FILE_REGEX_BUDGET, total: TOTAL_REGEX_BUDGET }
    }

    fn charge(&mut self, bytes: usize) {
        self.file = self.file.saturating_sub(bytes);
        self.total = self.total.saturating_sub(bytes);
    }

    /// Compile a rule regex within what is left; the error says which limit
    /// it broke. The size is measured on its Thompson NFA (the `regex`
    /// crate does not report it), with the limit left, so a regex too big
    /// costs no more than the budget it was refused.
    pub fn compile(&mut self, pattern: &str) -> Result<Regex, String> {
        let limit = REGEX_SIZE_LIMIT.min(self.file).min(self.total);
        let why = |limit: usize, b: &Budget| {
            let kib = |n: usize| n >> 10;
            if limit == REGEX_SIZE_LIMIT {
                format!("compiles to more than {} KiB (the size limit for one regex)", kib(REGEX_SIZE_LIMIT))
            } else if limit == b.file {
                format!(
                    "does not fit: this file's regexes would compile to more than {} KiB (the size limit for one rule file)",
                    kib(FILE_REGEX_BUDGET)
                )
            } else {
                format!(
                    "does not fit: the loaded rules' regexes would compile to more than {} KiB (the size limit for all rules)",
                    kib(TOTAL_REGEX_BUDGET)
                )
            }
        };
        if limit == 0 {
            return Err(why(limit, self));
        }
        use regex_automata::nfa::thompson;
        let measured = thompson::Compiler::new()
            .configure(thompson::Config::new().nfa_size_limit(Some(limit)).shrink(false))
            .build(pattern);
        match measured {
            Ok(nfa) => self.charge(nfa.memory_usage()),
            Err(e) if e.size_limit().is_some() => {
                let msg = why(limit, self);
                self.charge(limit);
                return Err(msg);
            }
            // Other mistakes: the regex crate says them best (below).
            Err(_) => {}
        }
        RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| format!("does not compile: {e}"))
    }
}
