//! Activities: the design problems groups solve, each a sequence of timed phases.
//!
//! Activities are data (`prompts/activities/<id>.toml`), read at run time so researchers can
//! write their own without rebuilding; the binary carries the shipped ones so it runs from any
//! working directory. A malformed file is refused at load with its path, line and field.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data_files::{files_in, line_of};

/// The activities shipped inside the binary, used when the prompts folder has none.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "playground",
        include_str!("../../prompts/activities/playground.toml"),
    ),
    (
        "robot-helper",
        include_str!("../../prompts/activities/robot-helper.toml"),
    ),
    (
        "lunch-waste",
        include_str!("../../prompts/activities/lunch-waste.toml"),
    ),
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    /// The file name without `.toml`; what `session create --activity` takes.
    pub id: String,
    pub title: String,
    /// The problem told in children's words.
    pub problem: String,
    pub age_min: u8,
    pub age_max: u8,
    pub phases: Vec<Phase>,
    /// Ideas the participant agent can offer when its model has none ("What if ...?"),
    /// optional.
    pub sparks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub name: String,
    pub goal: String,
    pub minutes: u32,
    /// What the moderator should achieve in this phase.
    pub moderator: String,
}

impl Activity {
    pub fn total_minutes(&self) -> u32 {
        self.phases.iter().map(|p| p.minutes).sum()
    }
}

/// Why an activity file was refused.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {field}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ActivityError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActivity {
    title: String,
    problem: String,
    age_min: i64,
    age_max: i64,
    #[serde(default)]
    phases: Vec<RawPhase>,
    #[serde(default)]
    sparks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    name: String,
    goal: String,
    minutes: i64,
    moderator: String,
}

/// Parses and validates one activity. `file` is only used in error messages.
pub fn parse(id: &str, text: &str, file: &str) -> Result<Activity, ActivityError> {
    let err = |line: Option<usize>, field: &str, reason: String| ActivityError {
        file: file.to_string(),
        line,
        field: field.to_string(),
        reason,
    };
    let raw: RawActivity = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        let message = e.message().trim().to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains('`'))
            .unwrap_or("(file)")
            .to_string();
        err(line, &field, message)
    })?;
    let line_of_key = |key: &str, nth: usize| find_key_line(text, key, nth);
    if raw.title.trim().is_empty() {
        return Err(err(
            line_of_key("title", 0),
            "title",
            "must not be empty".into(),
        ));
    }
    if raw.problem.trim().is_empty() {
        return Err(err(
            line_of_key("problem", 0),
            "problem",
            "must not be empty".into(),
        ));
    }
    for (key, age) in [("age_min", raw.age_min), ("age_max", raw.age_max)] {
        if !(4..=18).contains(&age) {
            return Err(err(
                line_of_key(key, 0),
                key,
                format!("is {age}; expected an age from 4 to 18"),
            ));
        }
    }
    if raw.age_min > raw.age_max {
        return Err(err(
            line_of_key("age_max", 0),
            "age_max",
            "is below age_min".into(),
        ));
    }
    if raw.phases.is_empty() {
        return Err(err(
            None,
            "phases",
            "an activity needs at least one [[phases]] entry".into(),
        ));
    }
    let mut phases = Vec::with_capacity(raw.phases.len());
    for (i, p) in raw.phases.into_iter().enumerate() {
        let field = |name: &str| format!("phases[{i}].{name}");
        if p.name.trim().is_empty() {
            return Err(err(
                line_of_key("name", i),
                &field("name"),
                "must not be empty".into(),
            ));
        }
        if p.minutes <= 0 || p.minutes > 240 {
            return Err(err(
                line_of_key("minutes", i),
                &field("minutes"),
                format!(
                    "is {}; expected a whole number of minutes from 1 to 240",
                    p.minutes
                ),
            ));
        }
        phases.push(Phase {
            name: p.name.trim().to_string(),
            goal: p.goal.trim().to_string(),
            minutes: p.minutes as u32,
            moderator: p.moderator.trim().to_string(),
        });
    }
    let mut sparks = Vec::with_capacity(raw.sparks.len());
    for (i, spark) in raw.sparks.iter().enumerate() {
        let spark = spark.trim().trim_end_matches('?').trim();
        if spark.is_empty() || spark.chars().count() > 200 {
            return Err(err(
                line_of_key("sparks", 0),
                &format!("sparks[{i}]"),
                "an idea must have 1 to 200 characters".into(),
            ));
        }
        sparks.push(spark.to_string());
    }
    Ok(Activity {
        id: id.to_string(),
        title: raw.title.trim().to_string(),
        problem: raw.problem.trim().to_string(),
        age_min: raw.age_min as u8,
        age_max: raw.age_max as u8,
        phases,
        sparks,
    })
}

