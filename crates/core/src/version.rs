//! Dotted version numbers (`10.0.19041.4717`) as Windows writes them in
//! WinSxS folder names, the CBS `Version` key and package identities: one
//! comparison for all of them.

use std::cmp::Ordering;

/// Compare two dotted versions numerically (`"10.0.19041.4160"` vs
/// `"10.0.19041.1220"`); non-numeric parts compare as 0, missing parts as 0,
/// and numbers of any length compare without overflow.
pub fn compare(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let x = numeric_digits(x.unwrap_or(""));
                let y = numeric_digits(y.unwrap_or(""));
                let order = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// The newest version of a `, `-separated list (as `system{}` holds them).
pub fn newest(list: &str) -> Option<&str> {
    list.split(", ").filter(|v| !v.trim().is_empty()).max_by(|a, b| compare(a, b))
}

/// The significant digits of a version part; `""` stands for 0 (including
/// every non-numeric part).
fn numeric_digits(part: &str) -> &str {
    if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
        part.trim_start_matches('0')
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_versions_numerically() {
        use Ordering::*;
        assert_eq!(compare("10.0.19041.4160", "10.0.19041.1220"), Greater);
        assert_eq!(compare("10.0.26100.863", "10.0.26100.5074"), Less);
        assert_eq!(compare("10.0.26100.5074", "10.0.26100.5074"), Equal);
        assert_eq!(compare("6.1.7601.17514", "10.0.10240.16384"), Less);
        assert_eq!(compare("10.0.026100.1", "10.0.26100.1"), Equal);
        assert_eq!(compare("10.0", "10.0.0.0"), Equal);
        assert_eq!(compare("10.0.0.1", "10.0"), Greater);
        assert_eq!(compare("10.x.1.1", "10.0.1.1"), Equal);
        assert_eq!(compare("", "0"), Equal);
        assert_eq!(compare("a.b", ""), Equal);
        assert_eq!(compare("99999999999999999999999999.0", "99999999999999999999999998.0"), Greater);
        assert_eq!(compare("1.-5", "1.0"), Equal);
    }

    #[test]
    fn newest_of_a_list() {
        assert_eq!(newest("10.0.19041.964, 10.0.19041.4717, 10.0.19041.1220"), Some("10.0.19041.4717"));
        assert_eq!(newest(""), None);
    }
}
