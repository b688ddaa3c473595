//! Deterministic REFI-QDA GUIDs.
//!
//! Every GUID is the SHA-256 of a fixed prefix, the export's salt, an optional session id, a
//! kind (`"selection"`, `"case"`, ...) and the object's natural key, cut to 128 bits and
//! formatted 8-4-4-4-12 with the RFC 9562 version 8 ("custom") and variant bits set. The same
//! data and options therefore give byte-identical projects, and a re-export can be merged into
//! an existing QDA project without duplicating codes or sources. Codes and users are derived
//! without the session id so that one codebook keeps its GUIDs across sessions.

use sha2::{Digest, Sha256};

/// A GUID in its 36-character text form.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid([u8; 36]);

impl Guid {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("GUIDs are ASCII hex and dashes")
    }
}

impl std::fmt::Debug for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Derives GUIDs within one scope (a salt, optionally a session).
#[derive(Clone)]
pub struct GuidGen {
    base: Sha256,
}

impl GuidGen {
    pub fn new(salt: &str, session: Option<i64>) -> Self {
        let mut base = Sha256::new();
        base.update(b"peerlearn-refi-qda-guid/1\0");
        base.update((salt.len() as u64).to_le_bytes());
        base.update(salt.as_bytes());
        match session {
            Some(id) => {
                base.update([1]);
                base.update(id.to_le_bytes());
            }
            None => base.update([0]),
        }
        GuidGen { base }
    }

    /// The GUID of the object of `kind` with key `parts`.
    pub fn derive(&self, kind: &str, parts: &[&[u8]]) -> Guid {
        let mut h = self.base.clone();
        h.update((kind.len() as u64).to_le_bytes());
        h.update(kind.as_bytes());
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        let digest = h.finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&digest[..16]);
        b[6] = (b[6] & 0x0f) | 0x80;
        b[8] = (b[8] & 0x3f) | 0x80;
        format_guid(&b)
    }
}

fn format_guid(b: &[u8; 16]) -> Guid {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 36];
    let mut o = 0;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            o += 1;
        }
        out[o] = HEX[(byte >> 4) as usize];
        out[o + 1] = HEX[(byte & 0xf) as usize];
        o += 2;
    }
    Guid(out)
}

/// Whether `s` matches the schema's GUID pattern: 8-4-4-4-12 hex digits, optionally in braces.
pub fn is_guid(s: &str) -> bool {
    let inner = match s.strip_prefix('{') {
        Some(rest) => match rest.strip_suffix('}') {
            Some(inner) => inner,
            None => return false,
        },
        None => s,
    };
    let b = inner.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// `id` as a GUID when it already is one (braces removed), else a GUID derived from it.
pub fn guid_for_id(gen: &GuidGen, kind: &str, id: &str) -> String {
    if is_guid(id) {
        id.trim_start_matches('{').trim_end_matches('}').to_owned()
    } else {
        gen.derive(kind, &[id.as_bytes()]).as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_determinism() {
        let g = GuidGen::new("", Some(7));
        let a = g.derive("selection", &[&1i64.to_le_bytes(), &2i64.to_le_bytes()]);
        assert!(is_guid(a.as_str()), "{a}");
        assert_eq!(a.as_str().as_bytes()[14], b'8', "version nibble");
        assert!(
            matches!(a.as_str().as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
            "variant"
        );
        assert_eq!(
            a,
            GuidGen::new("", Some(7))
                .derive("selection", &[&1i64.to_le_bytes(), &2i64.to_le_bytes()])
        );
        assert_ne!(
            a,
            GuidGen::new("", Some(8))
                .derive("selection", &[&1i64.to_le_bytes(), &2i64.to_le_bytes()])
        );
        assert_ne!(
            a,
            GuidGen::new("x", Some(7))
                .derive("selection", &[&1i64.to_le_bytes(), &2i64.to_le_bytes()])
        );
        assert_ne!(
            a,
            g.derive("case", &[&1i64.to_le_bytes(), &2i64.to_le_bytes()])
        );
        // Length-prefixed parts: ("ab","c") differs from ("a","bc").
        assert_ne!(g.derive("k", &[b"ab", b"c"]), g.derive("k", &[b"a", b"bc"]));
    }

    #[test]
    fn pattern() {
        assert!(is_guid("0123abcd-0000-4000-8000-ABCDEF012345"));
        assert!(is_guid("{0123abcd-0000-4000-8000-abcdef012345}"));
        assert!(!is_guid("0123abcd-0000-4000-8000-abcdef01234"));
        assert!(!is_guid("0123abcd00000-4000-8000-abcdef012345"));
        assert!(!is_guid("{0123abcd-0000-4000-8000-abcdef012345"));
        assert!(!is_guid("g123abcd-0000-4000-8000-abcdef012345"));
        let g = GuidGen::new("", None);
        assert_eq!(
            guid_for_id(&g, "code", "{0123abcd-0000-4000-8000-abcdef012345}"),
            "0123abcd-0000-4000-8000-abcdef012345"
        );
        assert!(is_guid(&guid_for_id(&g, "code", "42")));
    }
}
