//! Embeds every `rules/*.yaml`, `remediations/*.yaml` and `signals/*.yaml` of the repository
//! into the library, so a new rule, remediation or shared signal is picked up without
//! touching code.

use std::{env, fs, path::Path};

fn main() {
    let mut out = embed("rules", "EMBEDDED");
    out.push_str(&embed("remediations", "EMBEDDED_REMEDIATIONS"));
    out.push_str(&embed("signals", "EMBEDDED_SIGNALS"));
    fs::write(Path::new(&env::var("OUT_DIR").unwrap()).join("embedded_rules.rs"), out).unwrap();
}

/// `pub(crate) const NAME: &[(path, text)]` of every YAML file in the repository's `folder`.
fn embed(folder: &str, name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(folder);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> =
        fs::read_dir(&dir).map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    let mut out = format!("pub(crate) const {name}: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let abs = fs::canonicalize(f).unwrap();
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("{folder}/{}", f.file_name().unwrap().to_string_lossy()),
            abs
        ));
    }
    out.push_str("];\n");
    out
}
