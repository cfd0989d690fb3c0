//! Update packages (`.msu`, `.cab`), as `servicing-doctor inspect` shows
//! them and `plan --ssu` uses them: the members the archive walker lists,
//! the package identity from `*.mum` manifests and `*-pkgProperties.txt`,
//! and the WinSxS component folders the package's cabinets carry.

use crate::sources::archive::{decode_text, walk_listed, Ev, Limits, MemberInfo};
use std::collections::BTreeMap;
use std::io::{Read, Seek};

/// An update package's identity, from a `.mum` manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageIdentity {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub public_key_token: String,
    /// `KB1234567`, from `<package identifier=…>`, the name, or the
    /// properties' "KB Article Number".
    pub kb: Option<String>,
    pub is_servicing_stack: bool,
    /// The member it was read from (path below the inspected archive).
    pub source: String,
}

/// What `servicing-doctor inspect` shows about an archive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Inspection {
    pub path: String,
    /// "zip", "cab", "wim" or "unknown".
    pub kind: String,
    pub members: Vec<MemberInfo>,
    pub packages: Vec<PackageIdentity>,
    /// From `*-pkgProperties.txt` (`Key="Value"` lines): "Applies to",
    /// "Build Date", "Installation Type", "KB Article Number", "Package
    /// Type", "Support Link", …; the first file seen wins for a key.
    pub properties: BTreeMap<String, String>,
    /// `path: message` for each member or archive that could not be read.
    pub errors: Vec<String>,
    /// The servicing stack component folders the package's cabinets hold
    /// (what a restore copies into WinSxS), in the order first seen.
    pub stack_folders: Vec<PackageFolder>,
    /// Other component folders (`<arch>_<name>_<token>_<version>_...`),
    /// counted: in a combined SSU+LCU package, the cumulative update's.
    pub other_component_folders: u64,
}

impl Inspection {
    /// The servicing stack versions of the package's stack folders, in the
    /// order found, each with its architectures: what a restore would copy.
    pub fn stack_versions(&self) -> Vec<(&str, Vec<&str>)> {
        let mut versions: Vec<(&str, Vec<&str>)> = Vec::new();
        for f in &self.stack_folders {
            match versions.iter_mut().find(|(v, _)| *v == f.version) {
                Some((_, arches)) if arches.contains(&f.arch.as_str()) => {}
                Some((_, arches)) => arches.push(&f.arch),
                None => versions.push((&f.version, vec![&f.arch])),
            }
        }
        versions
    }
}

/// A WinSxS component folder inside an update package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageFolder {
    /// The name of the cabinet holding it (the innermost one, at most 255
    /// characters); empty for the inspected archive itself.
    pub archive: String,
    /// The folder name as stored.
    pub name: String,
    /// Lowercase, as [`crate::checks::winsxs::ComponentName`].
    pub arch: String,
    /// `servicingstack`, `servicingstack-onecore`, ...
    pub family: String,
    pub version: String,
}

/// Distinct component folders [`inspect`] tells apart; a package has a few
/// thousand at most, so past this each member of a folder counts as one.
const MAX_FOLDERS_TRACKED: usize = 200_000;

