//! End-to-end: a small but realistic session exported in every format, read back and checked.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use peerlearn_transcripts::agreement::{agreement, Coverage};
use peerlearn_transcripts::participation::participation;
use peerlearn_transcripts::*;

const T0: i64 = 1_717_243_200_000; // 2024-06-01T12:00:00Z

const NICKNAMES: [&str; 5] = ["Zoë", "Łukasz", "Ayşe", "日向", "Mia"];

fn session() -> SessionExport {
    let child = |id, nick: &str, group, joined| Participant {
        id,
        kind: SpeakerKind::Child,
        nickname: nick.into(),
        avatar: Some("🦊".into()),
        group_id: Some(group),
        joined_at_ms: T0 + joined,
    };
    SessionExport {
        session_id: 42,
        activity: "bridge-design".into(),
        language: "de".into(),
        started_at_ms: T0,
        ended_at_ms: Some(T0 + 3_600_000),
        exported_at_ms: T0 + 7_200_000,
        agent_name: "Blue".into(),
        groups: vec![
            Group {
                id: 1,
                name: "Tigers".into(),
                condition: AgentRole::Moderator,
            },
            Group {
                id: 2,
                name: "Eulen & Füchse".into(),
                condition: AgentRole::Participant,
            },
        ],
        participants: vec![
            child(11, "Zoë", 1, 1),
            child(12, "Łukasz", 1, 2),
            child(13, "Ayşe", 1, 3),
            child(21, "日向", 2, 1),
            child(22, "Mia", 2, 2),
            Participant {
                id: 100,
                kind: SpeakerKind::Facilitator,
                nickname: "Frau Schmidt".into(),
                avatar: None,
                group_id: None,
                joined_at_ms: T0,
            },
        ],
        consents: Vec::new(),
    }
}

fn utterances() -> Vec<Utterance> {
    let mut v = Vec::new();
    let mut u = |group, seq, secs: i64, kind, sender: Option<i64>, text: &str| {
        let mut u = Utterance::new(group, seq, T0 + secs * 1000, kind, sender, text);
        u.phase = Some(if secs < 600 { "ideas" } else { "prototype" }.into());
        v.push(u);
        v.len() - 1
    };
    use SpeakerKind::*;
    u(1, 1, 5, Child, Some(11), "Hallo! Ich bin Zoë 👋");
    u(
        1,
        2,
        12,
        Child,
        Some(12),
        "hi zoë, what about a rope bridge? 🌉",
    );
    let a = u(
        1,
        3,
        15,
        Agent,
        None,
        "Great idea, Łukasz! Zoë, how does that fit your plan?",
    );
    u(
        1,
        4,
        30,
        Child,
        Some(13),
        "AYŞE here 😀 — I like it, Łukasz's idea is cool",
    );
    let h = u(1, 5, 31, Child, Some(12), "stupid Ayşe");
    u(
        1,
        6,
        40,
        Facilitator,
        Some(100),
        "Frau Schmidt here: 10 minutes left, Zoë",
    );
    u(1, 7, 600, System, None, "Phase changed to prototype");
    u(
        1,
        8,
        610,
        Child,
        Some(11),
        "Plan:\r\n1. \"ropes\", 2. wood & <nails>\n3. 👩‍👩‍👧 🇩🇪 e\u{301}",
    );
    let d = u(1, 9, 700, Agent, None, "Let's vote on the plan now.");
    u(1, 10, 701, Child, Some(13), "");
    u(2, 1, 3, Child, Some(21), "こんにちは Mia");
    u(2, 2, 9, Child, Some(22), "Hi 日向! Miami is far away");
    let b = u(2, 4, 20, Agent, None, "What if we used bamboo, Mia?");
    v[a].reply_to = Some(2);
    v[a].agent_trigger = Some("mention".into());
    v[a].agent_reason = Some("Łukasz proposed an idea; connect it to Zoë's".into());
    v[h].moderation = Moderation::Hidden;
    v[d].directive = true;
    v[d].directive_complied = Some(false);
    v[d].agent_trigger = Some("phase_end".into());
    v[b].agent_trigger = Some("lull".into());
    v[b].agent_reason = Some("nobody spoke for 10 s".into());
    v
}

