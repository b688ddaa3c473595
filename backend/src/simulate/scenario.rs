//! Scenario files (`prompts/scenarios/*.toml`, documented in docs/scenarios.md): the
//! activity, the agent's role, scripted children and a timeline of their messages. A bad file
//! is refused naming its path, line and field.

use std::path::Path;

use serde::Deserialize;

use crate::activity::Catalog;
use crate::agent::prompt::parse_agent_role;
use crate::agent::PolicyConfig;
use crate::store::AgentRole;

#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {field}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub activity: String,
    pub agent_role: AgentRole,
    pub agent_name: String,
    pub language: String,
    /// How long the session runs, real seconds.
    pub duration_s: f64,
    /// The timeline runs this many times faster (timers and latency stay real).
    pub speedup: f64,
    /// Real seconds in one activity minute (the phase timers).
    pub minute_s: f64,
    pub directive_window_s: f64,
    /// Real seconds the children wait in the lobby before the facilitator presses Start (as in
    /// a classroom, where the join prefill warms the agent's prompt meanwhile); 0 plays a
    /// session that was already running when the first child joined.
    pub lobby_s: f64,
    pub policy: PolicyConfig,
    pub children: Vec<ChildScript>,
    pub timeline: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildScript {
    pub nickname: String,
    /// A label for the reader (normal, quiet, dominant, off_topic, addresses_agent,
    /// ignores_agent); what the child does is the timeline and `answers_when_named`.
    #[serde(default = "normal")]
    pub behaviour: String,
    /// When the agent names this child, they answer this (after `answer_delay_s`).
    #[serde(default)]
    pub answers_when_named: Option<String>,
    #[serde(default = "default_delay")]
    pub answer_delay_s: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// Seconds from the start (timeline time: divided by `speedup`).
    pub at: f64,
    pub child: String,
    pub text: String,
}

/// A busy chat without hundreds of `[[timeline]]` entries: from `from` to `until` (timeline
/// seconds) one message every `every_s`, the children taking turns (in a stride that visits
/// each of them) and the lines in order, round and round. Deterministic, so runs compare.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chatter {
    pub from: f64,
    pub until: f64,
    pub every_s: f64,
    /// Who chatters (nicknames from `[[children]]`); every child when empty.
    #[serde(default)]
    pub children: Vec<String>,
    pub lines: Vec<String>,
}

/// More chatter than this is a mistake in the file, not a classroom (ten children writing
/// flat out for an hour are fewer).
const MAX_CHATTER_LINES: usize = 20_000;

impl Chatter {
    /// The timeline lines this chatter stands for.
    fn lines(&self, everyone: &[ChildScript]) -> Vec<Line> {
        let who: Vec<&str> = if self.children.is_empty() {
            everyone.iter().map(|c| c.nickname.as_str()).collect()
        } else {
            self.children.iter().map(String::as_str).collect()
        };
        // A stride coprime with the number of children visits every child in turn, while
        // consecutive messages still come from different children.
        let n = who.len();
        let stride = (1..=n)
            .rev()
            .find(|s| n == 1 || (*s < n && gcd(*s, n) == 1))
            .unwrap_or(1);
        let mut out = Vec::new();
        let mut k = 0usize;
        loop {
            let at = self.from + k as f64 * self.every_s;
            if at >= self.until || out.len() >= MAX_CHATTER_LINES {
                break;
            }
            out.push(Line {
                at,
                child: who[(k * stride) % n].to_string(),
                text: self.lines[k % self.lines.len()].clone(),
            });
            k += 1;
        }
        out
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn normal() -> String {
    "normal".into()
}

fn default_delay() -> f64 {
    3.0
}

const BEHAVIOURS: &[&str] = &[
    "normal",
    "quiet",
    "dominant",
    "off_topic",
    "addresses_agent",
    "ignores_agent",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    activity: String,
    agent_role: String,
    #[serde(default = "blue")]
    agent_name: String,
    #[serde(default = "en")]
    language: String,
    duration_s: f64,
    #[serde(default = "one")]
    speedup: f64,
    #[serde(default = "sixty")]
    minute_s: f64,
    #[serde(default = "sixty")]
    directive_window_s: f64,
    #[serde(default = "five")]
    lobby_s: f64,
    #[serde(default)]
    policy: PolicyConfig,
    children: Vec<ChildScript>,
    #[serde(default)]
    timeline: Vec<Line>,
    #[serde(default)]
    chatter: Option<Chatter>,
}

fn blue() -> String {
    "Blue".into()
}
fn en() -> String {
    "en".into()
}
fn five() -> f64 {
    5.0
}
fn one() -> f64 {
    1.0
}
fn sixty() -> f64 {
    60.0
}

/// Reads and checks a scenario file against the known activities.
pub fn load(path: &Path, catalog: &Catalog) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: None,
        field: "(file)".into(),
        reason: format!("cannot be read: {e}"),
    })?;
    let name = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    parse(&name, &text, &file, catalog)
}

