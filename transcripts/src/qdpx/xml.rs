//! A minimal XML escaping writer. The QDPX writer emits tens of megabytes of very regular
//! XML; writing it directly with a byte-level escaper is simpler and several times faster than
//! an event-based XML library, and the schema tests catch structural mistakes.

use std::io::{self, Write};

/// Writes `s` as element content: `&`, `<`, `>` escaped, characters XML 1.0 cannot carry
/// (C0 controls except tab and newline, U+FFFE, U+FFFF) as U+FFFD, CR as `&#13;` so that
/// parsers do not fold it into a newline.
pub fn text<W: Write + ?Sized>(w: &mut W, s: &str) -> io::Result<()> {
    escape(w, s, false)
}

/// Writes `s` as a double-quoted attribute value: additionally `"`, and tab/newline/CR as
/// character references (attribute-value normalisation would turn them into spaces).
pub fn attr<W: Write + ?Sized>(w: &mut W, s: &str) -> io::Result<()> {
    escape(w, s, true)
}

fn escape<W: Write + ?Sized>(w: &mut W, s: &str, in_attr: bool) -> io::Result<()> {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let replacement: Option<&[u8]> = match b {
            b'&' => Some(b"&amp;"),
            b'<' => Some(b"&lt;"),
            b'>' => Some(b"&gt;"),
            b'"' if in_attr => Some(b"&quot;"),
            b'\n' if in_attr => Some(b"&#10;"),
            b'\t' if in_attr => Some(b"&#9;"),
            b'\n' | b'\t' => None,
            b'\r' => Some(b"&#13;"),
            0..=0x1f => Some("\u{FFFD}".as_bytes()),
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                w.write_all(&bytes[start..i])?;
                w.write_all("\u{FFFD}".as_bytes())?;
                i += 3;
                start = i;
                continue;
            }
            _ => None,
        };
        if let Some(r) = replacement {
            w.write_all(&bytes[start..i])?;
            w.write_all(r)?;
            start = i + 1;
        }
        i += 1;
    }
    w.write_all(&bytes[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        let mut v = Vec::new();
        text(&mut v, s).unwrap();
        String::from_utf8(v).unwrap()
    }

    fn a(s: &str) -> String {
        let mut v = Vec::new();
        attr(&mut v, s).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes() {
        assert_eq!(t("a<b>&\"c\"\n\td"), "a&lt;b&gt;&amp;\"c\"\n\td");
        assert_eq!(
            a("a<b>&\"c\"\n\td"),
            "a&lt;b&gt;&amp;&quot;c&quot;&#10;&#9;d"
        );
        assert_eq!(
            t("x\u{1}y\rz\u{FFFF}w\u{FFFE}v\u{FFFD}"),
            "x\u{FFFD}y&#13;z\u{FFFD}w\u{FFFD}v\u{FFFD}"
        );
        assert_eq!(t("Zoë 🦄 日本"), "Zoë 🦄 日本");
        assert_eq!(t(""), "");
    }
}