fn codebook() -> Codebook {
    let mut manager = Code::new("6f1c1d2e-8a55-4c1b-9d7e-3b5f0a1e2d01", "Agent as manager");
    manager.color = Some("#3366CC".into());
    manager.description = Some("Children treat Blue as the one who decides".into());
    let mut follows = Code::new("c-follow", "Follows the agent");
    follows.parent = Some(manager.id.clone());
    let idea = Code::new("c-idea", "New idea 💡");
    Codebook {
        codes: vec![manager, follows, idea],
    }
}

fn codings() -> Vec<Coding> {
    vec![
        Coding::new("researcher-a", "c-idea", 1, 2),
        Coding::new("researcher-b", "c-idea", 1, 2),
        Coding::new("researcher-a", "c-follow", 1, 4),
        Coding::new("researcher-b", "c-idea", 1, 4),
        Coding::new("researcher-a", "c-idea", 1, 5), // hidden: dropped
        Coding::new("researcher-a", "c-idea", 2, 2),
    ]
}

fn export_to_vec(format: ExportFormat, opts: &ExportOptions) -> (Vec<u8>, ExportSummary) {
    let s = session();
    let extras = Extras {
        codebook: codebook(),
        codings: codings(),
    };
    let mut out = Vec::new();
    let summary = export(format, &s, &extras, opts, utterances(), &mut out).unwrap();
    assert_eq!(summary.bytes as usize, out.len());
    (out, summary)
}

fn assert_no_nicknames(text: &str) {
    for n in NICKNAMES {
        assert!(
            !text.to_lowercase().contains(&n.to_lowercase())
                || n == "Mia" && !contains_word(text, "mia"),
            "{n} leaked:\n{text}"
        );
    }
    assert!(!text.contains("Schmidt"), "facilitator name leaked");
}

