//! A small reader of a GGUF file's header: the magic, the version (2 or 3) and the metadata
//! key-value pairs, which is all `model list` and `model pull` need (architecture, chat
//! template, context length). Tensor data is never read.
//!
//! The file may be anything a user downloaded, so every length in it is checked against the
//! bytes the file really has before anything is read or allocated: a hostile header claiming a
//! string of 2^63 bytes is "truncated", not an attempt to allocate it. Arrays (the vocabulary,
//! merges, token scores: megabytes) are skipped, never kept, and what is kept (keys and string
//! values) has a total budget.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The four bytes every GGUF file starts with.
pub const MAGIC: &[u8; 4] = b"GGUF";

/// The longest key the format allows (its keys are at most 65535 bytes).
const MAX_KEY_LEN: u64 = 65_535;
/// String values longer than this are skipped (kept as their length only): a chat template is
/// a few KiB, nothing `model list` shows is longer.
const MAX_KEPT_STRING: u64 = 1 << 20;
/// The most memory the kept keys and values may take together. A real header keeps well under
/// 100 KiB (its arrays are skipped); past this the file is refused as damaged.
const MAX_KEPT_TOTAL: usize = 16 << 20;
/// What one kept entry costs besides its bytes, counted against [`MAX_KEPT_TOTAL`] so a file of
/// millions of tiny entries cannot grow the list without bound either.
const ENTRY_OVERHEAD: usize = 64;
/// Arrays of arrays are allowed by the format but unused in practice; deeper is damage.
const MAX_ARRAY_DEPTH: u32 = 4;

/// Why a header cannot be read. The caller names the file.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("cannot be read: {0}")]
    Io(#[from] std::io::Error),
    #[error("is not a GGUF file (it does not start with the GGUF magic bytes)")]
    NotGguf,
    #[error("is GGUF version {0}; only versions 2 and 3 can be read")]
    UnsupportedVersion(u32),
    #[error("is truncated: {what} at byte {at} needs {needs} bytes, the file has {len}")]
    Truncated {
        what: String,
        at: u64,
        needs: u64,
        len: u64,
    },
    #[error("is damaged: {0}")]
    Malformed(String),
}

/// One metadata value. Arrays and over-long strings are skipped and kept as what they were.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Uint(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    String(String),
    /// A string longer than the reader keeps (its length in bytes).
    LongString(u64),
    /// An array, skipped: its element type code and length.
    Array {
        item_type: u32,
        len: u64,
    },
}

/// A GGUF file's header: its version, tensor count and metadata in file order.
#[derive(Debug, Clone)]
pub struct Header {
    pub version: u32,
    pub tensor_count: u64,
    pub metadata: Vec<(String, Value)>,
}

impl Header {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    pub fn string(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// An integer value of any width and sign (negative ones are none).
    pub fn uint(&self, key: &str) -> Option<u64> {
        match self.get(key) {
            Some(Value::Uint(n)) => Some(*n),
            Some(Value::Int(n)) => u64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// `general.architecture`: `llama`, `qwen2`, `gemma2`, ...
    pub fn architecture(&self) -> Option<&str> {
        self.string("general.architecture")
    }

    /// The context length the model was trained for (`<architecture>.context_length`).
    pub fn context_length(&self) -> Option<u64> {
        self.uint(&format!("{}.context_length", self.architecture()?))
    }

    /// The family of the chat template in `tokenizer.chat_template`.
    pub fn template_family(&self) -> TemplateFamily {
        match self.get("tokenizer.chat_template") {
            None => TemplateFamily::None,
            Some(Value::String(t)) => TemplateFamily::of(t),
            Some(_) => TemplateFamily::Other,
        }
    }
}

/// The chat format a model's template writes, told by the control tokens it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateFamily {
    Llama3,
    Chatml,
    Gemma,
    Mistral,
    /// A template none of the above.
    Other,
    /// The file has no template (the engine then falls back to ChatML).
    None,
}

impl TemplateFamily {
    pub fn of(template: &str) -> TemplateFamily {
        // A template that writes the markers of two families (rare) counts as the first one
        // here, in the order the engine has always named them.
        if template.contains("<|im_start|>") {
            TemplateFamily::Chatml
        } else if template.contains("<|start_header_id|>") {
            TemplateFamily::Llama3
        } else if template.contains("[INST]") {
            TemplateFamily::Mistral
        } else if template.contains("<start_of_turn>") {
            TemplateFamily::Gemma
        } else {
            TemplateFamily::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateFamily::Llama3 => "llama3",
            TemplateFamily::Chatml => "chatml",
            TemplateFamily::Gemma => "gemma",
            TemplateFamily::Mistral => "mistral",
            TemplateFamily::Other => "other",
            TemplateFamily::None => "none",
        }
    }
}

/// Reads the header of the file at `path`.
pub fn read_path(path: &Path) -> Result<Header, GgufError> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(GgufError::NotGguf);
    }
    read(std::io::BufReader::new(file), meta.len())
}

