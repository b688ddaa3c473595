//! Keeping CSV files safe to open in a spreadsheet ("CSV injection", OWASP).
//!
//! Excel, LibreOffice and Google Sheets treat a cell that starts with `=`, `+`, `-`, `@`, a tab
//! or a carriage return as a formula. A child who types `=HYPERLINK("http://...","click")`
//! would otherwise put a live link (or worse, with DDE) into the researcher's spreadsheet. As
//! OWASP recommends, such a *text* cell gets a single quote in front (`'=HYPERLINK(...)`): the
//! spreadsheet shows the text, and the quote is inside the CSV field, so quoting stays RFC 4180.
//!
//! Only text cells are guarded: cells whose words come from people (messages, nicknames, group
//! and phase names, the agent's reasons, code names, coder names). Numbers the product writes
//! itself (`ms_since_start`, `seq`, shares, latencies) are never guarded, so a negative number
//! stays a number for the spreadsheet and for R or pandas. Enumerations (`condition`,
//! `speaker_kind`, `moderation`) and timestamps are written by the product and never start with
//! one of these characters.

use std::borrow::Cow;

/// The first characters that make a spreadsheet evaluate a cell.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would read `cell` as a formula.
pub fn starts_like_formula(cell: &str) -> bool {
    cell.starts_with(FORMULA_STARTS)
}

/// A text cell as it is written: with `'` in front when it would start a formula.
pub fn guard_cell(cell: &str) -> Cow<'_, str> {
    if starts_like_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The inverse of [`guard_cell`], for files this crate reads back (a codebook CSV written by
/// [`crate::write_codebook_csv`]): a `'` followed by a formula character is dropped.
pub fn unguard_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if starts_like_formula(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_quoted_and_read_back() {
        for bad in [
            "=1+1",
            "+1",
            "-Mia",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "=HYPERLINK(\"x\")",
        ] {
            let guarded = guard_cell(bad);
            assert_eq!(guarded, format!("'{bad}"));
            assert!(!starts_like_formula(&guarded));
            assert_eq!(unguard_cell(&guarded), bad);
        }
        for fine in ["", "Mia", "1,5", "'quoted", " =x", "Blue (AI)"] {
            assert_eq!(guard_cell(fine), fine);
            assert_eq!(unguard_cell(fine), fine);
        }
    }
}