fn contains_word(text: &str, word: &str) -> bool {
    let lower = text.to_lowercase();
    lower.match_indices(word).any(|(i, _)| {
        let before = lower[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after = lower[i + word.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        before && after
    })
}

/// (group name, seq) -> record, from the CSV export.
fn csv_records(bytes: &[u8]) -> Vec<HashMap<String, String>> {
    let mut r = ::csv::Reader::from_reader(bytes);
    let headers = r.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        peerlearn_transcripts::csv::COLUMNS
    );
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

#[test]
fn csv_export_reads_back() {
    let (bytes, summary) = export_to_vec(ExportFormat::Csv, &ExportOptions::default());
    assert_eq!(
        (summary.utterances, summary.hidden_skipped, summary.groups),
        (12, 1, 2)
    );
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert_no_nicknames(&text);
    assert!(text.contains("\r\n"));
    let rows = csv_records(&bytes);
    assert_eq!(rows.len(), 12);
    let row = |g: &str, seq: &str| {
        rows.iter()
            .find(|r| r["group_id"] == g && r["seq"] == seq)
            .unwrap()
    };
    let r = row("1", "2");
    assert_eq!(r["text"], "hi Child 1, what about a rope bridge? 🌉");
    assert_eq!(r["speaker"], "Child 2");
    assert_eq!(r["speaker_kind"], "child");
    assert_eq!(r["timestamp"], "2024-06-01T12:00:12.000Z");
    assert_eq!(r["ms_since_start"], "12000");
    assert_eq!(r["condition"], "moderator");
    assert_eq!(r["phase"], "ideas");
    let a = row("1", "3");
    assert_eq!(a["speaker"], "Blue (AI)");
    assert_eq!(a["reply_to"], "2");
    assert_eq!(a["agent_trigger"], "mention");
    assert_eq!(
        a["agent_reason"],
        "Child 2 proposed an idea; connect it to Child 1's"
    );
    assert_eq!(
        a["text"],
        "Great idea, Child 2! Child 1, how does that fit your plan?"
    );
    assert_eq!(
        row("1", "4")["text"],
        "Child 3 here 😀 — I like it, Child 2's idea is cool"
    );
    assert_eq!(row("1", "6")["speaker"], "Facilitator");
    assert_eq!(
        row("1", "6")["text"],
        "Facilitator here: 10 minutes left, Child 1"
    );
    assert_eq!(
        row("1", "8")["text"],
        "Plan:\n1. \"ropes\", 2. wood & <nails>\n3. 👩‍👩‍👧 🇩🇪 é"
    );
    assert_eq!(row("2", "2")["text"], "Hi Child 4! Miami is far away");
    assert_eq!(row("2", "2")["group_name"], "Eulen & Füchse");
    assert!(
        rows.iter().all(|r| r["seq"] != "5" || r["group_id"] != "1"),
        "hidden message exported"
    );

    let with_hidden = ExportOptions {
        include_hidden: true,
        csv_bom: true,
        ..Default::default()
    };
    let (bytes, summary) = export_to_vec(ExportFormat::Csv, &with_hidden);
    assert_eq!(summary.utterances, 13);
    assert!(bytes.starts_with("\u{FEFF}".as_bytes()));
    let rows = csv_records(&bytes[3..]);
    let hidden = rows
        .iter()
        .find(|r| r["group_id"] == "1" && r["seq"] == "5")
        .unwrap();
    assert_eq!(
        (hidden["moderation"].as_str(), hidden["text"].as_str()),
        ("hidden", "stupid Child 3")
    );
}

#[test]
fn nickname_mode_and_group_filter() {
    let opts = ExportOptions {
        pseudonyms: PseudonymMode::Nicknames,
        groups: Some(vec![2]),
        ..Default::default()
    };
    let (bytes, summary) = export_to_vec(ExportFormat::Csv, &opts);
    assert_eq!(
        (summary.utterances, summary.filtered_out, summary.groups),
        (3, 10, 1)
    );
    let rows = csv_records(&bytes);
    assert_eq!(rows[0]["speaker"], "日向");
    assert_eq!(rows[0]["text"], "こんにちは Mia");
    // The numbering does not depend on the filter.
    let (bytes, _) = export_to_vec(
        ExportFormat::Csv,
        &ExportOptions {
            groups: Some(vec![2]),
            ..Default::default()
        },
    );
    assert_eq!(csv_records(&bytes)[0]["speaker"], "Child 4");
    let err = export(
        ExportFormat::Csv,
        &session(),
        &Extras::default(),
        &ExportOptions {
            groups: Some(vec![9]),
            ..Default::default()
        },
        utterances(),
        Vec::new(),
    );
    assert!(matches!(err, Err(Error::UnknownGroup { group_id: 9 })));
}

#[test]
fn jsonl_export_reads_back() {
    let (bytes, _) = export_to_vec(ExportFormat::Jsonl, &ExportOptions::default());
    let text = String::from_utf8(bytes).unwrap();
    assert_no_nicknames(&text);
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 12);
    let r = &records[2];
    assert_eq!(r["seq"], 3);
    assert_eq!(r["reply_to"], 2);
    assert_eq!(r["speaker_kind"], "agent");
    assert_eq!(records[8]["text"], "");
    assert_eq!(records[8]["seq"], 10);
}

#[test]
fn text_script_is_readable_and_pseudonymised() {
    let (bytes, _) = export_to_vec(ExportFormat::Txt, &ExportOptions::default());
    let text = String::from_utf8(bytes).unwrap();
    assert_no_nicknames(&text);
    assert!(text.contains("group Tigers · agent role: moderator"));
    assert!(text.contains("[00:00:15] #3 Blue (AI) (re #2): Great idea, Child 2!"));
    assert!(text.contains(
        "    [agent trigger: mention; reason: Child 2 proposed an idea; connect it to Child 1's]"
    ));
    assert!(
        text.contains("--- Phase: prototype ---\n[00:10:00] #7 System: Phase changed to prototype")
    );
    assert!(text.contains("Plan:\n    1. \"ropes\""));
    assert!(!text.contains("stupid"));
}

fn unzip(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut content = Vec::new();
            f.read_to_end(&mut content).unwrap();
            (f.name().to_owned(), content)
        })
        .collect()
}

fn xsd() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/Project.xsd")
}

