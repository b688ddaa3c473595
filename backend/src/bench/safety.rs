//! `peerlearn bench safety`: the child-safety screen over labelled corpora: recall per
//! category and language, false positives on benign and mild lines, cost per message.
//!
//! A corpus is JSONL, one `{"text", "lang", "expected": "allow|redact|hold|urgent",
//! "category"}` per line. Risky lines (expected redact, hold or urgent) count as caught when
//! the screen's action is at least the expected one; `right_category` says how often the
//! expected category was among the findings. Benign lines (`benign_*`) are false positives
//! on any action but allow; mild lines on any action beyond what the level does with a mild
//! word (masking at the standard level is not a false positive: the message is shown).
//!
//! By default every corpus file shipped in `prompts/safety/corpus/` is measured, each reported
//! on its own (tuning first, then the held-out files). The rules are tuned on `tuning.jsonl`
//! only. `held-out.jsonl`, `held-out-2.jsonl` and `held-out-3.jsonl` (any file with "held-out"
//! in its name) measure them: their failures are reported as counts per category, never line
//! by line, so nobody tunes on them by reading the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::data_files::files_in;
use crate::safety::{Action, Category, Level, Screen, ScreenInput, Verdict};

/// Where the shipped corpora are, relative to the repository.
const DEFAULT_CORPUS_DIR: &str = "prompts/safety/corpus";

/// Arguments of `peerlearn bench safety`.
#[derive(Debug, Clone, clap::Args)]
pub struct SafetyBenchArgs {
    /// A JSONL corpus (repeatable); default: every *.jsonl in prompts/safety/corpus/, tuning
    /// files first, each reported on its own.
    #[arg(long = "corpus")]
    pub corpus: Vec<PathBuf>,
    /// The screen's level: strict, standard or relaxed.
    #[arg(long, default_value = "standard", value_parser = parse_level)]
    pub level: Level,
    /// Passes over the whole corpus for the timing.
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    /// A prompts folder whose safety/*.toml replace the built-in rules.
    #[arg(long)]
    pub prompts: Option<PathBuf>,
    /// Print the report as JSON (otherwise a short summary).
    #[arg(long)]
    pub json: bool,
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

/// A corpus line that does not parse (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct CorpusError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// A corpus line; other fields (a note on why the line is there) are ignored.
#[derive(Debug, Clone, Deserialize)]
struct RawLine {
    text: String,
    lang: String,
    expected: String,
    category: String,
}

/// One labelled line.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    pub lang: String,
    pub expected: Action,
    /// The corpus category ("email", "benign_game", "mild"...).
    pub category: String,
    pub line: usize,
}

/// Reads a corpus; every malformed line is an error with its file and line.
pub fn read_corpus(path: &Path) -> Result<Vec<Line>, CorpusError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| CorpusError {
        file: file.clone(),
        line: 0,
        reason: format!("cannot be read: {e}"),
    })?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| CorpusError {
            file: file.clone(),
            line,
            reason,
        };
        let r: RawLine = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
        let expected: Action = r.expected.parse().map_err(bad)?;
        let known = r.category.starts_with("benign_")
            || r.category == "mild"
            || r.category.parse::<Category>().is_ok();
        if !known {
            return Err(bad(format!(
                "unknown category {:?}: a screen category, mild or benign_*",
                r.category
            )));
        }
        out.push(Line {
            text: r.text,
            lang: r.lang,
            expected,
            category: r.category,
            line,
        });
    }
    Ok(out)
}

/// The corpus files in `dir`: those one may tune on first, then the held-out ones, each group
/// by name.
fn corpora_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = files_in(dir, "jsonl");
    files.sort_by_key(|p| (is_held_out(p), p.clone()));
    anyhow::ensure!(
        !files.is_empty(),
        "no corpus (*.jsonl) in {}: run from the repository or pass --corpus",
        dir.display()
    );
    Ok(files)
}

fn is_held_out(path: &Path) -> bool {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_lowercase();
    name.contains("held-out") || name.contains("held_out") || name.contains("heldout")
}

#[derive(Debug, Default, Clone)]
struct Tally {
    count: usize,
    /// Risky: caught. Benign or mild: false positives.
    hits: usize,
    right_category: usize,
    /// Mild lines: shown with something masked.
    masked: usize,
}