/// Reads the header from `source`, which holds `len` bytes.
pub fn read<R: Read + Seek>(source: R, len: u64) -> Result<Header, GgufError> {
    let mut r = Bounded {
        inner: source,
        pos: 0,
        len,
        kept: 0,
    };
    let mut magic = [0u8; 4];
    if len < 4 {
        return Err(GgufError::NotGguf);
    }
    r.inner.read_exact(&mut magic)?;
    r.pos = 4;
    if &magic != MAGIC {
        return Err(GgufError::NotGguf);
    }
    let version = r.u32("the version")?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::UnsupportedVersion(version));
    }
    let tensor_count = r.u64("the tensor count")?;
    let kv_count = r.u64("the metadata count")?;
    // Each entry takes at least a key length, a one-byte key, a type and a one-byte value.
    r.need(kv_count.saturating_mul(14), "the metadata entries")?;
    let mut metadata = Vec::new();
    for i in 0..kv_count {
        let key_len = r.u64("a key's length")?;
        if key_len == 0 || key_len > MAX_KEY_LEN {
            return Err(GgufError::Malformed(format!(
                "metadata entry {i} has a key of {key_len} bytes (1 to {MAX_KEY_LEN} allowed)"
            )));
        }
        let key = r.string(key_len, "a key")?;
        let value_type = r.u32("a value's type")?;
        let value = r.value(value_type, &key, 0)?;
        r.keep(ENTRY_OVERHEAD)?;
        metadata.push((key, value));
    }
    Ok(Header {
        version,
        tensor_count,
        metadata,
    })
}