/// Largest `.mum` or `pkgProperties.txt` that [`inspect`] parses.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// List an archive's members (nested ones too) and, for an update package,
/// its identity from `*.mum` manifests and `*-pkgProperties.txt`.
pub fn inspect<R: Read + Seek>(display: &str, archive: R, limits: &Limits) -> Inspection {
    let mut ins = Inspection {
        path: display.to_string(),
        kind: "unknown".to_string(),
        members: Vec::new(),
        packages: Vec::new(),
        properties: BTreeMap::new(),
        errors: Vec::new(),
        stack_folders: Vec::new(),
        other_component_folders: 0,
    };
    let mut folders_seen: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let prefix = format!("{display}!");
    let rel = |p: &str| p.strip_prefix(prefix.as_str()).unwrap_or(p).to_string();
    let mut sink = |ev: Ev<'_>| match ev {
        Ev::Archive { path, kind, meta } => match meta {
            None => ins.kind = kind.name().to_string(),
            Some(meta) => ins.members.push(meta.info(rel(path))),
        },
        Ev::Error { path, message, meta } => {
            if let Some(meta) = meta {
                ins.members.push(meta.info(rel(path)));
            }
            ins.errors.push(format!("{path}: {message}"));
        }
        Ev::File { path, meta, reader } => {
            let rel_path = rel(path);
            ins.members.push(meta.info(rel_path.clone()));
            note_folder(&rel_path, &mut folders_seen, &mut ins);
            let leaf = rel_path.rsplit(['/', '!']).next().unwrap_or("").to_ascii_lowercase();
            let is_mum = leaf.ends_with(".mum");
            let is_props = leaf.ends_with("pkgproperties.txt");
            if !is_mum && !is_props {
                return;
            }
            let mut bytes = Vec::new();
            // A failed read is reported by the walker itself.
            if reader.take(MAX_MANIFEST_BYTES).read_to_end(&mut bytes).is_err() {
                return;
            }
            if is_mum {
                match parse_mum(&bytes, &rel_path) {
                    Ok(Some(pkg)) => ins.packages.push(pkg),
                    Ok(None) => {}
                    Err(e) => ins.errors.push(format!("{path}: {e}")),
                }
            } else {
                for (k, v) in parse_properties(&bytes) {
                    ins.properties.entry(k).or_insert(v);
                }
            }
        }
    };
    walk_listed(display, archive, limits, &mut sink);

    let props_ssu = ["Package Type", "Installation Type", "Product Name"]
        .iter()
        .filter_map(|k| ins.properties.get(*k))
        .any(|v| mentions_servicing_stack(v));
    let props_kb = ins
        .properties
        .get("KB Article Number")
        .map(|v| v.trim().trim_start_matches(['K', 'B', 'k', 'b']).to_string())
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .map(|v| format!("KB{v}"));
    for pkg in &mut ins.packages {
        pkg.is_servicing_stack |= props_ssu;
        if pkg.kb.is_none() {
            pkg.kb.clone_from(&props_kb);
        }
    }
    ins
}

/// Remember the component folder a member lies in (`cab!folder/file`).
/// Bounded: each name is short (a component name is at most 1 KiB and the
/// cabinet's own name is cut), at most [`MAX_STACK_FOLDERS`] stack folders
/// are listed, and the set of folders seen holds hashes, not paths.
fn note_folder(rel_path: &str, seen: &mut std::collections::HashSet<u64>, ins: &mut Inspection) {
    use std::hash::{Hash, Hasher};
    let (archive, inner) = rel_path.rsplit_once('!').unwrap_or(("", rel_path));
    let Some((folder, _)) = inner.split_once(['/', '\\']) else { return };
    let Some(component) = crate::checks::winsxs::parse_component_name(folder) else { return };
    // The innermost cabinet's own name: what tells an SSU-*.cab apart.
    let leaf = archive.rsplit('!').next().unwrap_or(archive);
    let leaf: String = leaf.chars().take(255).collect();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&leaf, folder).hash(&mut h);
    if seen.len() >= MAX_FOLDERS_TRACKED {
        ins.other_component_folders += 1;
        return;
    }
    if !seen.insert(h.finish()) {
        return;
    }
    match crate::checks::winsxs::stack_family(&component.name) {
        Some(family) if ins.stack_folders.len() < MAX_STACK_FOLDERS => ins.stack_folders.push(PackageFolder {
            archive: leaf,
            name: folder.to_string(),
            arch: component.arch,
            family,
            version: component.version,
        }),
        _ => ins.other_component_folders += 1,
    }
}

/// Servicing stack folders [`inspect`] lists (a real SSU has about ten).
const MAX_STACK_FOLDERS: usize = 1_000;

