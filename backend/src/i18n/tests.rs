//! The catalogues against each other and against the sources that use them.

use std::collections::BTreeSet;
use std::path::Path;

use fluent_bundle::FluentValue;
use regex::Regex;

use super::*;

/// Every message's key in `lang`'s catalogue.
fn keys(lang: Lang) -> BTreeSet<String> {
    resource(lang)
        .entries()
        .filter_map(|e| match e {
            ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}

/// Every variable a message uses (its arguments), found in its patterns.
fn variables(pattern: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_variables(expression, out);
        }
    }
}

fn expression_variables(expression: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match expression {
        ast::Expression::Inline(inline) => inline_variables(inline, out),
        ast::Expression::Select { selector, variants } => {
            inline_variables(selector, out);
            for v in variants {
                variables(&v.value, out);
            }
        }
    }
}

fn inline_variables(inline: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_string());
        }
        ast::InlineExpression::Placeable { expression } => expression_variables(expression, out),
        _ => {}
    }
}

fn message_variables(lang: Lang, key: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in resource(lang).entries() {
        if let ast::Entry::Message(m) = entry {
            if m.id.name == key {
                if let Some(value) = &m.value {
                    variables(value, &mut out);
                }
            }
        }
    }
    out
}

/// A sample value for an argument: a number for counts, text for the rest.
fn sample(name: &str, n: i64) -> FluentValue<'static> {
    let numeric = [
        "count", "max", "minutes", "seconds", "index", "id", "days", "messages", "children",
        "codings", "consents", "words", "created", "updated", "online", "total",
    ];
    if numeric.contains(&name) {
        FluentValue::from(n)
    } else {
        FluentValue::from(format!("«{name}»"))
    }
}

#[test]
fn every_catalogue_parses_and_has_exactly_the_keys_of_english() {
    for (lang, text) in CATALOGUES {
        if let Err((_, errors)) = FluentResource::try_new(text.to_string()) {
            panic!("{}.ftl does not parse: {errors:?}", lang.code());
        }
    }
    let en = keys(Lang::En);
    assert!(en.len() > 200, "{}", en.len());
    for lang in Lang::ALL {
        let these = keys(lang);
        let missing: Vec<_> = en.difference(&these).collect();
        let extra: Vec<_> = these.difference(&en).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}.ftl: missing {missing:?}, not in en.ftl {extra:?}",
            lang.code()
        );
    }
}

#[test]
fn every_message_uses_the_arguments_of_english_and_formats_without_errors() {
    for lang in Lang::ALL {
        for key in keys(Lang::En) {
            let vars = message_variables(Lang::En, &key);
            let theirs = message_variables(lang, &key);
            // A translation may leave a count out where its words say it ("one minute"),
            // but never use an argument the code does not give.
            assert!(
                theirs.is_subset(&vars),
                "{}: {key} uses {theirs:?}, English gives {vars:?}",
                lang.code()
            );
            for n in [0, 1, 2, 5, 21] {
                let mut args = fluent_bundle::FluentArgs::new();
                for v in &vars {
                    args.set(v.as_str(), sample(v, n));
                }
                let bundle = bundle(lang);
                let pattern = bundle
                    .get_message(&key)
                    .and_then(|m| m.value())
                    .unwrap_or_else(|| panic!("{}: {key} has no value", lang.code()));
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
                assert!(errors.is_empty(), "{}: {key}: {errors:?}", lang.code());
                assert!(!text.trim().is_empty(), "{}: {key} is empty", lang.code());
                for v in &vars {
                    assert!(
                        !text.contains(&format!("{{${v}}}")),
                        "{}: {key} shows ${v} unformatted",
                        lang.code()
                    );
                }
            }
        }
    }
}