pub fn parse(
    name: &str,
    text: &str,
    file: &str,
    catalog: &Catalog,
) -> Result<Scenario, ScenarioError> {
    let err = |line: Option<usize>, field: &str, reason: String| ScenarioError {
        file: file.to_string(),
        line,
        field: field.to_string(),
        reason,
    };
    let key_line = |key: &str, nth: usize| {
        text.lines()
            .enumerate()
            .filter(|(_, l)| {
                l.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|r| r.trim_start().starts_with('='))
            })
            .nth(nth)
            .map(|(i, _)| i + 1)
    };
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let message = e.message().trim().to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains('`'))
            .unwrap_or("(file)")
            .to_string();
        err(line, &field, message)
    })?;
    if catalog.get(&raw.activity).is_none() {
        return Err(err(
            key_line("activity", 0),
            "activity",
            format!(
                "unknown activity {:?}; known: {}",
                raw.activity,
                catalog.ids().join(", ")
            ),
        ));
    }
    let agent_role = match raw.agent_role.trim() {
        "none" => AgentRole::None,
        other => parse_agent_role(other)
            .map_err(|e| err(key_line("agent_role", 0), "agent_role", e.to_string()))?,
    };
    for (field, v) in [
        ("duration_s", raw.duration_s),
        ("speedup", raw.speedup),
        ("minute_s", raw.minute_s),
        ("directive_window_s", raw.directive_window_s),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(err(
                key_line(field, 0),
                field,
                format!("is {v}; expected a number above 0"),
            ));
        }
    }
    if !(raw.lobby_s.is_finite() && (0.0..=600.0).contains(&raw.lobby_s)) {
        return Err(err(
            key_line("lobby_s", 0),
            "lobby_s",
            format!("is {}; expected seconds from 0 to 600", raw.lobby_s),
        ));
    }
    if raw.children.is_empty() {
        return Err(err(
            None,
            "children",
            "a scenario needs at least one [[children]] entry".into(),
        ));
    }
    for (i, c) in raw.children.iter().enumerate() {
        if c.nickname.trim().is_empty() {
            return Err(err(
                key_line("nickname", i),
                &format!("children[{i}].nickname"),
                "must not be empty".into(),
            ));
        }
        if !BEHAVIOURS.contains(&c.behaviour.as_str()) {
            return Err(err(
                key_line("behaviour", i),
                &format!("children[{i}].behaviour"),
                format!(
                    "unknown behaviour {:?}; expected one of: {}",
                    c.behaviour,
                    BEHAVIOURS.join(", ")
                ),
            ));
        }
    }
    for (i, l) in raw.timeline.iter().enumerate() {
        if !(l.at.is_finite() && l.at >= 0.0) {
            return Err(err(
                key_line("at", i),
                &format!("timeline[{i}].at"),
                format!("is {}; expected seconds from 0", l.at),
            ));
        }
        if !raw.children.iter().any(|c| c.nickname == l.child) {
            return Err(err(
                key_line("child", i),
                &format!("timeline[{i}].child"),
                format!("no child is called {:?}", l.child),
            ));
        }
        if l.text.trim().is_empty() {
            return Err(err(
                key_line("text", i),
                &format!("timeline[{i}].text"),
                "must not be empty".into(),
            ));
        }
    }
    let mut timeline = raw.timeline;
    if let Some(chatter) = &raw.chatter {
        check_chatter(chatter, &raw.children)
            .map_err(|(key, reason)| err(key_line(key, 0), &format!("chatter.{key}"), reason))?;
        timeline.extend(chatter.lines(&raw.children));
    }
    timeline.sort_by(|a, b| a.at.total_cmp(&b.at));
    Ok(Scenario {
        name: name.to_string(),
        activity: raw.activity,
        agent_role,
        agent_name: raw.agent_name,
        language: raw.language,
        duration_s: raw.duration_s,
        speedup: raw.speedup,
        minute_s: raw.minute_s,
        directive_window_s: raw.directive_window_s,
        lobby_s: raw.lobby_s,
        policy: raw.policy,
        children: raw.children,
        timeline,
    })
}