fn mentions_servicing_stack(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.contains("servicing stack") || l.contains("servicingstack")
}

/// `KB1234567` from a name such as `Package_for_KB2999226`.
fn kb_in(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i].eq_ignore_ascii_case(&b'K') && b[i + 1].eq_ignore_ascii_case(&b'B') {
            let digits = b[i + 2..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits >= 4 {
                return Some(format!("KB{}", &s[i + 2..i + 2 + digits]));
            }
        }
        i += 1;
    }
    None
}

/// The package identity in a `.mum` manifest; `Ok(None)` when it is XML but
/// not a package manifest.
fn parse_mum(bytes: &[u8], source: &str) -> Result<Option<PackageIdentity>, String> {
    let text = decode_text(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("cannot parse manifest: {e}"))?;
    let root = doc.root_element();
    if !root.tag_name().name().eq_ignore_ascii_case("assembly") {
        return Ok(None);
    }
    let child = |name: &str| root.children().find(|n| n.is_element() && n.tag_name().name() == name);
    let Some(identity) = child("assemblyIdentity") else {
        return Ok(None);
    };
    let attr = |n: roxmltree::Node<'_, '_>, a: &str| n.attribute(a).unwrap_or("").to_string();
    let package = child("package");
    let name = attr(identity, "name");
    let release_type = package.and_then(|p| p.attribute("releaseType")).unwrap_or("");
    let kb = package.and_then(|p| p.attribute("identifier")).and_then(kb_in).or_else(|| kb_in(&name));
    let is_servicing_stack = mentions_servicing_stack(release_type)
        || mentions_servicing_stack(&name)
        || ["description", "displayName"].iter().filter_map(|a| root.attribute(*a)).any(mentions_servicing_stack);
    Ok(Some(PackageIdentity {
        version: attr(identity, "version"),
        arch: attr(identity, "processorArchitecture"),
        public_key_token: attr(identity, "publicKeyToken"),
        name,
        kb,
        is_servicing_stack,
        source: source.to_string(),
    }))
}

/// `Key="Value"` lines of a `*-pkgProperties.txt`.
fn parse_properties(bytes: &[u8]) -> Vec<(String, String)> {
    decode_text(bytes)
        .lines()
        .filter_map(|line| {
            let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
            let (k, v) = line.split_once('=')?;
            let k = k.trim();
            if k.is_empty() {
                return None;
            }
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_and_text() {
        let utf16: Vec<u8> = "\u{feff}Package Type=\"Update\"\r\nKB Article Number=\"2999226\"\r\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let props = parse_properties(&utf16);
        assert_eq!(
            props,
            vec![
                ("Package Type".to_string(), "Update".to_string()),
                ("KB Article Number".to_string(), "2999226".to_string())
            ]
        );
        let no_bom: Vec<u8> = "A=\"b\"".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(decode_text(&no_bom), "A=\"b\"");
        assert_eq!(kb_in("Package_for_KB2999226_RTM"), Some("KB2999226".into()));
        assert_eq!(kb_in("Package_for_RollupFix"), None);
    }

    #[test]
    fn mum_identity() {
        let mum = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\
            <assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\" manifestVersion=\"1.0\">\
            <assemblyIdentity name=\"Package_for_ServicingStack_1049\" version=\"19041.1049.1.1\" \
             processorArchitecture=\"amd64\" publicKeyToken=\"31bf3856ad364e35\"/>\
            <package identifier=\"KB5003791\" releaseType=\"Update\"/></assembly>";
        let pkg = parse_mum(mum.as_bytes(), "x.cab!update.mum").unwrap().unwrap();
        assert_eq!(pkg.name, "Package_for_ServicingStack_1049");
        assert_eq!(pkg.kb.as_deref(), Some("KB5003791"));
        assert!(pkg.is_servicing_stack);
        assert!(parse_mum(b"<notassembly/>", "x").unwrap().is_none());
        assert!(parse_mum(b"<assembly", "x").is_err());
    }
}
