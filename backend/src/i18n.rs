//! The pages' languages: one Fluent catalogue per language (`frontend/locales/<code>.ftl`,
//! compiled into the binary), looked up by key. Plurals follow each language's CLDR rules
//! (Fluent's `[one]`/`[other]` variants), never string concatenation.
//!
//! A child's page speaks its session's language ([`Lang::of_session`]; before a session is
//! known, the browser's `Accept-Language`); a facilitator's page speaks the language chosen in
//! the dashboard's menu (the `pl_lang` cookie), else the browser's. The scripts get the
//! messages they need as JSON ([`Lang::js_catalogue`], read by `frontend/static/i18n.js`).
//!
//! Catalogue keys are kebab-case literals at the call (`lang.t("join-title")`), so the test
//! below can find every key the sources use and check that English has it.

use std::borrow::Cow;
use std::sync::OnceLock;

use axum::http::{header, HeaderMap};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_syntax::ast;
use serde_json::{json, Map, Value};

/// A message's argument: text or a number, also behind the references templates pass.
pub trait Arg<'a> {
    fn arg(self) -> FluentValue<'a>;
}

impl<'a> Arg<'a> for &'a str {
    fn arg(self) -> FluentValue<'a> {
        self.into()
    }
}

impl<'a> Arg<'a> for &'a &str {
    fn arg(self) -> FluentValue<'a> {
        (*self).into()
    }
}

impl<'a> Arg<'a> for &'a String {
    fn arg(self) -> FluentValue<'a> {
        self.as_str().into()
    }
}

impl<'a> Arg<'a> for String {
    fn arg(self) -> FluentValue<'a> {
        self.into()
    }
}

macro_rules! number_arg {
    ($($t:ty),*) => {$(
        impl<'a> Arg<'a> for $t {
            fn arg(self) -> FluentValue<'a> {
                self.into()
            }
        }
        impl<'a> Arg<'a> for &$t {
            fn arg(self) -> FluentValue<'a> {
                (*self).into()
            }
        }
    )*};
}

number_arg!(i64, u64, usize, u32, i32);

/// A language the pages are translated into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    De,
    Fr,
    Es,
}

const CATALOGUES: [(Lang, &str); 4] = [
    (Lang::En, include_str!("../../frontend/locales/en.ftl")),
    (Lang::De, include_str!("../../frontend/locales/de.ftl")),
    (Lang::Fr, include_str!("../../frontend/locales/fr.ftl")),
    (Lang::Es, include_str!("../../frontend/locales/es.ftl")),
];

