//! Code shared by several fuzz targets.

use std::sync::Once;

/// Whether a panic location lies in a crate from the cargo registry.
fn in_dependency(file: &str) -> bool {
    file.contains("/.cargo/registry/") || file.contains("/index.crates.io-")
}

/// Lets panics raised inside cargo-registry dependencies pass silently.
///
/// Some third-party parsers (zip, cab, lzxd) panic on malformed
/// input, so servicing-doctor runs them under `catch_unwind` on purpose.
/// libFuzzer's panic hook would abort on those caught panics. A panic that
/// escapes the target still fails (libfuzzer-sys aborts when a panic leaves
/// the target), and one in servicing-doctor's own code aborts at once,
/// caught or not.
pub fn let_dependency_panics_pass() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.location().is_some_and(|l| in_dependency(l.file())) {
                return;
            }
            fuzzer_hook(info);
        }));
    });
}
