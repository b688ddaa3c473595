//! Export benchmark: a synthetic session streamed through every writer.
//!
//! ```sh
//! cargo run --release -p peerlearn-transcripts --example bench_export -- --utterances 100000
//! ```
//!
//! Utterances are generated on the fly (never collected), so the process's peak resident set
//! (`VmHWM`) shows what the writers themselves keep. Prints one JSON object.
//! Options: `--utterances N` (100000), `--groups G` (20), `--children C` per group (5),
//! `--out DIR` to keep the files (default: a temporary directory).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use peerlearn_transcripts::*;

const T0: i64 = 1_717_243_200_000;
const NICKS: [&str; 12] = [
    "Zoë", "Łukasz", "Ayşe", "日向", "Mia", "Noah", "Amélie", "Kofi", "Søren", "Priya", "Mateo",
    "Lena",
];
const PHRASES: [&str; 8] = [
    "What if we build the bridge out of rope? 🌉",
    "I think {} is right, but the wood might break",
    "Ja, lass uns abstimmen! 👍",
    "can we make it longer, {}?",
    "Let's draw it first 🖍️ then build the prototype",
    "no wait, the river is too wide for that",
    "こんにちは、{}さん！ great idea",
    "We need a plan: 1. ropes, 2. planks, 3. test it with \"weights\"",
];

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Setup {
    session: SessionExport,
    extras: Extras,
    n: usize,
    children: usize,
}

impl Setup {
    fn new(n: usize, groups: usize, children: usize) -> Self {
        let mut participants = Vec::new();
        for g in 0..groups {
            for c in 0..children {
                participants.push(Participant {
                    id: (g * 100 + c) as i64,
                    kind: SpeakerKind::Child,
                    nickname: format!(
                        "{}{}",
                        NICKS[(g * children + c) % NICKS.len()],
                        if g > 1 { g.to_string() } else { String::new() }
                    ),
                    avatar: Some("🦊".into()),
                    group_id: Some(g as i64 + 1),
                    joined_at_ms: T0 + c as i64,
                });
            }
        }
        participants.push(Participant {
            id: 9_999,
            kind: SpeakerKind::Facilitator,
            nickname: "Frau Schmidt".into(),
            avatar: None,
            group_id: None,
            joined_at_ms: T0,
        });
        let roles = [
            AgentRole::Moderator,
            AgentRole::Participant,
            AgentRole::None,
        ];
        let session = SessionExport {
            session_id: 1,
            activity: "bridge-design".into(),
            language: "en".into(),
            started_at_ms: T0,
            ended_at_ms: None,
            exported_at_ms: T0 + 86_400_000,
            agent_name: "Blue".into(),
            groups: (0..groups)
                .map(|g| Group {
                    id: g as i64 + 1,
                    name: format!("Group {}", g + 1),
                    condition: roles[g % 3],
                })
                .collect(),
            participants,
            consents: Vec::new(),
        };
        let mut codebook = Codebook::default();
        for i in 0..20 {
            codebook
                .codes
                .push(Code::new(format!("code-{i}"), format!("Theme {i}")));
        }
        let per_group = n.div_ceil(groups);
        // Two coders code a sample of 2,000 utterances spread over the session (a fixed
        // number, so that the peak memory compares writers, not coding volumes).
        let mut codings = Vec::new();
        for i in (0..n).step_by((n / 2_000).max(1)) {
            let (g, seq) = ((i / per_group) as i64 + 1, (i % per_group) as i64 + 1);
            codings.push(Coding::new("coder-a", format!("code-{}", i % 20), g, seq));
            codings.push(Coding::new(
                "coder-b",
                format!("code-{}", (i / 3) % 20),
                g,
                seq,
            ));
        }
        Setup {
            session,
            extras: Extras { codebook, codings },
            n,
            children,
        }
    }

