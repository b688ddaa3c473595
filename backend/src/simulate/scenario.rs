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
    #[serde(default)]
    policy: PolicyConfig,
    children: Vec<ChildScript>,
    #[serde(default)]
    timeline: Vec<Line>,
}

fn blue() -> String {
    "Blue".into()
}
fn en() -> String {
    "en".into()
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
        policy: raw.policy,
        children: raw.children,
        timeline,
    })
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
        assert_eq!(s.policy, PolicyConfig::default());
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
}