/// Validates with xmllint against the official schema; fails with xmllint's message.
fn validate_qde(qde: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("project.qde");
    std::fs::write(&path, qde).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd())
        .arg(&path)
        .output()
        .expect("xmllint must be installed (Debian package libxml2-utils)");
    assert!(
        out.status.success(),
        "project.qde does not validate:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(qde)
    );
}

fn slice(text: &str, start: usize, end: usize, unit: PositionUnit) -> String {
    match unit {
        PositionUnit::CodePoints => text.chars().skip(start).take(end - start).collect(),
        PositionUnit::Utf16 => {
            let units: Vec<u16> = text.encode_utf16().collect();
            String::from_utf16(&units[start..end]).unwrap()
        }
    }
}

fn check_qdpx(unit: PositionUnit) {
    let opts = ExportOptions {
        positions: unit,
        ..Default::default()
    };
    let (bytes, summary) = export_to_vec(ExportFormat::Qdpx, &opts);
    assert_eq!(summary.codings, 5, "{summary:?}");
    assert_eq!(summary.codings_dropped, 1);
    let files = unzip(&bytes);
    let qde = &files["project.qde"];
    validate_qde(qde);
    let qde_text = std::str::from_utf8(qde).unwrap();
    assert_no_nicknames(qde_text);
    let doc = roxmltree::Document::parse(qde_text).unwrap();
    let root = doc.root_element();
    let children: Vec<&str> = root
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    assert_eq!(
        children,
        [
            "Users",
            "CodeBook",
            "Variables",
            "Cases",
            "Sources",
            "Notes",
            "Description"
        ]
    );

    // Every selection maps back to exactly the exported utterance text.
    let (csv_bytes, _) = export_to_vec(ExportFormat::Csv, &ExportOptions::default());
    let rows = csv_records(&csv_bytes);
    let expected: HashMap<(String, String), String> = rows
        .iter()
        .map(|r| {
            (
                (r["group_name"].clone(), r["seq"].clone()),
                r["text"].clone(),
            )
        })
        .collect();
    let mut selections = HashMap::new();
    let mut checked = 0;
    for source in doc.descendants().filter(|n| n.has_tag_name("TextSource")) {
        let path = source.attribute("plainTextPath").unwrap();
        let guid = path
            .strip_prefix("internal://")
            .unwrap()
            .strip_suffix(".txt")
            .unwrap();
        assert_eq!(source.attribute("guid"), Some(guid));
        let text = std::str::from_utf8(&files[&format!("sources/{guid}.txt")])
            .unwrap()
            .to_owned();
        assert_no_nicknames(&text);
        let group = source
            .attribute("name")
            .unwrap()
            .strip_prefix("Group ")
            .unwrap();
        let group = group[..group.rfind(" (").unwrap()].to_owned();
        for sel in source
            .children()
            .filter(|n| n.has_tag_name("PlainTextSelection"))
        {
            let start: usize = sel.attribute("startPosition").unwrap().parse().unwrap();
            let end: usize = sel.attribute("endPosition").unwrap().parse().unwrap();
            let seq = sel
                .attribute("name")
                .unwrap()
                .rsplit('#')
                .next()
                .unwrap()
                .to_owned();
            let want = &expected[&(group.clone(), seq.clone())];
            assert_eq!(&slice(&text, start, end, unit), want, "{group} #{seq}");
            selections.insert(
                sel.attribute("guid").unwrap().to_owned(),
                (group.clone(), seq),
            );
            checked += 1;
        }
    }
    // All utterances but the empty one are selections.
    assert_eq!(checked, rows.len() - 1);

    // Cases: five children (all named by pseudonym), the agent per group, the facilitator.
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("Case"))
        .collect();
    let names: Vec<&str> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(
        names,
        [
            "Child 1",
            "Child 2",
            "Child 3",
            "Child 4",
            "Child 5",
            "Blue (AI) · Tigers",
            "Facilitator · Tigers",
            "Blue (AI) · Eulen & Füchse"
        ]
    );
    let refs: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("SelectionRef"))
        .map(|n| n.attribute("targetGUID").unwrap())
        .collect();
    assert!(refs.iter().all(|r| selections.contains_key(*r)));
    assert_eq!(
        refs.len(),
        checked - 1,
        "every selection but the system message belongs to a case"
    );
    let child1_refs: Vec<_> = cases[0]
        .children()
        .filter(|n| n.has_tag_name("SelectionRef"))
        .map(|n| selections[n.attribute("targetGUID").unwrap()].1.clone())
        .collect();
    assert_eq!(child1_refs, ["1", "8"]);
    let values: Vec<_> = cases[5]
        .descendants()
        .filter(|n| n.has_tag_name("TextValue"))
        .map(|n| n.text().unwrap())
        .collect();
    assert_eq!(values, ["agent", "Tigers", "moderator"]);

    // Agent reasons as notes, referenced from their selections.
    let notes: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("Note"))
        .collect();
    assert_eq!(notes.len(), 3);
    let note_text: Vec<_> = notes
        .iter()
        .map(|n| {
            n.children()
                .find(|c| c.has_tag_name("PlainTextContent"))
                .unwrap()
                .text()
                .unwrap()
        })
        .collect();
    assert_eq!(
        note_text[0],
        "Trigger: mention\nReason: Child 2 proposed an idea; connect it to Child 1's"
    );
    let note_refs = doc
        .descendants()
        .filter(|n| n.has_tag_name("NoteRef"))
        .count();
    assert_eq!(note_refs, 3);

    // Codebook and codings.
    let users: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("User"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert_eq!(
        users,
        ["Coder 1", "Coder 2"],
        "coders are pseudonymised by default"
    );
    let codes: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("Code"))
        .collect();
    assert_eq!(
        codes[0].attribute("guid"),
        Some("6f1c1d2e-8a55-4c1b-9d7e-3b5f0a1e2d01")
    );
    assert_eq!(
        codes[1].parent().unwrap().attribute("name"),
        Some("Agent as manager")
    );
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("Coding"))
            .count(),
        5
    );

    // The same export again is byte-identical.
    assert_eq!(export_to_vec(ExportFormat::Qdpx, &opts).0, bytes);
}