    /// The utterances, generated lazily in (group, seq) order.
    fn utterances(&self) -> impl Iterator<Item = Utterance> + '_ {
        let groups = self.session.groups.len();
        let per_group = self.n.div_ceil(groups);
        (0..self.n).map(move |i| {
            let g = i / per_group;
            let seq = (i % per_group) as i64 + 1;
            let t = T0 + seq * 4_000 + (i % 7) as i64 * 300;
            let phase = if seq < per_group as i64 / 2 {
                "ideas"
            } else {
                "prototype"
            };
            let mention =
                &self.session.participants[g * self.children + (i * 7) % self.children].nickname;
            let mut u = match i % 10 {
                0 | 5 => {
                    let mut u = Utterance::new(
                        g as i64 + 1,
                        seq,
                        t,
                        SpeakerKind::Agent,
                        None,
                        format!("Good point, {mention}! How does that connect to the plan?"),
                    );
                    u.reply_to = Some(seq - 1);
                    u.agent_trigger = Some("mention".into());
                    u.agent_reason =
                        Some(format!("{mention} proposed an idea that nobody answered"));
                    u.directive = i % 20 == 0;
                    u.directive_complied = u.directive.then_some(i % 40 == 0);
                    u
                }
                9 if i % 100 == 99 => Utterance::new(
                    g as i64 + 1,
                    seq,
                    t,
                    SpeakerKind::Facilitator,
                    Some(9_999),
                    "Frau Schmidt here: 5 minutes left",
                ),
                _ => {
                    let child = &self.session.participants[g * self.children + i % self.children];
                    let text = PHRASES[i % PHRASES.len()].replace("{}", mention);
                    Utterance::new(
                        g as i64 + 1,
                        seq,
                        t,
                        SpeakerKind::Child,
                        Some(child.id),
                        text,
                    )
                }
            };
            u.phase = Some(phase.into());
            if i % 500 == 7 {
                u.moderation = Moderation::Hidden;
            }
            u
        })
    }

    fn run(
        &self,
        format: ExportFormat,
        dir: &std::path::Path,
        opts: &ExportOptions,
    ) -> (u128, ExportSummary) {
        let file =
            std::fs::File::create(dir.join(format!("bench.{}", format.extension()))).unwrap();
        let start = Instant::now();
        let summary = export(
            format,
            &self.session,
            &self.extras,
            opts,
            self.utterances(),
            BufWriter::new(file),
        )
        .unwrap();
        (start.elapsed().as_millis(), summary)
    }
}

fn main() {
    let mut n = 100_000usize;
    let mut groups = 20usize;
    let mut children = 5usize;
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--utterances" => n = value().parse().expect("--utterances N"),
            "--groups" => groups = value().parse().expect("--groups G"),
            "--children" => children = value().parse().expect("--children C"),
            "--out" => out = Some(PathBuf::from(value())),
            other => panic!("unknown argument {other}; use --utterances N [--groups G] [--children C] [--out DIR]"),
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = out.unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    let setup = Setup::new(n, groups.max(1), children.clamp(1, 100));
    let opts = ExportOptions::default();
    let hwm_before = vm_hwm_kb();
    let (csv_ms, csv) = setup.run(ExportFormat::Csv, &dir, &opts);
    let hwm_after_csv = vm_hwm_kb();
    let (jsonl_ms, jsonl) = setup.run(ExportFormat::Jsonl, &dir, &opts);
    let (txt_ms, txt) = setup.run(ExportFormat::Txt, &dir, &opts);
    let (qdpx_ms, qdpx) = setup.run(ExportFormat::Qdpx, &dir, &opts);
    let hwm_after = vm_hwm_kb();
    let json = serde_json::json!({
        "utterances": n,
        "groups": groups,
        "exported_utterances": csv.utterances,
        "csv_ms": csv_ms,
        "jsonl_ms": jsonl_ms,
        "txt_ms": txt_ms,
        "qdpx_ms": qdpx_ms,
        "bytes": { "csv": csv.bytes, "jsonl": jsonl.bytes, "txt": txt.bytes, "qdpx": qdpx.bytes },
        "qdpx_codings": qdpx.codings,
        "vmhwm_kb_before": hwm_before,
        "vmhwm_kb_after_csv": hwm_after_csv,
        "vmhwm_kb_after": hwm_after,
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{json}").unwrap();
}
