//! `peerlearn bench export`: a large session seeded into a fresh database, exported as CSV and
//! QDPX through the real store path ([`crate::export::write_session`]), timed.
//!
//! Seeding writes the messages in bulk (many rows per statement and transaction) because the
//! store's `append_message` commits and syncs every message, which is right for a chat and
//! would make seeding 100,000 messages take minutes. The exports then read the store exactly
//! as `peerlearn export` does.
//!
//! Memory: the peak resident set (`VmHWM`) is reset through `/proc/self/clear_refs` before
//! each export, so `peak_rss_kib` is the peak during that export alone; compare it with
//! `rss_before_kib` (and across `--utterances`) to see that it stays flat.

use std::io::BufWriter;
use std::time::Instant;

use anyhow::Context;
use serde_json::{json, Value};

use crate::config::{DatabaseKind, DatabaseSettings};
use crate::export;
use crate::store::{self, AgentRole, CodeFields, NewGroup, NewSession, Store};
use peerlearn_transcripts as tx;

/// Arguments of `peerlearn bench export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportBenchArgs {
    /// Utterances in the seeded session.
    #[arg(long, default_value_t = 100_000)]
    pub utterances: usize,
    /// Groups the utterances are spread over.
    #[arg(long, default_value_t = 20)]
    pub groups: usize,
    /// Children per group.
    #[arg(long, default_value_t = 5)]
    pub children: usize,
    /// Timed runs per format (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// An empty database to seed (e.g. a fresh PostgreSQL database); default: a new SQLite
    /// file in a temporary folder.
    #[arg(long)]
    pub database_url: Option<String>,
}