/// What is wrong with a `[chatter]` table: the key and why.
fn check_chatter(c: &Chatter, children: &[ChildScript]) -> Result<(), (&'static str, String)> {
    if !(c.from.is_finite() && c.from >= 0.0) {
        return Err(("from", format!("is {}; expected seconds from 0", c.from)));
    }
    if !(c.until.is_finite() && c.until > c.from) {
        return Err((
            "until",
            format!("is {}; expected seconds after `from` ({})", c.until, c.from),
        ));
    }
    if !(c.every_s.is_finite() && c.every_s > 0.0) {
        return Err((
            "every_s",
            format!("is {}; expected a number above 0", c.every_s),
        ));
    }
    let count = ((c.until - c.from) / c.every_s).ceil();
    if count > MAX_CHATTER_LINES as f64 {
        return Err((
            "every_s",
            format!("makes {count} messages; at most {MAX_CHATTER_LINES} are allowed"),
        ));
    }
    if c.lines.is_empty() || c.lines.iter().any(|l| l.trim().is_empty()) {
        return Err(("lines", "needs at least one line, and no empty ones".into()));
    }
    if let Some(unknown) = c
        .children
        .iter()
        .find(|n| !children.iter().any(|c| &c.nickname == *n))
    {
        return Err(("children", format!("no child is called {unknown:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "activity = \"playground\"\nagent_role = \"moderator\"\nduration_s = 10\n\n[[children]]\nnickname = \"Mia\"\n\n[[timeline]]\nat = 1\nchild = \"Mia\"\ntext = \"hi\"\n";

    fn p(text: &str) -> Result<Scenario, ScenarioError> {
        parse("t", text, "t.toml", &Catalog::built_in())
    }

    #[test]
    fn a_good_scenario_parses_with_defaults() {
        let s = p(GOOD).unwrap();
        assert_eq!(s.agent_role, AgentRole::Moderator);
        assert_eq!(s.agent_name, "Blue");
        assert_eq!(s.speedup, 1.0);
        assert_eq!(s.lobby_s, 5.0, "the children join before Start");
        assert_eq!(s.policy, PolicyConfig::default());
        let s = p(&GOOD.replace("duration_s = 10", "duration_s = 10\nlobby_s = 0")).unwrap();
        assert_eq!(s.lobby_s, 0.0, "a session already running when they join");
    }

    #[test]
    fn bad_scenarios_name_line_and_field() {
        let e = p(&GOOD.replace("\"moderator\"", "\"teacher\"")).unwrap_err();
        assert_eq!((e.field.as_str(), e.line), ("agent_role", Some(2)));
        assert!(e.reason.contains("unknown role"), "{e}");
        let e = p(&GOOD.replace("child = \"Mia\"", "child = \"Max\"")).unwrap_err();
        assert_eq!((e.field.as_str(), e.line), ("timeline[0].child", Some(10)));
        let e = p(&GOOD.replace("duration_s = 10", "duration_s = -1")).unwrap_err();
        assert_eq!((e.field.as_str(), e.line), ("duration_s", Some(3)));
        for bad in ["-1", "601", "nan"] {
            let e = p(&GOOD.replace(
                "duration_s = 10",
                &format!("duration_s = 10\nlobby_s = {bad}"),
            ))
            .unwrap_err();
            assert_eq!((e.field.as_str(), e.line), ("lobby_s", Some(4)), "{e}");
        }
        let e = p(&GOOD.replace("\"playground\"", "\"moon\"")).unwrap_err();
        assert_eq!(e.field, "activity");
        let e = p(&GOOD.replace("nickname =", "nick =")).unwrap_err();
        assert!(e.field.contains("nick"), "{e}");
        assert_eq!(e.line, Some(6), "{e}");
        let e = p(&GOOD
            .replace("[policy]", "")
            .replace("duration_s = 10", "duration_s = 10\n[policy]\nsilence = 3"))
        .unwrap_err();
        assert!(e.to_string().starts_with("t.toml:5"), "{e}");
    }

    #[test]
    fn every_shipped_scenario_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../prompts");
        let catalog = Catalog::load(&root).unwrap();
        let mut loaded = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(root.join("scenarios")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let s = load(&path, &catalog).unwrap_or_else(|e| panic!("{e}"));
                loaded.insert(s.name.clone(), s);
            }
        }
        assert!(loaded.len() >= 9, "{:?}", loaded.keys());
        assert_eq!(loaded["spanish"].language, "es");
        let busy = &loaded["busy-group"];
        assert_eq!(busy.children.len(), 10);
        // About 3.5 messages a second over the whole activity at 6 s a minute.
        let chatter = busy.timeline.len() as f64 / (28.0 * busy.minute_s);
        assert!((3.3..3.8).contains(&chatter), "{chatter} messages a second");
    }

    const CHATTY: &str = "activity = \"playground\"\nagent_role = \"moderator\"\nduration_s = 10\n\n[[children]]\nnickname = \"Mia\"\n[[children]]\nnickname = \"Leo\"\n[[children]]\nnickname = \"Sam\"\n[[children]]\nnickname = \"Ana\"\n\n[[timeline]]\nat = 1\nchild = \"Mia\"\ntext = \"hi\"\n\n[chatter]\nfrom = 2\nuntil = 4\nevery_s = 0.25\nlines = [\"a swing\", \"a slide\", \"a ramp\"]\n";

    #[test]
    fn chatter_becomes_timeline_lines_in_turn() {
        let s = p(CHATTY).unwrap();
        // One scripted line and 8 of chatter (2.0, 2.25 ... 3.75), sorted by time.
        assert_eq!(s.timeline.len(), 9);
        assert_eq!(s.timeline[0].text, "hi");
        let chatter = &s.timeline[1..];
        assert_eq!(chatter[0].at, 2.0);
        assert_eq!(chatter[7].at, 3.75);
        let texts: Vec<&str> = chatter.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(&texts[..4], ["a swing", "a slide", "a ramp", "a swing"]);
        // Every child speaks twice in 8 lines, and never twice in a row.
        for name in ["Mia", "Leo", "Sam", "Ana"] {
            assert_eq!(
                chatter.iter().filter(|l| l.child == name).count(),
                2,
                "{name}"
            );
        }
        assert!(chatter.windows(2).all(|w| w[0].child != w[1].child));
        // Only the children named chatter when some are.
        let s = p(&CHATTY.replace("lines =", "children = [\"Leo\"]\nlines =")).unwrap();
        assert!(s.timeline[1..].iter().all(|l| l.child == "Leo"));
    }

    #[test]
    fn bad_chatter_is_refused_naming_the_key() {
        for (from, to, field, says) in [
            ("until = 4", "until = 1", "chatter.until", "after `from`"),
            (
                "every_s = 0.25",
                "every_s = 0",
                "chatter.every_s",
                "above 0",
            ),
            (
                "every_s = 0.25",
                "every_s = 0.00001",
                "chatter.every_s",
                "at most",
            ),
            ("from = 2", "from = -3", "chatter.from", "from 0"),
            (
                "lines = [\"a swing\", \"a slide\", \"a ramp\"]",
                "lines = []",
                "chatter.lines",
                "at least one",
            ),
            (
                "lines = [\"a swing\",",
                "lines = [\" \",",
                "chatter.lines",
                "no empty",
            ),
            (
                "lines =",
                "children = [\"Max\"]\nlines =",
                "chatter.children",
                "\"Max\"",
            ),
        ] {
            let e = p(&CHATTY.replace(from, to)).unwrap_err();
            assert_eq!(e.field, field, "{to}: {e}");
            assert!(e.reason.contains(says), "{to}: {e}");
            assert!(e.line.is_some(), "{to}: {e}");
        }
        let e = p(&CHATTY.replace("every_s = 0.25", "every_s = 0.25\nrate = 3")).unwrap_err();
        assert!(e.to_string().contains("rate"), "{e}");
    }
}