/// All known activities: the shipped ones, overridden or extended by `dir/activities/*.toml`.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    activities: BTreeMap<String, Activity>,
}

impl Catalog {
    pub fn built_in() -> Catalog {
        let mut catalog = Catalog::default();
        for (id, text) in BUILT_IN {
            let activity = parse(id, text, &format!("(built-in) activities/{id}.toml"))
                .expect("shipped activities are valid");
            catalog.activities.insert(id.to_string(), activity);
        }
        catalog
    }

    /// The built-in activities plus every `*.toml` under `prompts_dir/activities` (a file with
    /// a built-in's name replaces it). A missing folder is fine; a bad file is an error.
    pub fn load(prompts_dir: &Path) -> Result<Catalog, ActivityError> {
        let mut catalog = Catalog::built_in();
        for path in files_in(&prompts_dir.join("activities"), "toml") {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| ActivityError {
                file: shown.clone(),
                line: None,
                field: "(file)".into(),
                reason: format!("cannot be read: {e}"),
            })?;
            let id = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let activity = parse(&id, &text, &shown)?;
            catalog.activities.insert(id, activity);
        }
        Ok(catalog)
    }

    pub fn get(&self, id: &str) -> Option<&Activity> {
        self.activities.get(id)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.activities.keys().map(String::as_str).collect()
    }

    pub fn all(&self) -> impl Iterator<Item = &Activity> {
        self.activities.values()
    }
}

/// The line of the `nth` occurrence of `key =` at the start of a line (1-based), to point an
/// error at the value that caused it.
fn find_key_line(text: &str, key: &str, nth: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .nth(nth)
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "title = \"T\"\nproblem = \"P\"\nage_min = 8\nage_max = 12\n\n[[phases]]\nname = \"A\"\nminutes = 3\ngoal = \"g\"\nmoderator = \"m\"\n";

    #[test]
    fn shipped_activities_load() {
        let catalog = Catalog::built_in();
        assert_eq!(
            catalog.ids(),
            vec!["lunch-waste", "playground", "robot-helper"]
        );
        let playground = catalog.get("playground").unwrap();
        assert_eq!(playground.phases.len(), 5);
        assert_eq!(playground.total_minutes(), 28);
    }

    #[test]
    fn an_activity_without_phases_is_refused() {
        let text = "title = \"T\"\nproblem = \"P\"\nage_min = 8\nage_max = 12\n";
        let e = parse("x", text, "x.toml").unwrap_err();
        assert_eq!(e.field, "phases");
    }

    #[test]
    fn a_negative_duration_is_refused_with_its_line() {
        let text = GOOD.replace("minutes = 3", "minutes = -2");
        let e = parse("x", &text, "x.toml").unwrap_err();
        assert_eq!(e.field, "phases[0].minutes");
        assert_eq!(e.line, Some(8));
        assert!(
            e.to_string().starts_with("x.toml:8: phases[0].minutes"),
            "{e}"
        );
    }

    #[test]
    fn unknown_and_mistyped_fields_name_line_and_field() {
        let e = parse("x", &GOOD.replace("goal =", "gaol ="), "x.toml").unwrap_err();
        assert!(e.field.contains("gaol"), "{e}");
        assert!(e.line.is_some(), "{e}");
        let e = parse(
            "x",
            &GOOD.replace("age_min = 8", "age_min = \"eight\""),
            "x.toml",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = parse("x", "title = ", "x.toml").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
    }

    #[test]
    fn sparks_are_optional_trimmed_and_checked() {
        assert!(parse("x", GOOD, "x.toml").unwrap().sparks.is_empty());
        let with = format!("sparks = [\"we add a ramp? \", \"the slide is wide\"]\n{GOOD}");
        let a = parse("x", &with, "x.toml").unwrap();
        assert_eq!(a.sparks, ["we add a ramp", "the slide is wide"]);
        let bad = format!("sparks = [\"ok\", \"  \"]\n{GOOD}");
        let e = parse("x", &bad, "x.toml").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (Some(1), "sparks[1]"), "{e}");
        let e = parse("x", &format!("sparks = \"one\"\n{GOOD}"), "x.toml").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
    }

    #[test]
    fn a_folder_overrides_and_extends_the_built_ins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("activities")).unwrap();
        std::fs::write(dir.path().join("activities/mine.toml"), GOOD).unwrap();
        let catalog = Catalog::load(dir.path()).unwrap();
        assert!(catalog.get("mine").is_some());
        assert!(catalog.get("playground").is_some());
        std::fs::write(dir.path().join("activities/broken.toml"), "title = 3").unwrap();
        let e = Catalog::load(dir.path()).unwrap_err();
        assert!(e.file.ends_with("broken.toml"), "{e}");
    }
}