#[test]
fn qdpx_selections_map_back_in_code_points() {
    check_qdpx(PositionUnit::CodePoints);
}

#[test]
fn qdpx_selections_map_back_in_utf16_units() {
    check_qdpx(PositionUnit::Utf16);
}

#[test]
fn qdpx_without_codebook_and_with_hidden_is_valid() {
    let s = session();
    let opts = ExportOptions {
        include_hidden: true,
        pseudonyms: PseudonymMode::Nicknames,
        ..Default::default()
    };
    let mut out = Vec::new();
    let summary = peerlearn_transcripts::qdpx::write_qdpx(
        &s,
        &Codebook::default(),
        &[],
        &opts,
        utterances(),
        &mut out,
    )
    .unwrap();
    assert_eq!(summary.utterances, 13);
    let files = unzip(&out);
    validate_qde(&files["project.qde"]);
    let qde = std::str::from_utf8(&files["project.qde"]).unwrap();
    assert!(qde.contains("name=\"Zoë\""));
    assert!(!qde.contains("<Users>") && !qde.contains("<CodeBook>"));
    // An empty session is still a valid project.
    let mut out = Vec::new();
    peerlearn_transcripts::qdpx::write_qdpx(
        &s,
        &Codebook::default(),
        &[],
        &ExportOptions::default(),
        Vec::<Utterance>::new(),
        &mut out,
    )
    .unwrap();
    validate_qde(&unzip(&out)["project.qde"]);
}