impl Tally {
    fn json(&self, kind: Kind) -> Value {
        let share = |n: usize| {
            if self.count == 0 {
                Value::Null
            } else {
                json!(round(n as f64 / self.count as f64))
            }
        };
        match kind {
            Kind::Risky => json!({
                "count": self.count,
                "recall": share(self.hits),
                "missed": self.count - self.hits,
                "right_category": share(self.right_category),
            }),
            Kind::Benign => json!({
                "count": self.count,
                "fpr": share(self.hits),
                "false_positives": self.hits,
            }),
            Kind::Mild => json!({
                "count": self.count,
                "fpr": share(self.hits),
                "false_positives": self.hits,
                "masked": share(self.masked),
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Risky,
    Benign,
    Mild,
}

fn kind_of(line: &Line) -> Kind {
    if line.category == "mild" {
        Kind::Mild
    } else if line.expected == Action::Allow {
        Kind::Benign
    } else {
        Kind::Risky
    }
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The group a category's recall target belongs to.
fn group_of(line: &Line) -> &'static str {
    match kind_of(line) {
        Kind::Benign => "benign",
        Kind::Mild => "mild",
        Kind::Risky => match line.expected {
            Action::Redact => "personal_data",
            Action::Urgent => "disclosure",
            _ => "harm",
        },
    }
}

/// Whether the screen got the line right, and the tally update.
fn score(line: &Line, v: &Verdict, level: Level, t: &mut Tally) -> bool {
    t.count += 1;
    match kind_of(line) {
        Kind::Risky => {
            let caught = v.action >= line.expected;
            if caught {
                t.hits += 1;
            }
            let cat: Option<Category> = line.category.parse().ok();
            if cat.is_some_and(|c| v.findings.iter().any(|f| f.category == c)) {
                t.right_category += 1;
            }
            caught
        }
        Kind::Benign => {
            let fp = v.action != Action::Allow;
            if fp {
                t.hits += 1;
            }
            !fp
        }
        Kind::Mild => {
            let fp = v.action > Category::Mild.action(level);
            if fp {
                t.hits += 1;
            }
            if v.shown != line.text {
                t.masked += 1;
            }
            !fp
        }
    }
}

struct Evaluated {
    by_category: BTreeMap<String, Tally>,
    by_language: BTreeMap<String, BTreeMap<&'static str, Tally>>,
    by_group: BTreeMap<&'static str, Tally>,
    failures: Vec<Value>,
    failures_by_category: BTreeMap<String, usize>,
}

fn evaluate(screen: &Screen, lines: &[Line], level: Level, list_failures: bool) -> Evaluated {
    let mut e = Evaluated {
        by_category: BTreeMap::new(),
        by_language: BTreeMap::new(),
        by_group: BTreeMap::new(),
        failures: Vec::new(),
        failures_by_category: BTreeMap::new(),
    };
    for line in lines {
        let v = screen.check(&ScreenInput {
            text: &line.text,
            language: &line.lang,
            level,
            names: &[],
        });
        let group = group_of(line);
        let ok = score(
            line,
            &v,
            level,
            e.by_category.entry(line.category.clone()).or_default(),
        );
        score(line, &v, level, e.by_group.entry(group).or_default());
        score(
            line,
            &v,
            level,
            e.by_language
                .entry(line.lang.clone())
                .or_default()
                .entry(group)
                .or_default(),
        );
        if !ok {
            *e.failures_by_category
                .entry(line.category.clone())
                .or_default() += 1;
            if list_failures {
                e.failures.push(json!({
                    "line": line.line,
                    "lang": line.lang,
                    "category": line.category,
                    "text": line.text,
                    "expected": line.expected.as_str(),
                    "got": v.action.as_str(),
                    "got_category": v.category.map(Category::as_str),
                    "shown": v.shown,
                }));
            }
        }
    }
    e
}

fn group_kind(group: &str) -> Kind {
    match group {
        "benign" => Kind::Benign,
        "mild" => Kind::Mild,
        _ => Kind::Risky,
    }
}

fn report_of(e: &Evaluated, list_failures: bool) -> Value {
    let by_category: serde_json::Map<String, Value> = e
        .by_category
        .iter()
        .map(|(c, t)| {
            let kind = if c == "mild" {
                Kind::Mild
            } else if c.starts_with("benign_") {
                Kind::Benign
            } else {
                Kind::Risky
            };
            (c.clone(), t.json(kind))
        })
        .collect();
    let groups = |m: &BTreeMap<&'static str, Tally>| -> Value {
        Value::Object(
            m.iter()
                .map(|(g, t)| (g.to_string(), t.json(group_kind(g))))
                .collect(),
        )
    };
    let by_language: serde_json::Map<String, Value> = e
        .by_language
        .iter()
        .map(|(l, m)| (l.clone(), groups(m)))
        .collect();
    let mut out = json!({
        "summary": groups(&e.by_group),
        "by_category": by_category,
        "by_language": by_language,
    });
    if list_failures {
        out["failures"] = json!(e.failures);
    } else {
        out["failures_by_category"] = json!(e.failures_by_category);
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The figures the targets are judged by, for one evaluation.
fn targets(e: &Evaluated) -> Value {
    let share = |g: &str| {
        e.by_group
            .get(g)
            .filter(|t| t.count > 0)
            .map(|t| t.hits as f64 / t.count as f64)
    };
    let check = |g: &str, ok: &dyn Fn(f64) -> bool| {
        share(g).map(|x| json!({"value": round(x), "met": ok(x)}))
    };
    json!({
        "personal_data_recall_at_least_0.95": check("personal_data", &|x| x >= 0.95),
        "harm_recall_at_least_0.95": check("harm", &|x| x >= 0.95),
        "disclosure_recall_1.0": check("disclosure", &|x| x >= 1.0),
        "benign_fpr_at_most_0.02": check("benign", &|x| x <= 0.02),
    })
}

pub fn run(args: SafetyBenchArgs) -> anyhow::Result<Value> {
    anyhow::ensure!(args.iterations > 0, "--iterations must be positive");
    let screen = match &args.prompts {
        Some(dir) => Screen::load(dir)?,
        None => Screen::built_in(),
    };
    let paths: Vec<PathBuf> = if args.corpus.is_empty() {
        corpora_in(Path::new(DEFAULT_CORPUS_DIR))?
    } else {
        args.corpus.clone()
    };
    let mut corpora = Vec::new();
    for p in &paths {
        corpora.push((p.clone(), read_corpus(p)?));
    }
    let mut files = Vec::new();
    let mut all_lines = Vec::new();
    for (path, lines) in &corpora {
        let list = !is_held_out(path);
        let e = evaluate(&screen, lines, args.level, list);
        let mut r = report_of(&e, list);
        r["file"] = json!(path.display().to_string());
        r["lines"] = json!(lines.len());
        r["targets"] = targets(&e);
        files.push(r);
        all_lines.extend(lines.iter().cloned());
    }
    let all = evaluate(&screen, &all_lines, args.level, false);
    let mut all_report = report_of(&all, false);
    all_report["lines"] = json!(all_lines.len());
    all_report["targets"] = targets(&all);

    // Timing: every line, `iterations` times.
    let mut micros = Vec::with_capacity(all_lines.len() * args.iterations);
    for _ in 0..args.iterations {
        for line in &all_lines {
            let input = ScreenInput {
                text: &line.text,
                language: &line.lang,
                level: args.level,
                names: &[],
            };
            let started = Instant::now();
            let v = screen.check(&input);
            micros.push(started.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(v);
        }
    }
    micros.sort_by(f64::total_cmp);
    let mean = micros.iter().sum::<f64>() / micros.len().max(1) as f64;
    let p99 = percentile(&micros, 99.0);
    Ok(json!({
        "level": args.level.as_str(),
        "rules": args.prompts.as_ref().map_or("built-in".to_string(), |p| p.display().to_string()),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "files": files,
        "all": all_report,
        "timing": {
            "messages": micros.len(),
            "iterations": args.iterations,
            "p50_us": round(percentile(&micros, 50.0)),
            "p99_us": round(p99),
            "max_us": round(micros.last().copied().unwrap_or(0.0)),
            "mean_us": round(mean),
            "p99_below_1ms": p99 < 1000.0,
        },
    }))
}

/// A few lines for a terminal.
pub fn summary(report: &Value) -> String {
    let mut out = String::new();
    let fmt = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.3}"));
    let mut section = |name: &str, r: &Value| {
        out.push_str(&format!("{name} ({} lines)\n", r["lines"]));
        let s = &r["summary"];
        for g in ["personal_data", "harm", "disclosure"] {
            out.push_str(&format!("  {g:<14} recall {}\n", fmt(&s[g]["recall"])));
        }
        out.push_str(&format!(
            "  benign         fpr    {}\n",
            fmt(&s["benign"]["fpr"])
        ));
        out.push_str(&format!(
            "  mild           fpr    {}\n",
            fmt(&s["mild"]["fpr"])
        ));
    };
    if let Some(files) = report["files"].as_array() {
        for f in files {
            section(f["file"].as_str().unwrap_or("?"), f);
        }
    }
    section("all", &report["all"]);
    let t = &report["timing"];
    out.push_str(&format!(
        "cost per message: p50 {} us, p99 {} us ({} build)\n",
        t["p50_us"],
        t["p99_us"],
        report["build"].as_str().unwrap_or("?")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_corpus_and_a_malformed_line() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("tuning.jsonl");
        std::fs::write(
            &good,
            [
                r#"{"text":"my email is mia.jones@gmail.com","lang":"en","expected":"redact","category":"email"}"#,
                r#"{"text":"I want to die","lang":"en","expected":"urgent","category":"disclosure"}"#,
                r#"{"text":"Sam is so dumb","lang":"en","expected":"hold","category":"insult"}"#,
                r#"{"text":"the sky is blue","lang":"en","expected":"allow","category":"benign_colour"}"#,
                r#"{"text":"damn that was close","lang":"en","expected":"allow","category":"mild"}"#,
                "",
            ]
            .join("\n"),
        )
        .unwrap();
        let held = dir.path().join("held-out.jsonl");
        std::fs::write(
            &held,
            r#"{"text":"you are all lovely","lang":"en","expected":"hold","category":"insult"}"#,
        )
        .unwrap();
        let args = |corpus: Vec<PathBuf>| SafetyBenchArgs {
            corpus,
            level: Level::Standard,
            iterations: 2,
            prompts: None,
            json: true,
        };
        let r = run(args(vec![good.clone(), held.clone()])).unwrap();
        let tuning = &r["files"][0];
        assert_eq!(tuning["lines"], 5);
        assert_eq!(tuning["summary"]["personal_data"]["recall"], 1.0);
        assert_eq!(tuning["summary"]["disclosure"]["recall"], 1.0);
        assert_eq!(tuning["summary"]["harm"]["recall"], 1.0);
        assert_eq!(tuning["summary"]["benign"]["fpr"], 0.0);
        assert_eq!(tuning["summary"]["mild"]["fpr"], 0.0);
        assert_eq!(tuning["summary"]["mild"]["masked"], 1.0);
        assert_eq!(tuning["failures"].as_array().unwrap().len(), 0);
        // The held-out miss is counted, not shown.
        let held_out = &r["files"][1];
        assert_eq!(held_out["failures_by_category"]["insult"], 1);
        assert!(held_out.get("failures").is_none());
        assert!(!r.to_string().contains("you are all lovely"));
        assert_eq!(r["all"]["lines"], 6);
        assert_eq!(r["timing"]["messages"], 12);
        assert!(summary(&r).contains("disclosure"));

        let bad = dir.path().join("bad.jsonl");
        std::fs::write(
            &bad,
            "{\"text\":\"hi\",\"lang\":\"en\",\"expected\":\"allow\",\"category\":\"benign_x\"}\n{\"text\": \"oops\"\n",
        )
        .unwrap();
        let err = run(args(vec![bad.clone()])).unwrap_err();
        let e = err.downcast_ref::<CorpusError>().expect("a corpus error");
        assert_eq!(e.line, 2);
        assert!(err
            .to_string()
            .starts_with(&format!("{}:2: ", bad.display())));
        std::fs::write(
            &bad,
            "{\"text\":\"hi\",\"lang\":\"en\",\"expected\":\"maybe\",\"category\":\"benign_x\"}\n",
        )
        .unwrap();
        let err = run(args(vec![bad])).unwrap_err();
        assert!(err.to_string().contains(":1: unknown Action"), "{err}");
    }

    #[test]
    fn the_default_is_every_corpus_file_tuning_first() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "tuning.jsonl",
            "held-out.jsonl",
            "held-out-2.jsonl",
            "extra.jsonl",
            "notes.md",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<String> = corpora_in(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "extra.jsonl",
                "tuning.jsonl",
                "held-out-2.jsonl",
                "held-out.jsonl"
            ]
        );
        let err = corpora_in(&dir.path().join("none"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no corpus"), "{err}");
    }
}
