//! A frame serialised once, shared by every connection of a room (and every dashboard of a
//! session): cloning is a reference count, not a copy. The room's own type, so the room does
//! not depend on the WebSocket library; the socket turns it into its text message at the edge
//! (`http/chat_socket.rs`), without copying.

use std::fmt;

use bytes::Bytes;

/// JSON text of one frame. Always valid UTF-8: it is only built from a `String`.
#[derive(Clone, PartialEq, Eq)]
pub struct FrameJson(Bytes);

impl FrameJson {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a FrameJson is built from a String")
    }

    /// The bytes, for the socket's text message.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<String> for FrameJson {
    fn from(s: String) -> Self {
        FrameJson(Bytes::from(s))
    }
}

impl std::ops::Deref for FrameJson {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for FrameJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for FrameJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_reads_back_as_the_text_it_was_built_from() {
        let f = FrameJson::from(r#"{"type":"pong","é":"ü"}"#.to_string());
        assert_eq!(f.as_str(), r#"{"type":"pong","é":"ü"}"#);
        assert!(f.contains("pong"));
        assert_eq!(f.clone().into_bytes().len(), f.len());
    }
}