const NICKS: [&str; 10] = [
    "Zoë", "Łukasz", "Ayşe", "日向", "Mia", "Noah", "Amélie", "Kofi", "Søren", "Priya",
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
/// Rows per INSERT statement (10 parameters each, well below both databases' limits).
const ROWS_PER_INSERT: usize = 500;

fn status_kib(key: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Resets the peak resident set to the current one (Linux 4.0+); false where unsupported.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

pub async fn run(args: ExportBenchArgs) -> anyhow::Result<Value> {
    anyhow::ensure!(
        args.utterances > 0 && args.groups > 0 && args.children > 0 && args.runs > 0,
        "--utterances, --groups, --children and --runs must be positive"
    );
    let dir = tempfile::tempdir()?;
    let settings = match &args.database_url {
        Some(url) => DatabaseSettings {
            url: url.clone(),
            kind: DatabaseKind::of_url(url).context("--database-url: sqlite:// or postgres://")?,
            connect_timeout: std::time::Duration::from_secs(10),
        },
        None => DatabaseSettings {
            url: format!("sqlite://{}", dir.path().join("bench.db").display()),
            kind: DatabaseKind::Sqlite,
            connect_timeout: std::time::Duration::from_secs(10),
        },
    };
    let store = Store::connect(&settings).await?;
    let seed_started = Instant::now();
    let session_id = seed(&store, &args).await?;
    let seed_s = seed_started.elapsed().as_secs_f64();

    let header = export::session_header(&store, session_id, None).await?;
    let options = tx::ExportOptions {
        spool_dir: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let rss_before = status_kib("VmRSS:");
    // Reading alone (store to utterances, no writer): how much of each export is the database.
    let mut read_times = Vec::new();
    for _ in 0..args.runs {
        let started = Instant::now();
        export::for_each_utterance(&store, &header, &options, |_| Ok(()), |_| {}).await?;
        read_times.push(started.elapsed().as_secs_f64());
    }
    let mut results = serde_json::Map::new();
    for format in [tx::ExportFormat::Csv, tx::ExportFormat::Qdpx] {
        let mut times = Vec::new();
        let mut peak = None;
        let mut summary = tx::ExportSummary::default();
        for _ in 0..args.runs {
            let path = dir.path().join(format!("out.{}", format.extension()));
            let file = std::fs::File::create(&path)?;
            let peak_reset = reset_peak_rss();
            let started = Instant::now();
            summary = export::write_session(
                &store,
                &header,
                format,
                &options,
                BufWriter::new(file),
                |_| {},
            )
            .await?;
            times.push(started.elapsed().as_secs_f64());
            if peak_reset {
                peak = peak.max(status_kib("VmHWM:"));
            }
        }
        results.insert(
            format.extension().into(),
            json!({
                "median_s": median(times.clone()),
                "runs_s": times,
                "bytes": summary.bytes,
                "utterances": summary.utterances,
                "codings": summary.codings,
                "peak_rss_kib": peak,
            }),
        );
    }
    store.close().await;
    Ok(json!({
        "benchmark": "export",
        "database": settings.kind.name(),
        "utterances": args.utterances,
        "groups": args.groups,
        "children_per_group": args.children,
        "runs": args.runs,
        "seed_s": seed_s,
        "rss_before_kib": rss_before,
        "peak_rss_note": "peak resident set during each export (reset before it), whole process",
        "targets": { "csv_s": 1.0, "qdpx_s": 3.0 },
        "read_only": { "median_s": median(read_times.clone()), "runs_s": read_times },
        "csv": results["csv"],
        "qdpx": results["qdpx"],
    }))
}

/// Creates the session: groups, children, messages (children mostly, every fifth turn the
/// agent with a logged reason), a codebook of 12 codes and two coders' codings on a sample.
async fn seed(store: &Store, args: &ExportBenchArgs) -> anyhow::Result<i64> {
    const T0: i64 = 1_717_243_200_000;
    let roles = [
        AgentRole::Moderator,
        AgentRole::Participant,
        AgentRole::None,
    ];
    let (session, groups) = store
        .create_session(&NewSession {
            facilitator_id: None,
            activity_id: "bridge-design".into(),
            language: "en".into(),
            agent_name: "Blue".into(),
            groups: NewGroup::numbered((0..args.groups).map(|g| roles[g % roles.len()])),
            created_at: T0,
            phase_minutes: None,
            safety_level: "standard".into(),
        })
        .await?;
    let per_group = args.utterances.div_ceil(args.groups);
    let mut remaining = args.utterances;
    for (gi, group) in groups.iter().enumerate() {
        let mut kids = Vec::new();
        for c in 0..args.children {
            let nick = format!("{}{}", NICKS[(gi * args.children + c) % NICKS.len()], gi);
            let p = store
                .add_participant(
                    group.id,
                    &nick,
                    "🦊",
                    &format!("bench-{gi}-{c}"),
                    T0 + c as i64,
                )
                .await?;
            kids.push((p.id, nick));
        }
        let n = per_group.min(remaining);
        remaining -= n;
        let mut seq = 0i64;
        let mut tx = store.writer().begin().await?;
        while (seq as usize) < n {
            let rows = ROWS_PER_INSERT.min(n - seq as usize);
            let mut sql = String::from(
                "INSERT INTO messages (group_id, seq, client_msg_id, sender_kind, sender_id, text, \
                 phase, created_at, reply_to, moderation) VALUES ",
            );
            for r in 0..rows {
                let b = r * 10;
                if r > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10
                ));
            }
            let mut q = sqlx::query(&sql);
            for _ in 0..rows {
                seq += 1;
                let i = seq as usize;
                let agent = roles[gi % roles.len()] != AgentRole::None && i % 5 == 0;
                let (kind, sender, text) = if agent {
                    let (_, nick) = &kids[i % kids.len()];
                    ("agent", None, format!("{nick}, what do you think?"))
                } else {
                    let (id, _) = &kids[i % kids.len()];
                    let (_, other) = &kids[(i + 1) % kids.len()];
                    (
                        "child",
                        Some(*id),
                        PHRASES[i % PHRASES.len()].replace("{}", other),
                    )
                };
                q = q
                    .bind(group.id)
                    .bind(seq)
                    .bind(format!("b{seq}"))
                    .bind(kind)
                    .bind(sender)
                    .bind(text)
                    .bind(if i < n / 2 { "ideas" } else { "prototype" })
                    .bind(T0 + seq * 4_000 + (i % 7) as i64 * 300)
                    .bind(if agent { Some(seq - 1) } else { None })
                    .bind(if i % 997 == 0 { "hidden" } else { "visible" });
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE groups SET last_seq = $1 WHERE id = $2")
            .bind(seq)
            .bind(group.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // The agent's logged reasons for a sample of its turns.
        if roles[gi % roles.len()] != AgentRole::None {
            for s in (5..=n as i64).step_by(50) {
                store
                    .record_agent_event(&store::AgentEvent {
                        group_id: group.id,
                        created_at: T0 + s * 4_000,
                        trigger: crate::agent::Trigger::Imbalance.into(),
                        decision: store::LogDecision::Spoke(crate::agent::Intent::InviteQuiet),
                        reason: "a child has not spoken for a while".into(),
                        message_seq: Some(s),
                        ..Default::default()
                    })
                    .await?;
            }
        }
    }
    let mut codes = Vec::new();
    for i in 0..12 {
        let mut f = CodeFields::named(format!("Theme {i}"));
        f.color = Some(format!("#{:02X}8844", i * 20));
        codes.push(store.create_code(session.id, &f, T0).await?.id);
    }
    // Two coders on a sample of about 2,000 utterances, in bulk for the same reason as above.
    let mut tx = store.writer().begin().await?;
    let step = (per_group / (2_000 / args.groups).max(1)).max(1);
    let mut k = 0usize;
    for group in &groups {
        let last: i64 = sqlx::query_scalar("SELECT last_seq FROM groups WHERE id = $1")
            .bind(group.id)
            .fetch_one(&mut *tx)
            .await?;
        for s in (1..=last).step_by(step) {
            for (coder, code) in [("coder-a", k % 12), ("coder-b", (k / 3) % 12)] {
                sqlx::query(
                    "INSERT INTO codings (code_id, group_id, seq, coder, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(codes[code])
                .bind(group.id)
                .bind(s)
                .bind(coder)
                .bind(T0)
                .execute(&mut *tx)
                .await?;
            }
            k += 1;
        }
    }
    tx.commit().await?;
    Ok(session.id)
}