#[test]
fn codebook_round_trips_through_qdc_and_csv() {
    let cb = codebook();
    let mut qdc = Vec::new();
    write_qdc(&cb, "", &mut qdc).unwrap();
    let back = read_codebook(&qdc[..]).unwrap();
    assert_eq!(back.codes.len(), 3);
    assert_eq!(back.codes[0], cb.codes[0]);
    assert_eq!(back.codes[1].name, "Follows the agent");
    assert_eq!(
        back.codes[1].parent.as_deref(),
        Some(cb.codes[0].id.as_str())
    );
    // A second round trip is exact (all ids are GUIDs now) and the GUIDs match the project's.
    let mut again = Vec::new();
    write_qdc(&back, "", &mut again).unwrap();
    assert_eq!(read_qdc(&again[..]).unwrap(), back);
    let (qdpx, _) = export_to_vec(ExportFormat::Qdpx, &ExportOptions::default());
    let from_project = read_qdc(&unzip(&qdpx)["project.qde"][..]).unwrap();
    assert_eq!(from_project, back);

    let mut csv = Vec::new();
    write_codebook_csv(&cb, &mut csv).unwrap();
    assert_eq!(read_codebook(&csv[..]).unwrap(), cb);
    let err = read_codebook("name,colour\nok,#fff\nbad,#12\n".as_bytes()).unwrap_err();
    assert_eq!(err.to_string(), "line 3: colour \"#12\" is not #RRGGBB");
}

#[test]
fn schema_copy_matches_the_shared_original() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/refi-qda/Project.xsd");
    if let Ok(original) = std::fs::read(&shared) {
        assert_eq!(
            std::fs::read(xsd()).unwrap(),
            original,
            "tests/data/Project.xsd differs from {}",
            shared.display()
        );
    }
}

#[test]
fn bad_input_is_reported_precisely() {
    let s = session();
    let mut us = utterances();
    us.swap(0, 1);
    let err = export(
        ExportFormat::Csv,
        &s,
        &Extras::default(),
        &ExportOptions::default(),
        &us,
        Vec::new(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfOrder {
                group_id: 1,
                seq: 1,
                previous: 2
            }
        ),
        "{err}"
    );

    let mut us = utterances();
    let moved = us.remove(0);
    us.push(moved);
    let err = export(
        ExportFormat::Jsonl,
        &s,
        &Extras::default(),
        &ExportOptions::default(),
        &us,
        Vec::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::GroupsInterleaved { group_id: 1 }),
        "{err}"
    );

    let mut us = utterances();
    us[0].sender_id = Some(999);
    let err = export(
        ExportFormat::Txt,
        &s,
        &Extras::default(),
        &ExportOptions::default(),
        &us,
        Vec::new(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "group 1, message 1: the child sender Some(999) is not a participant of the session"
    );

    let extras = Extras {
        codebook: codebook(),
        codings: vec![Coding::new("x", "nope", 1, 1)],
    };
    let err = export(
        ExportFormat::Qdpx,
        &s,
        &extras,
        &ExportOptions::default(),
        &us,
        Vec::new(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, Error::UnknownCode { .. }), "{err}");
}

#[test]
fn statistics_over_the_session() {
    let s = session();
    let report = participation(&s, &ExportOptions::default(), utterances()).unwrap();
    assert_eq!(report.groups.len(), 2);
    let tigers = &report.groups[0];
    assert_eq!(
        (
            tigers.children,
            tigers.child_turns,
            tigers.agent_turns,
            tigers.facilitator_turns
        ),
        (3, 5, 2, 1)
    );
    // #3 answers #2 (3 s later); the vote (#9) follows Child 1's #8 (90 s later).
    assert_eq!(tigers.agent_replies, 2);
    assert_eq!(tigers.agent_latency_max_ms, Some(90_000));
    assert_eq!(tigers.directives, 1);
    assert_eq!(tigers.directive_compliance, Some(0.0));

    let units = utterances()
        .iter()
        .filter(|u| u.moderation != Moderation::Hidden)
        .map(|u| UtteranceRef {
            group_id: u.group_id,
            seq: u.seq,
        })
        .collect::<Vec<_>>();
    let irr = agreement(&codebook(), &codings(), units, Coverage::GroupsCoded);
    assert_eq!(irr.coders, ["researcher-a", "researcher-b"]);
    let idea = irr.codes.iter().find(|c| c.code_id == "c-idea").unwrap();
    assert_eq!(idea.pairs[0].both, 1);
    assert_eq!(idea.pairs[0].only_b, 1);
    assert_eq!(irr.ignored_codings, 1);
}

