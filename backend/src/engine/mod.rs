//! The inference engine (work in progress).