/// The cookie that keeps a facilitator's choice of language.
pub const LANG_COOKIE: &str = "pl_lang";

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::En, Lang::De, Lang::Fr, Lang::Es];

    /// The BCP 47 code, as in `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
            Lang::Es => "es",
        }
    }

    /// The language's name in itself, for the language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Fr => "Français",
            Lang::Es => "Español",
        }
    }

    /// A language tag ("de", "de-AT", "FR_ch") by its primary subtag, if translated.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// A session's language; one without a translation gets English pages (its agent still
    /// speaks the session's language).
    pub fn of_session(language: &str) -> Lang {
        Lang::from_tag(language).unwrap_or(Lang::En)
    }

    /// The browser's most wanted translated language (`Accept-Language`, by q-value).
    pub fn from_accept_language(headers: &HeaderMap) -> Option<Lang> {
        let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
        let mut best: Option<(f32, Lang)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::from_tag) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .unwrap_or(0.0);
            // The first of equal q-values wins: the browser lists them in order of preference.
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// The facilitator's language: the remembered choice, else the browser's, else English.
    pub fn of_dashboard(headers: &HeaderMap) -> Lang {
        crate::http::cookie_value(headers, LANG_COOKIE)
            .and_then(|v| Lang::from_tag(&v))
            .or_else(|| Lang::from_accept_language(headers))
            .unwrap_or(Lang::En)
    }

    /// A child's page before a session is known: the browser's language, else English.
    pub fn of_browser(headers: &HeaderMap) -> Lang {
        Lang::from_accept_language(headers).unwrap_or(Lang::En)
    }

    /// The message `key`, without arguments.
    pub fn t(self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with one argument.
    pub fn t1<'a>(self, key: &str, name: &'a str, value: impl Arg<'a>) -> String {
        let mut args = FluentArgs::new();
        args.set(name, value.arg());
        self.format(key, Some(&args))
    }

    /// The message `key` with two arguments (for templates, which cannot build a slice).
    pub fn t2<'a>(
        self,
        key: &str,
        name1: &'a str,
        value1: impl Arg<'a>,
        name2: &'a str,
        value2: impl Arg<'a>,
    ) -> String {
        let mut args = FluentArgs::new();
        args.set(name1, value1.arg());
        args.set(name2, value2.arg());
        self.format(key, Some(&args))
    }

    /// The message `key` with its arguments.
    pub fn t_args(self, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            fluent.set(*name, value.clone());
        }
        self.format(key, Some(&fluent))
    }

    /// The message `key` as HTML with its one argument wrapped in `tag` (`"strong"`,
    /// `"span.code-example"` for a class, `"strong#coder"` for an id): the message and the
    /// value are escaped, only the tag is markup. For sentences whose emphasis sits inside
    /// them in every language.
    pub fn rich(self, key: &str, name: &str, value: &str, tag: &str) -> String {
        self.rich_args(key, &[], &[(name, value, tag)])
    }

    /// The message `key` as HTML: `plain` arguments as they are, each of `wrapped`
    /// (name, value, tag as for [`Lang::rich`]) escaped inside its tag.
    pub fn rich_args(
        self,
        key: &str,
        plain: &[(&str, FluentValue<'_>)],
        wrapped: &[(&str, &str, &str)],
    ) -> String {
        // Private-use characters stand for the wrapped values while the sentence is escaped.
        let marks: Vec<String> = (0..wrapped.len())
            .map(|i| {
                char::from_u32(0xE000 + i as u32)
                    .unwrap_or('\u{E000}')
                    .to_string()
            })
            .collect();
        let mut args: Vec<(&str, FluentValue<'_>)> = plain.to_vec();
        for ((name, _, _), mark) in wrapped.iter().zip(&marks) {
            args.push((name, FluentValue::from(mark.as_str())));
        }
        let mut html = escape_html(&self.t_args(key, &args)).into_owned();
        for ((_, value, tag), mark) in wrapped.iter().zip(&marks) {
            let (rest, id) = tag.split_once('#').unwrap_or((tag, ""));
            let (element, class) = rest.split_once('.').unwrap_or((rest, ""));
            let mut open = format!("<{element}");
            if !id.is_empty() {
                open.push_str(&format!(" id=\"{id}\""));
            }
            if !class.is_empty() {
                open.push_str(&format!(" class=\"{class}\""));
            }
            html = html.replace(mark, &format!("{open}>{}</{element}>", escape_html(value)));
        }
        html
    }

    fn format(self, key: &str, args: Option<&FluentArgs>) -> String {
        let bundle = bundle(self);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            // The catalogue test keeps this from happening; should it, the key shows.
            tracing::warn!(key, lang = self.code(), "no such message");
            return key.to_string();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(
                key,
                lang = self.code(),
                ?errors,
                "message formatted with errors"
            );
        }
        text.into_owned()
    }

    /// The messages whose keys start with `prefix`, as JSON for a page's
    /// `<script type="application/json" id="i18n">` (escaped for that place): each message
    /// a list of parts, see [`pattern_json`]. The scripts format them with the browser's
    /// `Intl.PluralRules` for the page's language (frontend/static/i18n.js).
    pub fn js_catalogue(self, prefix: &str) -> String {
        let mut out = Map::new();
        for entry in resource(self).entries() {
            if let ast::Entry::Message(message) = entry {
                let id = message.id.name;
                if let (true, Some(value)) = (id.starts_with(prefix), &message.value) {
                    out.insert(id.to_string(), pattern_json(value));
                }
            }
        }
        // `<` never reaches the HTML parser, so `</script>` in a message cannot end the block.
        Value::Object(out).to_string().replace('<', "\\u003c")
    }
}

/// A Fluent pattern as JSON: a list whose parts are text, `{"v": name}` (a variable), or
/// `{"s": name, "c": {key: parts}, "d": default key}` (a select on a variable, by exact
/// value or plural category). Only these forms are used by the scripts' messages; the test
/// `js_messages_format_as_fluent_does` holds them to that.
fn pattern_json(pattern: &ast::Pattern<&str>) -> Value {
    let mut parts = Vec::new();
    for element in &pattern.elements {
        match element {
            ast::PatternElement::TextElement { value } => parts.push(json!(value)),
            ast::PatternElement::Placeable { expression } => {
                parts.push(expression_json(expression))
            }
        }
    }
    Value::Array(parts)
}

fn expression_json(expression: &ast::Expression<&str>) -> Value {
    match expression {
        ast::Expression::Inline(inline) => inline_json(inline),
        ast::Expression::Select { selector, variants } => {
            let ast::InlineExpression::VariableReference { id } = selector else {
                return json!("");
            };
            let mut cases = Map::new();
            let mut default = String::new();
            for variant in variants {
                let key = match &variant.key {
                    ast::VariantKey::Identifier { name } => name.to_string(),
                    ast::VariantKey::NumberLiteral { value } => value.to_string(),
                };
                if variant.default {
                    default = key.clone();
                }
                cases.insert(key, pattern_json(&variant.value));
            }
            json!({ "s": id.name, "c": cases, "d": default })
        }
    }
}

fn inline_json(inline: &ast::InlineExpression<&str>) -> Value {
    match inline {
        ast::InlineExpression::VariableReference { id } => json!({ "v": id.name }),
        ast::InlineExpression::StringLiteral { value } => json!(value),
        ast::InlineExpression::NumberLiteral { value } => json!(value),
        ast::InlineExpression::Placeable { expression } => expression_json(expression),
        // Not used in the scripts' messages (the test says so if one appears).
        _ => json!(""),
    }
}

fn resource(lang: Lang) -> &'static FluentResource {
    static RESOURCES: OnceLock<Vec<FluentResource>> = OnceLock::new();
    let all = RESOURCES.get_or_init(|| {
        CATALOGUES
            .iter()
            .map(|(lang, text)| {
                // A catalogue that does not parse is a build mistake the tests catch; what
                // parsed is still used.
                FluentResource::try_new(text.to_string()).unwrap_or_else(|(resource, errors)| {
                    tracing::error!(lang = lang.code(), ?errors, "catalogue has errors");
                    resource
                })
            })
            .collect()
    });
    &all[index(lang)]
}

fn bundle(lang: Lang) -> &'static FluentBundle<&'static FluentResource> {
    static BUNDLES: OnceLock<Vec<FluentBundle<&'static FluentResource>>> = OnceLock::new();
    let all = BUNDLES.get_or_init(|| {
        Lang::ALL
            .into_iter()
            .map(|lang| {
                let id: unic_langid::LanguageIdentifier = lang.code().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // No bidi isolation marks around values: the pages put `dir="auto"` where
                // text of either direction is shown, and JSON and tests stay plain text.
                bundle.set_use_isolating(false);
                if let Err(errors) = bundle.add_resource(resource(lang)) {
                    tracing::error!(lang = lang.code(), ?errors, "catalogue has duplicate keys");
                }
                bundle
            })
            .collect()
    });
    &all[index(lang)]
}

fn index(lang: Lang) -> usize {
    Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)
}

fn escape_html(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests;