/// Writes a sample export for manual inspection in QDA tools: to `$QDPX_DUMP` when set,
/// otherwise to the temporary folder (so the suite still checks the files are written whole).
#[test]
fn dump_sample() {
    let dir = std::env::var_os("QDPX_DUMP")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let (qdpx, _) = export_to_vec(ExportFormat::Qdpx, &ExportOptions::default());
    assert!(qdpx.starts_with(b"PK"), "a zip");
    std::fs::write(Path::new(&dir).join("sample.qdpx"), &qdpx).unwrap();
    let (txt, _) = export_to_vec(ExportFormat::Txt, &ExportOptions::default());
    assert!(!txt.is_empty());
    std::fs::write(Path::new(&dir).join("sample.txt"), &txt).unwrap();
    assert_eq!(
        std::fs::read(Path::new(&dir).join("sample.qdpx")).unwrap(),
        qdpx
    );
}

#[test]
fn consent_facilitator_names_and_coders_are_pseudonymised() {
    let mut s = session();
    s.participants.push(Participant {
        id: 101,
        kind: SpeakerKind::Facilitator,
        nickname: "ms-lee".into(),
        avatar: None,
        group_id: None,
        joined_at_ms: T0 + 1,
    });
    s.consents = vec![
        Consent {
            kind: "parents".into(),
            given_on: "2024-05-20".into(),
            note: "Zoë's mother signed; ask Frau Schmidt".into(),
            recorded_by: Some(101),
            recorded_at_ms: T0,
        },
        Consent {
            kind: "child_assent".into(),
            given_on: "2024-06-01".into(),
            note: String::new(),
            recorded_by: None,
            recorded_at_ms: T0,
        },
    ];
    let mut out = Vec::new();
    let n = csv::write_consent_csv(&s, &ExportOptions::default(), &mut out).unwrap();
    assert_eq!(n, 2);
    let consent = String::from_utf8(out).unwrap();
    assert_eq!(
        consent,
        "session_id,kind,given_on,note,recorded_by,recorded_at\r\n\
         42,parents,2024-05-20,Child 1's mother signed; ask Facilitator,Facilitator 2,2024-06-01T12:00:00.000Z\r\n\
         42,child_assent,2024-06-01,,command line,2024-06-01T12:00:00.000Z\r\n"
    );

    // A facilitator's account name is found as children write it.
    let said = Utterance::new(
        1,
        1,
        T0 + 1000,
        SpeakerKind::Child,
        Some(11),
        "ms lee said we can, Ms. Lee too, MS-LEE! not lee alone, nor mslee",
    );
    let mut out = Vec::new();
    export(
        ExportFormat::Csv,
        &s,
        &Extras::default(),
        &ExportOptions::default(),
        [said.clone()],
        &mut out,
    )
    .unwrap();
    let csv = String::from_utf8(out).unwrap();
    assert!(
        csv.contains(
            "Facilitator 2 said we can, Facilitator 2 too, Facilitator 2! not lee alone, nor mslee"
        ),
        "{csv}"
    );

    // QDPX: consent records are notes; coders are numbered unless their names are kept.
    let extras = Extras {
        codebook: codebook(),
        codings: codings(),
    };
    for keep in [false, true] {
        let opts = ExportOptions {
            pseudonymise_coders: !keep,
            guid_salt: "a fresh salt".into(),
            ..Default::default()
        };
        let mut out = Vec::new();
        export(
            ExportFormat::Qdpx,
            &s,
            &extras,
            &opts,
            utterances(),
            &mut out,
        )
        .unwrap();
        let files = unzip(&out);
        let qde = &files["project.qde"];
        validate_qde(qde);
        let text = std::str::from_utf8(qde).unwrap();
        assert_no_nicknames(text);
        assert!(
            text.contains("name=\"Consent: parents, 2024-05-20\""),
            "{text}"
        );
        assert!(
            text.contains("Child 1&apos;s mother signed; ask Facilitator")
                || text.contains("Child 1's mother signed; ask Facilitator"),
            "{text}"
        );
        assert!(text.contains("Consent records: 2"));
        assert!(!text.contains("ms-lee") && !text.contains("Schmidt"));
        assert_eq!(text.contains("researcher-a"), keep, "{text}");
        assert_eq!(text.contains("name=\"Coder 1\""), !keep);
    }
}