/// The sources' keys: `lang.t("key")`, `t1("key"`, `rich("key"`... in Rust and the
/// templates, `t('key'` in the scripts. A key the sources use but English lacks fails here.
#[test]
fn every_key_the_sources_use_is_in_english() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rust_or_template =
        Regex::new(r#"\.(?:t|t1|t2|t_args|rich|rich_args)\(\s*"([a-z0-9-]+)""#).unwrap();
    let js = Regex::new(r#"\bt\(\s*'([a-z0-9-]+)'"#).unwrap();
    let catalogue_prefix = Regex::new(r#"js_catalogue\("([a-z0-9-]+)"\)"#).unwrap();
    let en = keys(Lang::En);
    let mut used = BTreeSet::new();
    let mut files = Vec::new();
    for dir in ["backend/src", "frontend/templates", "frontend/static"] {
        collect(&root.join(dir), &mut files);
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let is_js = file.extension().is_some_and(|e| e == "js");
        let pattern = if is_js { &js } else { &rust_or_template };
        for c in pattern.captures_iter(&text) {
            used.insert((c[1].to_string(), file.display().to_string()));
        }
        for c in catalogue_prefix.captures_iter(&text) {
            assert!(
                en.iter().any(|k| k.starts_with(&c[1])),
                "{}: no message starts with {}",
                file.display(),
                &c[1]
            );
        }
    }
    assert!(used.len() > 150, "the key scan found only {}", used.len());
    let missing: Vec<_> = used.iter().filter(|(k, _)| !en.contains(k)).collect();
    assert!(missing.is_empty(), "keys not in en.ftl: {missing:?}");
    // The scripts only read their page's catalogue: a script's key has its page's prefix.
    for (key, file) in &used {
        if file.ends_with(".js") {
            assert!(
                key.starts_with("js-"),
                "{file}: {key} is not sent to scripts"
            );
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "rs" || e == "html" || e == "js")
            // This file names keys in its own examples.
            && !path.ends_with("i18n/tests.rs")
        {
            out.push(path);
        }
    }
}

#[test]
fn plurals_follow_each_language() {
    let bar = |lang: Lang, n: i64| {
        lang.t_args(
            "js-dash-child-bar",
            &[
                ("name", "Mia".into()),
                ("messages", n.into()),
                ("words", 2.into()),
            ],
        )
    };
    assert_eq!(bar(Lang::En, 1), "Mia: 1 message, 2 words");
    assert_eq!(bar(Lang::En, 2), "Mia: 2 messages, 2 words");
    assert_eq!(bar(Lang::En, 0), "Mia: 0 messages, 2 words");
    assert_eq!(bar(Lang::De, 1), "Mia: 1 Nachricht, 2 Wörter");
    assert_eq!(bar(Lang::De, 2), "Mia: 2 Nachrichten, 2 Wörter");
    // French: 0 and 1 are singular.
    assert_eq!(bar(Lang::Fr, 0), "Mia : 0 message, 2 mots");
    assert_eq!(bar(Lang::Fr, 1), "Mia : 1 message, 2 mots");
    assert_eq!(bar(Lang::Fr, 2), "Mia : 2 messages, 2 mots");
    assert_eq!(bar(Lang::Es, 1), "Mia: 1 mensaje, 2 palabras");
    assert_eq!(bar(Lang::Es, 0), "Mia: 0 mensajes, 2 palabras");
    let wait = |lang: Lang, s: u64| child_text_send_again(lang, s);
    assert!(
        wait(Lang::De, 1).contains("einer Sekunde"),
        "{}",
        wait(Lang::De, 1)
    );
    assert!(
        wait(Lang::De, 5).contains("5 Sekunden"),
        "{}",
        wait(Lang::De, 5)
    );
}

#[test]
fn waits_are_whole_minutes_rounded_up() {
    use std::time::Duration;
    let tries = |secs| crate::child_text::too_many_tries(Lang::En, Duration::from_secs(secs));
    assert!(tries(61).contains("wait 2 minutes"), "{}", tries(61));
    assert!(tries(1).contains("wait 1 minute "), "{}", tries(1));
    assert_eq!(crate::child_text::minutes(Duration::from_secs(0)), 1);
    assert!(
        crate::child_text::too_many_tries(Lang::Fr, Duration::from_secs(30))
            .contains("Attends une minute"),
    );
}

fn child_text_send_again(lang: Lang, seconds: u64) -> String {
    crate::child_text::send_again_in(lang, seconds)
}

#[test]
fn languages_are_chosen_from_the_session_the_cookie_and_the_browser() {
    use axum::http::HeaderValue;
    assert_eq!(Lang::of_session("de"), Lang::De);
    assert_eq!(
        Lang::of_session("it"),
        Lang::En,
        "untranslated: English pages"
    );
    assert_eq!(Lang::from_tag("fr-CH"), Some(Lang::Fr));
    let mut h = HeaderMap::new();
    assert_eq!(Lang::of_dashboard(&h), Lang::En);
    h.insert(
        header::ACCEPT_LANGUAGE,
        HeaderValue::from_static("it-IT,it;q=0.9,es;q=0.8,de;q=0.7"),
    );
    assert_eq!(Lang::from_accept_language(&h), Some(Lang::Es));
    h.insert(
        header::ACCEPT_LANGUAGE,
        HeaderValue::from_static("en;q=0.2, fr;q=0.5, de;q=0"),
    );
    assert_eq!(Lang::of_browser(&h), Lang::Fr);
    h.insert(header::COOKIE, HeaderValue::from_static("x=1; pl_lang=de"));
    assert_eq!(
        Lang::of_dashboard(&h),
        Lang::De,
        "the choice beats the browser"
    );
}

#[test]
fn rich_messages_escape_everything_but_their_tag() {
    let html = Lang::En.rich("join-welcome-back", "name", "<b>Mia</b>", "strong");
    assert_eq!(
        html,
        "Welcome back, <strong>&lt;b&gt;Mia&lt;/b&gt;</strong>!"
    );
    let html = Lang::En.rich("dash-codes-hint", "coder", "", "strong#coder");
    assert!(
        html.ends_with("you code as <strong id=\"coder\"></strong>."),
        "{html}"
    );
    let html = Lang::En.rich("join-code-hint", "example", "ABC-234", "span.code-example");
    assert!(
        html.contains("<span class=\"code-example\">ABC-234</span>"),
        "{html}"
    );
}

/// The scripts' catalogue, formatted the way frontend/static/i18n.js does, says what Fluent
/// says, for every script message in every language and a few counts.
#[test]
fn js_messages_format_as_fluent_does() {
    for lang in Lang::ALL {
        for prefix in ["js-join-", "js-chat-", "js-dash-"] {
            let json: Value = serde_json::from_str(&lang.js_catalogue(prefix)).unwrap();
            let messages = json.as_object().unwrap();
            assert!(!messages.is_empty(), "{prefix}");
            for (key, parts) in messages {
                let vars = message_variables(Lang::En, key);
                for n in [0, 1, 2, 5] {
                    let args: Vec<(String, FluentValue)> =
                        vars.iter().map(|v| (v.clone(), sample(v, n))).collect();
                    let borrowed: Vec<(&str, FluentValue)> =
                        args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                    let expected = lang.t_args(key, &borrowed);
                    let got = format_like_js(lang, parts, &args);
                    assert_eq!(got, expected, "{}: {key} with {n}", lang.code());
                }
            }
        }
    }
    assert!(!Lang::En.js_catalogue("js-").contains('<'));
}

/// i18n.js's `format` in Rust, with Fluent's own plural rules standing in for the
/// browser's `Intl.PluralRules` (both are CLDR's).
fn format_like_js(lang: Lang, parts: &Value, args: &[(String, FluentValue)]) -> String {
    let arg = |name: &str| args.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut out = String::new();
    for part in parts.as_array().unwrap() {
        if let Some(text) = part.as_str() {
            out.push_str(text);
        } else if let Some(name) = part.get("v").and_then(Value::as_str) {
            match arg(name) {
                Some(FluentValue::Number(n)) => out.push_str(&n.as_string()),
                Some(FluentValue::String(s)) => out.push_str(&s),
                _ => {}
            }
        } else if let Some(name) = part.get("s").and_then(Value::as_str) {
            let cases = part["c"].as_object().unwrap();
            let mut key = part["d"].as_str().unwrap().to_string();
            if let Some(FluentValue::Number(n)) = arg(name) {
                let exact = n.as_string();
                if cases.contains_key(exact.as_ref()) {
                    key = exact.to_string();
                } else {
                    let category = plural_category(lang, n.value);
                    if cases.contains_key(category) {
                        key = category.to_string();
                    }
                }
            }
            out.push_str(&format_like_js(lang, &cases[&key], args));
        } else {
            panic!("a part i18n.js cannot read: {part}");
        }
    }
    out
}

fn plural_category(lang: Lang, n: f64) -> &'static str {
    use intl_pluralrules::{PluralCategory, PluralRuleType, PluralRules};
    let id: unic_langid::LanguageIdentifier = lang.code().parse().unwrap();
    let rules = PluralRules::create(id, PluralRuleType::CARDINAL).unwrap();
    match rules.select(n).unwrap() {
        PluralCategory::ZERO => "zero",
        PluralCategory::ONE => "one",
        PluralCategory::TWO => "two",
        PluralCategory::FEW => "few",
        PluralCategory::MANY => "many",
        PluralCategory::OTHER => "other",
    }
}