/// The byte size of a fixed-size value type, or none for strings and arrays.
fn fixed_size(value_type: u32) -> Option<u64> {
    match value_type {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// A reader that knows its position and the file's length, so every read is checked before it
/// happens, and counts what it keeps.
struct Bounded<R> {
    inner: R,
    pos: u64,
    len: u64,
    kept: usize,
}

impl<R: Read + Seek> Bounded<R> {
    /// Fails unless `n` more bytes are there.
    fn need(&self, n: u64, what: &str) -> Result<(), GgufError> {
        if self.pos.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(GgufError::Truncated {
                what: what.into(),
                at: self.pos,
                needs: n,
                len: self.len,
            });
        }
        Ok(())
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        self.need(N as u64, what)?;
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b)?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.bytes(what)?))
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<(), GgufError> {
        self.need(n, what)?;
        // Short skips read through the buffer (a vocabulary is 100k tiny strings); long ones
        // seek.
        if n <= 64 * 1024 {
            std::io::copy(&mut (&mut self.inner).take(n), &mut std::io::sink())?;
        } else {
            let n = i64::try_from(n).map_err(|_| GgufError::Malformed("a huge skip".into()))?;
            self.inner.seek(SeekFrom::Current(n))?;
        }
        self.pos += n;
        Ok(())
    }

    fn keep(&mut self, n: usize) -> Result<(), GgufError> {
        self.kept += n;
        if self.kept > MAX_KEPT_TOTAL {
            return Err(GgufError::Malformed(format!(
                "its metadata keeps more than {} MiB outside arrays",
                MAX_KEPT_TOTAL >> 20
            )));
        }
        Ok(())
    }

    /// Reads `len` bytes of UTF-8 (`len` is already bounded by the caller).
    fn string(&mut self, len: u64, what: &str) -> Result<String, GgufError> {
        self.need(len, what)?;
        let n = usize::try_from(len).map_err(|_| GgufError::Malformed("a huge string".into()))?;
        self.keep(n)?;
        let mut buf = vec![0u8; n];
        self.inner.read_exact(&mut buf)?;
        self.pos += len;
        String::from_utf8(buf).map_err(|_| {
            GgufError::Malformed(format!("{what} at byte {} is not UTF-8", self.pos - len))
        })
    }

    fn value(&mut self, value_type: u32, key: &str, depth: u32) -> Result<Value, GgufError> {
        let what = format!("the value of {key}");
        Ok(match value_type {
            0 => Value::Uint(self.bytes::<1>(&what)?[0].into()),
            1 => Value::Int(i8::from_le_bytes(self.bytes(&what)?).into()),
            2 => Value::Uint(u16::from_le_bytes(self.bytes(&what)?).into()),
            3 => Value::Int(i16::from_le_bytes(self.bytes(&what)?).into()),
            4 => Value::Uint(u32::from_le_bytes(self.bytes(&what)?).into()),
            5 => Value::Int(i32::from_le_bytes(self.bytes(&what)?).into()),
            6 => Value::Float(f32::from_le_bytes(self.bytes(&what)?).into()),
            7 => Value::Bool(self.bytes::<1>(&what)?[0] != 0),
            8 => {
                let len = self.u64(&what)?;
                if len > MAX_KEPT_STRING {
                    self.skip(len, &what)?;
                    Value::LongString(len)
                } else {
                    Value::String(self.string(len, &what)?)
                }
            }
            9 => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(GgufError::Malformed(format!(
                        "{what} nests arrays more than {MAX_ARRAY_DEPTH} deep"
                    )));
                }
                let item_type = self.u32(&what)?;
                let len = self.u64(&what)?;
                self.skip_items(item_type, len, key, depth + 1)?;
                Value::Array { item_type, len }
            }
            10 => Value::Uint(self.u64(&what)?),
            11 => Value::Int(i64::from_le_bytes(self.bytes(&what)?)),
            12 => Value::Float(f64::from_le_bytes(self.bytes(&what)?)),
            other => {
                return Err(GgufError::Malformed(format!(
                    "{key} has the unknown value type {other}"
                )))
            }
        })
    }

    fn skip_items(
        &mut self,
        item_type: u32,
        len: u64,
        key: &str,
        depth: u32,
    ) -> Result<(), GgufError> {
        let what = format!("the array {key}");
        match (fixed_size(item_type), item_type) {
            (Some(size), _) => {
                let bytes = len.checked_mul(size).ok_or_else(|| GgufError::Truncated {
                    what: what.clone(),
                    at: self.pos,
                    needs: u64::MAX,
                    len: self.len,
                })?;
                self.skip(bytes, &what)
            }
            (None, 8) => {
                // Each string has at least its 8-byte length: refuse a count the file cannot
                // hold before looping over it.
                self.need(len.saturating_mul(8), &what)?;
                for _ in 0..len {
                    let n = self.u64(&what)?;
                    self.skip(n, &what)?;
                }
                Ok(())
            }
            (None, 9) => {
                self.need(len.saturating_mul(12), &what)?;
                for _ in 0..len {
                    let inner_type = self.u32(&what)?;
                    let inner_len = self.u64(&what)?;
                    if depth >= MAX_ARRAY_DEPTH {
                        return Err(GgufError::Malformed(format!(
                            "{what} nests arrays more than {MAX_ARRAY_DEPTH} deep"
                        )));
                    }
                    self.skip_items(inner_type, inner_len, key, depth + 1)?;
                }
                Ok(())
            }
            (None, other) => Err(GgufError::Malformed(format!(
                "{what} has the unknown element type {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A GGUF header written by hand: version, tensor count and raw metadata bytes.
    fn header(version: u32, kvs: &[(&str, u32, Vec<u8>)]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend(version.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend((kvs.len() as u64).to_le_bytes());
        for (key, value_type, value) in kvs {
            b.extend((key.len() as u64).to_le_bytes());
            b.extend(key.as_bytes());
            b.extend(value_type.to_le_bytes());
            b.extend(value);
        }
        b
    }

    fn string(s: &str) -> Vec<u8> {
        let mut b = (s.len() as u64).to_le_bytes().to_vec();
        b.extend(s.as_bytes());
        b
    }

    fn array(item_type: u32, len: u64, items: &[u8]) -> Vec<u8> {
        let mut b = item_type.to_le_bytes().to_vec();
        b.extend(len.to_le_bytes());
        b.extend(items);
        b
    }

    fn parse(bytes: &[u8]) -> Result<Header, GgufError> {
        read(Cursor::new(bytes), bytes.len() as u64)
    }

    fn llama3_header() -> Vec<u8> {
        let mut tokens = Vec::new();
        for t in ["a", "bb", "<|eot_id|>"] {
            tokens.extend(string(t));
        }
        let mut nested = array(4, 2, &[1, 0, 0, 0, 2, 0, 0, 0]);
        nested.extend(array(8, 1, &string("x")));
        header(
            3,
            &[
                ("general.architecture", 8, string("llama")),
                ("llama.context_length", 4, 131_072u32.to_le_bytes().to_vec()),
                ("llama.rope.freq_base", 6, 500_000f32.to_le_bytes().to_vec()),
                ("general.flag", 7, vec![1]),
                ("general.small", 0, vec![7]),
                ("general.neg", 1, vec![0xff]),
                ("general.u16", 2, 9u16.to_le_bytes().to_vec()),
                ("general.i16", 3, (-9i16).to_le_bytes().to_vec()),
                ("general.i32", 5, (-5i32).to_le_bytes().to_vec()),
                ("general.u64", 10, 5u64.to_le_bytes().to_vec()),
                ("general.i64", 11, (-1i64).to_le_bytes().to_vec()),
                ("general.f64", 12, 0.5f64.to_le_bytes().to_vec()),
                ("tokenizer.ggml.tokens", 9, array(8, 3, &tokens)),
                ("tokenizer.ggml.scores", 9, array(6, 2, &[0; 8])),
                ("tokenizer.nested", 9, array(9, 2, &nested)),
                (
                    "tokenizer.chat_template",
                    8,
                    string("{{ '<|start_header_id|>' + m.role + '<|end_header_id|>' }}"),
                ),
            ],
        )
    }

    #[test]
    fn every_value_type_is_read_and_arrays_are_skipped() {
        let h = parse(&llama3_header()).unwrap();
        assert_eq!(h.version, 3);
        assert_eq!(h.architecture(), Some("llama"));
        assert_eq!(h.context_length(), Some(131_072));
        assert_eq!(h.template_family(), TemplateFamily::Llama3);
        assert_eq!(h.get("general.flag"), Some(&Value::Bool(true)));
        assert_eq!(h.get("general.neg"), Some(&Value::Int(-1)));
        assert_eq!(h.get("general.i16"), Some(&Value::Int(-9)));
        assert_eq!(h.get("general.f64"), Some(&Value::Float(0.5)));
        assert_eq!(
            h.get("tokenizer.ggml.tokens"),
            Some(&Value::Array {
                item_type: 8,
                len: 3
            })
        );
        assert_eq!(
            h.get("tokenizer.nested"),
            Some(&Value::Array {
                item_type: 9,
                len: 2
            })
        );
        assert_eq!(h.uint("general.i64"), None);
        assert_eq!(h.metadata.len(), 16);
    }

    #[test]
    fn every_truncation_of_a_header_is_an_error_not_a_panic() {
        let full = llama3_header();
        for cut in 0..full.len() {
            let err = parse(&full[..cut]).unwrap_err();
            assert!(
                matches!(err, GgufError::Truncated { .. } | GgufError::NotGguf),
                "cut at {cut}: {err}"
            );
        }
    }

    #[test]
    fn hostile_lengths_are_refused_without_allocating() {
        // A string, an array of u64 and an array of strings claiming far more than the file
        // holds: each is "truncated" at once (a loop over 2^60 items would never end).
        for (value_type, value) in [
            (8, u64::MAX.to_le_bytes().to_vec()),
            (8, (MAX_KEPT_STRING - 1).to_le_bytes().to_vec()),
            (9, array(10, 1 << 60, &[])),
            (9, array(10, u64::MAX, &[])),
            (9, array(8, 1 << 60, &[])),
            (9, array(9, 1 << 60, &[])),
        ] {
            let err = parse(&header(3, &[("k", value_type, value)])).unwrap_err();
            assert!(matches!(err, GgufError::Truncated { .. }), "{err}");
        }
        let mut huge_count = header(3, &[]);
        huge_count[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            parse(&huge_count),
            Err(GgufError::Truncated { .. })
        ));
        // A key longer than the format allows.
        let mut long_key = header(3, &[("k", 7, vec![1])]);
        long_key[24..32].copy_from_slice(&(MAX_KEY_LEN + 1).to_le_bytes());
        assert!(matches!(parse(&long_key), Err(GgufError::Malformed(_))));
    }

    #[test]
    fn long_strings_are_skipped_and_garbage_is_named() {
        let long = "x".repeat(MAX_KEPT_STRING as usize + 1);
        let h = parse(&header(3, &[("tokenizer.chat_template", 8, string(&long))])).unwrap();
        assert_eq!(
            h.get("tokenizer.chat_template"),
            Some(&Value::LongString(long.len() as u64))
        );
        assert_eq!(h.template_family(), TemplateFamily::Other);

        assert!(matches!(parse(b"not a model"), Err(GgufError::NotGguf)));
        assert!(matches!(parse(b"GG"), Err(GgufError::NotGguf)));
        assert!(matches!(
            parse(&header(1, &[])),
            Err(GgufError::UnsupportedVersion(1))
        ));
        assert!(matches!(
            parse(&header(3, &[("k", 13, vec![0; 8])])),
            Err(GgufError::Malformed(_))
        ));
        assert!(matches!(
            parse(&header(3, &[("k", 8, string("\u{1}")[..8].to_vec())])),
            Err(GgufError::Truncated { .. })
        ));
        let mut bad_utf8 = string("ab");
        bad_utf8[8] = 0xff;
        assert!(matches!(
            parse(&header(3, &[("k", 8, bad_utf8)])),
            Err(GgufError::Malformed(_))
        ));
        let h = parse(&header(2, &[])).unwrap();
        assert_eq!(h.template_family(), TemplateFamily::None);
        assert_eq!(h.context_length(), None);
    }

    #[test]
    fn template_families() {
        for (template, family) in [
            ("<|im_start|>user", TemplateFamily::Chatml),
            ("<|start_header_id|>user", TemplateFamily::Llama3),
            ("[INST] hi [/INST]", TemplateFamily::Mistral),
            ("<start_of_turn>user", TemplateFamily::Gemma),
            ("{{ messages }}", TemplateFamily::Other),
        ] {
            assert_eq!(TemplateFamily::of(template), family, "{template}");
        }
    }
}
