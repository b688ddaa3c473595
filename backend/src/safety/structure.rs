//! Structural detectors: what a sentence says, found from the parts it is built of, not from
//! whole phrases.
//!
//! Why: children disclose in endless ways. "my dad hits me", "papa haut mich immer mit dem
//! gürtel", "mon père m'a giflé", "mi padrastro me pegó anoche" share no phrase, but each is a
//! harming act with the child as its object. Adding hundreds of fixed phrases did not move the
//! held-out recall; a sentence's structure generalises to wording nobody listed.
//!
//! How: each language's file lists words and short phrases by the *role* they play
//! (`[roles]`: `me`, `act`, `wish`, `death`, `negation`, `benign`...; stems with `*`, any
//! inflection listed). They are found by the same Aho-Corasick pass as every other list
//! ([`super::words`]), so this costs almost nothing per message. The message is cut into
//! clauses (at `. ! ? ;`, a line break, and `but`-like words), and rules, written here once for
//! every language, look for roles together in one clause:
//!
//! - **abuse**: a harming act with the child as its object ("hits me", "m'a giflé", "me
//!   pega", "hat mich ... geschlagen"), or passive ("i get hit"), or on the child's body with a
//!   person doing it ("burnt my hand"); not negated ("he never hits me"), not in a game, sport
//!   or accident ("my dad hits the ball", "she hit me in a pillow fight") unless a harm marker
//!   is there too (always, scared, secret, on purpose). Weak acts (shouting, pushing,
//!   grabbing) need such a marker. Touching is never excused by a game ("he says its a
//!   game" is what groomers say).
//! - **self-harm and suicidal wishes**: a first-person wish with death ("i just want to
//!   disappear"), a negated wish to live ("ya no quiero vivir", "j'ai plus envie d'être
//!   là"), "better off without me / if i wasnt around", "nobody would notice if i was gone",
//!   a method question with killing oneself.
//! - **fear, secrets, neglect, grooming**: fear with home or a person ("scared to go home",
//!   "peur de mon père"); an adult who said to keep a secret (not a surprise party); a parent
//!   gone for days, no food at home, always hungry; someone in the child's bed at night,
//!   being made to undress, pictures of the child with nudity, secrecy or a stranger online.
//! - **said without an act** (issue #12, fourth round): a bad or disliked home, an adult
//!   who "does stuff to me", marks hidden or explained by a told excuse, not wanting to go
//!   to an adult's place, pictures held over the child, sleep lost to fights, pills taken,
//!   nobody cooking or collecting the child. Some parts are also looked for across two
//!   neighbouring clauses ("i cant go home! hes drunk again").
//! - **harm**: a group with contempt ("ausländer sind alle kriminell"), "i hate <group>",
//!   "<group> shouldn't be allowed"; nudity or underwear with "you", a request or pictures;
//!   overriding "your rules", pretending to have none, "you are now" an evil AI, how-to with
//!   weapons or drugs, asking for swear words; "I will" with a violent act on "you".
//! - **personal data**: "real / full / last" next to "name" in either order ("my last names
//!   Patel", "mi nombre entero es"), "actually / irl / en vrai" with "called / heiße / me
//!   llamo": the name that follows is hidden (as after "my surname is").
//!
//! A child-protection officer prefers a false alarm on a disclosure-like line to a miss, so
//! the disclosure rules lean to alerting; benign look-alikes are kept out by structure (the act
//! has no first-person object, the wish is negated, the context is a game), never by a list of
//! allowed sentences.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::normalize::Token;
use super::verdict::{Category, Finding};
use super::words::{Cue, Hit, Kind};

text_enum!(
    /// The part a word or phrase plays in a sentence: the keys of a rules file's `[roles]`.
    Role {
        Me => "me",
        I => "i",
        My => "my",
        Person => "person",
        Other => "other",
        Stranger => "stranger",
        Online => "online",
        Act => "act",
        WeakAct => "weak_act",
        Touch => "touch",
        SelfAct => "self_act",
        Pain => "pain",
        Body => "body",
        SelfSite => "self_site",
        Minor => "minor",
        Marker => "marker",
        Benign => "benign",
        Purpose => "purpose",
        Passive => "passive",
        Undress => "undress",
        Cause => "cause",
        Bed => "bed",
        Night => "night",
        Pictures => "pictures",
        Nude => "nude",
        Meet => "meet",
        Wish => "wish",
        Death => "death",
        Life => "life",
        WeakLife => "weak_life",
        Forever => "forever",
        Prep => "prep",
        Negation => "negation",
        Better => "better",
        Without => "without",
        If => "if",
        Nobody => "nobody",
        Notice => "notice",
        Method => "method",
        KillSelf => "kill_self",
        Fear => "fear",
        Home => "home",
        Say => "say",
        Secret => "secret",
        Surprise => "surprise",
        Gone => "gone",
        Days => "days",
        Alone => "alone",
        NoFood => "no_food",
        Hungry => "hungry",
        Always => "always",
        Break => "break",
        Group => "group",
        Contempt => "contempt",
        HateVerb => "hate_verb",
        Should => "should",
        Override => "override",
        Yours => "yours",
        Rules => "rules",
        Pretend => "pretend",
        RoleSwitch => "role_switch",
        Evil => "evil",
        HowTo => "how_to",
        Dangerous => "dangerous",
        SayCmd => "say_cmd",
        Swear => "swear",
        InsultCmd => "insult_cmd",
        IWill => "i_will",
        You => "you",
        Violent => "violent",
        Violent1p => "violent_1p",
        Request => "request",
        NameWord => "name_word",
        Qualifier => "qualifier",
        RealLife => "real_life",
        NameVerb => "name_verb",
        Called => "called",
        Intimate => "intimate",
        WithMe => "with_me",
        Blade => "blade",
        Drunk => "drunk",
        Bad => "bad",
        We => "we",
        Comfort => "comfort",
        Exposed => "exposed",
        Watch => "watch",
        AtHome => "at_home",
        Dislike => "dislike",
        Stuff => "stuff",
        Weird => "weird",
        Everyday => "everyday",
        Marks => "marks",
        Hide => "hide",
        Cover => "cover",
        See => "see",
        Excuse => "excuse",
        Cook => "cook",
        Wearing => "wearing",
        Untrue => "untrue",
        Fall => "fall",
        Compare => "compare",
        GoTo => "go_to",
        MyDetails => "my_details",
        Leak => "leak",
        Sleep => "sleep",
        Noise => "noise",
        Pills => "pills",
        Took => "took",
        Many => "many",
        Forget => "forget",
    }
);

/// A language's settings for the rules (`[structure]` in its file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// The object pronoun follows the verb ("hits me"), as in English; otherwise it may stand
    /// on either side ("mich ... geschlagen", "me pega", "m'a giflé").
    pub object_after_verb: bool,
}

/// Roles that mark an act as harm rather than play: fear, secrecy, night and the file's
/// `marker` words (every day, drunk, bruises, crying). Not a bare "always" / "immer": "im
/// spiel haut mich der endboss immer um" is a game.
const HARM_MARKERS: &[Role] = &[Role::Marker, Role::Fear, Role::Secret, Role::Night];
/// The most words between an act and its object ("threw a chair at me").
const OBJECT_GAP: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Occ {
    role: Role,
    start: usize,
    end: usize,
}

/// Words between two occurrences (0 when they touch or overlap).
fn gap(a: Occ, b: Occ) -> usize {
    if a.end <= b.start {
        b.start - a.end
    } else {
        a.start.saturating_sub(b.end)
    }
}

fn overlaps(a: Occ, b: Occ) -> bool {
    a.start < b.end && b.start < a.end
}

/// `b` starts after `a` ends (or they overlap), with at most `max` words between.
fn after(a: Occ, b: Occ, max: usize) -> bool {
    overlaps(a, b) || (b.start >= a.end && b.start - a.end <= max)
}

struct Clause {
    occs: Vec<Occ>,
    /// Token index of the clause's first word.
    start: usize,
    /// Token index one past the clause's last word.
    end: usize,
}

impl Clause {
    fn all(&self, role: Role) -> impl Iterator<Item = Occ> + '_ {
        self.occs.iter().copied().filter(move |o| o.role == role)
    }

    fn has(&self, role: Role) -> bool {
        self.occs.iter().any(|o| o.role == role)
    }

    fn any_of(&self, roles: &[Role]) -> bool {
        self.occs.iter().any(|o| roles.contains(&o.role))
    }

    fn all_of<'a>(&'a self, roles: &'a [Role]) -> impl Iterator<Item = Occ> + 'a {
        self.occs
            .iter()
            .copied()
            .filter(move |o| roles.contains(&o.role))
    }

    /// The words from the first occurrence of each of `roles`, when every one is there.
    fn together(&self, roles: &[Role]) -> Option<Range<usize>> {
        let firsts: Option<Vec<Occ>> = roles.iter().map(|r| self.all(*r).next()).collect();
        firsts.map(|f| cover(&f))
    }

    fn at(&self, role: Role, word: usize) -> bool {
        self.all(role).any(|o| o.start <= word && word < o.end)
    }

    /// A negation starting in `from..to` that is not part of one of `parts` ("never" in
    /// "never wake up", "nicht" in "trau mich nicht").
    fn negation_in(&self, from: usize, to: usize, parts: &[Occ]) -> bool {
        self.all(Role::Negation)
            .any(|n| n.start >= from && n.start < to && !parts.iter().any(|p| overlaps(n, *p)))
    }

    /// A first-person word within three words before `o`, or `o` itself first person
    /// ("quiero" is "I want").
    fn said_by_me(&self, o: Occ) -> bool {
        self.all_of(&[Role::I, Role::Me, Role::My])
            .any(|p| overlaps(p, o) || (p.end <= o.start && o.start - p.end <= 3))
    }

    fn role_between(&self, roles: &[Role], a: Occ, b: Occ) -> bool {
        self.all_of(roles)
            .any(|o| o.start >= a.end && o.end <= b.start && !overlaps(o, a) && !overlaps(o, b))
    }
}

/// What the rules found: findings of harm and disclosures, and cues for the personal-data
/// detectors (a real name follows).
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub findings: Vec<Finding>,
    pub cues: Vec<Hit>,
}

/// Runs every rule over `tokens`, given the hits of the language's lists.
pub(crate) fn find(text: &str, tokens: &[Token], hits: &[Hit], settings: Settings) -> Found {
    let mut found = Found::default();
    let exempt: Vec<&Range<usize>> = hits
        .iter()
        .filter(|h| h.kind == Kind::Exempt)
        .map(|h| &h.words)
        .collect();
    let mut occs: Vec<Occ> = hits
        .iter()
        .filter_map(|h| match h.kind {
            Kind::Role(role)
                if !exempt
                    .iter()
                    .any(|e| e.start < h.words.end && h.words.start < e.end) =>
            {
                Some(Occ {
                    role,
                    start: h.words.start,
                    end: h.words.end,
                })
            }
            _ => None,
        })
        .collect();
    if occs.is_empty() {
        return found;
    }
    occs.sort_by_key(|o| (o.start, o.end));
    occs.dedup();
    // "on purpose" inside "not on purpose" / "sans faire exprès" is no purpose.
    let benign: Vec<Occ> = occs
        .iter()
        .copied()
        .filter(|o| o.role == Role::Benign)
        .collect();
    occs.retain(|o| o.role != Role::Purpose || !benign.iter().any(|b| overlaps(*b, *o)));

    let surprise = occs.iter().any(|o| o.role == Role::Surprise);
    let cs = clauses(text, tokens, &occs);
    for clause in &cs {
        let span = |r: Range<usize>| tokens[r.start].span.start..tokens[r.end - 1].span.end;
        let mut push = |category: Category, r: Option<Range<usize>>| {
            if let Some(r) = r {
                found.findings.push(Finding {
                    category,
                    span: span(r),
                });
            }
        };
        for rule in [
            abuse,
            wish_to_die,
            better_without_me,
            nobody_would_notice,
            method,
            fear,
            neglect,
            grooming,
            self_harm_tool,
            drunk_at_home,
            watched_undressed,
            unhappy_at_home,
            euphemism,
            hidden_marks,
            avoids_an_adult,
            kept_awake,
            pills_taken,
        ] {
            push(Category::Disclosure, rule(clause, settings));
        }
        if !surprise {
            push(Category::Disclosure, secret(clause));
        }
        push(Category::Hate, hate(clause));
        push(Category::Sexual, sexual(clause));
        push(Category::Jailbreak, jailbreak(clause));
        push(Category::Threat, threat(clause, settings));
        found.cues.extend(real_name_cues(clause));
    }
    // A disclosure's parts often fall into two sentences: "i cant go home! hes drunk again",
    // "i told everyone i fell off my bike but thats not how i got the bruises". These rules
    // also look at each clause together with the next one. Only rules whose parts say harm
    // together wherever they stand (drink and home, marks and an excuse, a bad home): fear
    // and a person, or an act and "me", need to stand close.
    for pair in cs.windows(2).filter(|p| p[0].end == p[1].start) {
        let joined = Clause {
            occs: pair[0].occs.iter().chain(&pair[1].occs).copied().collect(),
            start: pair[0].start,
            end: pair[1].end,
        };
        for rule in [drunk_at_home, unhappy_at_home, hidden_marks, asks_details] {
            if let Some(r) = rule(&joined, settings) {
                found.findings.push(Finding {
                    category: Category::Disclosure,
                    span: tokens[r.start].span.start..tokens[r.end - 1].span.end,
                });
                break;
            }
        }
    }
    found
}

/// The clauses of a message with the occurrences that start in each.
fn clauses(text: &str, tokens: &[Token], occs: &[Occ]) -> Vec<Clause> {
    let mut breaks = vec![false; tokens.len()];
    for o in occs.iter().filter(|o| o.role == Role::Break) {
        breaks[o.start] = true;
    }
    let mut bounds = Vec::new();
    let mut start = 0;
    for k in 1..=tokens.len() {
        let cut = k == tokens.len()
            || breaks[k - 1]
            || text[tokens[k - 1].span.end..tokens[k].span.start]
                .contains(['.', '!', '?', ';', '\n']);
        if cut {
            bounds.push(start..k);
            start = k;
        }
    }
    bounds
        .into_iter()
        .filter_map(|r| {
            let occs: Vec<Occ> = occs
                .iter()
                .copied()
                .filter(|o| r.contains(&o.start) && o.role != Role::Break)
                .collect();
            (!occs.is_empty()).then_some(Clause {
                occs,
                start: r.start,
                end: r.end,
            })
        })
        .collect()
}

fn cover(parts: &[Occ]) -> Range<usize> {
    let start = parts.iter().map(|o| o.start).min().unwrap_or(0);
    let end = parts.iter().map(|o| o.end).max().unwrap_or(start + 1);
    start..end
}

/// A harming act done to the child: see the module documentation.
fn abuse(c: &Clause, s: Settings) -> Option<Range<usize>> {
    let purpose = c.has(Role::Purpose);
    let person = c.has(Role::Person);
    for act in c.all_of(&[Role::Act, Role::SelfAct, Role::WeakAct, Role::Touch]) {
        // A word that is both act and marker ("bruise") does not mark itself: "i got a big
        // bruise playing football" is a game.
        let marked = c.all_of(HARM_MARKERS).any(|m| !overlaps(m, act));
        if act.role == Role::WeakAct && !marked {
            continue;
        }
        // A game excuses a blow, not a touch: "it's a game" is what groomers say.
        if act.role != Role::Touch && c.has(Role::Benign) && !purpose && !marked {
            continue;
        }
        // "me corté el dedo", "i burnt my tongue", "i hurt my knee": an everyday accident,
        // unless someone did it.
        // The act itself may name the part ("me tiró del pelo"): that is no small injury.
        let minor = c.all(Role::Minor).any(|m| !overlaps(m, act));
        if minor && !purpose && !person {
            continue;
        }
        // "mir tut der kopf weh", "ça me fait mal au ventre": an ache, not an act.
        let ache = c.all(Role::Pain).any(|p| overlaps(p, act));
        if ache && c.any_of(&[Role::Body, Role::SelfSite]) && !person {
            continue;
        }
        let objects = c.all(Role::Me).filter(|m| {
            if s.object_after_verb {
                after(act, *m, OBJECT_GAP)
            } else {
                gap(act, *m) <= OBJECT_GAP
            }
        });
        // "i get hit", "ich werde geschlagen".
        let passive = c.all(Role::Passive).filter_map(|p| {
            let subject = c
                .all(Role::I)
                .find(|i| i.end <= p.start && p.start - i.end <= 2)?;
            // "ich wurde gestern mit dem gürtel geschlagen": the participle comes last.
            let reach = if s.object_after_verb { 3 } else { 5 };
            (p.end <= act.start && act.start - p.end <= reach).then_some(subject)
        });
        // "burnt my hand" by someone; "i cut my arms" (a self-harm site) by oneself.
        let body = c.all_of(&[Role::Body, Role::SelfSite]).filter(|b| {
            gap(act, *b) <= OBJECT_GAP
                && c.all(Role::My)
                    .any(|m| m.end <= b.start && b.start - m.end <= 1)
                && (person || (act.role == Role::SelfAct && b.role == Role::SelfSite))
        });
        for target in objects.chain(passive).chain(body) {
            let parts = [act, target];
            let r = cover(&parts);
            let tail = if s.object_after_verb { 0 } else { 1 };
            if !c.negation_in(r.start.saturating_sub(2), r.end + tail, &parts) {
                return Some(r);
            }
        }
    }
    None
}

/// A first-person wish to die or not to live.
fn wish_to_die(c: &Clause, s: Settings) -> Option<Range<usize>> {
    for w in c.all(Role::Wish).filter(|w| c.said_by_me(*w)) {
        // "i just want to disappear", "je veux mourir", "quiero morirme".
        for d in c.all(Role::Death).filter(|d| after(w, *d, 3)) {
            // "i want him to die", "i want the ghost to disappear": someone else's death.
            if c.role_between(&[Role::Person, Role::You, Role::Other], w, d) {
                continue;
            }
            if !c.negation_in(w.start.saturating_sub(2), d.start, &[w, d]) {
                return Some(cover(&[w, d]));
            }
        }
        // "i dont want to live", "ya no quiero vivir", "ich will nicht mehr da sein".
        for l in c
            .all_of(&[Role::Life, Role::WeakLife])
            .filter(|l| after(w, *l, 5))
        {
            if l.role == Role::WeakLife && !c.has(Role::Forever) {
                continue;
            }
            // "i dont want to live in london", "ich will nicht in berlin leben": a place, not
            // life.
            let place = c.all(Role::Prep).any(|p| {
                p.start == l.end || (!s.object_after_verb && p.start >= w.end && p.end <= l.start)
            });
            if place {
                continue;
            }
            if c.negation_in(w.start.saturating_sub(3), l.start.max(w.end), &[w, l]) {
                return Some(cover(&[w, l]));
            }
        }
    }
    None
}

/// "everyone would be better off without me", "mieux si j'existais pas".
fn better_without_me(c: &Clause, _: Settings) -> Option<Range<usize>> {
    let better = c.all(Role::Better).next()?;
    for w in c.all(Role::Without) {
        let next = w.end;
        if c.at(Role::Me, next) || (c.at(Role::My, next) && next + 1 == c.end) {
            return Some(cover(&[better, w]));
        }
    }
    gone_if_i(c).map(|r| cover(&[better]).start.min(r.start)..r.end)
}

/// "if i wasnt around", "wenn ich weg wäre", "si je disparaissais".
fn gone_if_i(c: &Clause) -> Option<Range<usize>> {
    for f in c.all(Role::If) {
        let Some(me) = c
            .all_of(&[Role::I, Role::Me])
            .find(|p| after(f, *p, 3) && p.start >= f.end)
        else {
            continue;
        };
        if let Some(d) = c
            .all_of(&[Role::Death, Role::Gone])
            .find(|d| d.start >= me.end)
        {
            return Some(cover(&[f, d]));
        }
        // "wenn es mich nicht geben würde": the phrase may hold the "mich" and the "nicht".
        let life = c
            .all_of(&[Role::Life, Role::WeakLife])
            .find(|l| l.start >= f.end && l.end > me.end);
        if let Some(l) = life {
            if c.negation_in(f.end, c.end, &[]) {
                return Some(cover(&[f, l]));
            }
        }
    }
    None
}

/// "nobody would miss me", "personne remarquerait si je disparaissais".
fn nobody_would_notice(c: &Clause, _: Settings) -> Option<Range<usize>> {
    for n in c.all(Role::Nobody) {
        // "nobody would miss me", "je manquerais à personne".
        for t in c.all(Role::Notice).filter(|t| gap(n, *t) <= 4) {
            // "a nadie le importo": the verb itself may be the first person.
            let me = c.all(Role::Me).any(|m| gap(m, t) <= 3 && !overlaps(m, n))
                || c.all(Role::I)
                    .any(|i| overlaps(i, t) || (i.end <= t.start && t.start - i.end <= 2));
            if me {
                return Some(cover(&[n, t]));
            }
            if let Some(r) = gone_if_i(c).filter(|r| r.start >= t.end) {
                return Some(n.start..r.end);
            }
        }
    }
    None
}

/// "how many pills", "wie bringt man sich am schnellsten um", "cómo se suicida uno".
fn method(c: &Clause, _: Settings) -> Option<Range<usize>> {
    let m = c.all(Role::Method).next()?;
    let k = c.all(Role::KillSelf).next()?;
    Some(cover(&[m, k]))
}

/// Fear of home or of a person: "scared to go home", "angst vor meinem papa".
fn fear(c: &Clause, _: Settings) -> Option<Range<usize>> {
    for f in c.all(Role::Fear) {
        if c.negation_in(f.start.saturating_sub(2), f.start, &[f]) {
            continue;
        }
        if let Some(h) = c.all(Role::Home).next() {
            return Some(cover(&[f, h]));
        }
        if let Some(p) = c.all(Role::Person).find(|p| after(f, *p, 3)) {
            return Some(cover(&[f, p]));
        }
    }
    None
}

/// An adult who said to keep a secret, or a stranger's secret (a surprise party is no secret
/// of this kind: the caller skips the rule then).
fn secret(c: &Clause) -> Option<Range<usize>> {
    let s = c.all(Role::Secret).next()?;
    // "j'ai pas le droit de dire ce qui se passe à la maison": a secret about home.
    if let Some(h) = c.all(Role::Home).next() {
        return Some(cover(&[s, h]));
    }
    let who = c.all_of(&[Role::Person, Role::Stranger]).next()?;
    if c.has(Role::Say) || who.role == Role::Stranger {
        return Some(cover(&[who, s]));
    }
    None
}

/// A parent gone for days, no food at home, always hungry, alone for days.
fn neglect(c: &Clause, _: Settings) -> Option<Range<usize>> {
    let first = |r: Role| c.all(r).next();
    if let Some(r) = c.together(&[Role::Person, Role::Gone, Role::Days]) {
        return Some(r);
    }
    if let Some(f) = first(Role::NoFood) {
        if let Some(x) = c
            .all_of(&[Role::Home, Role::Days, Role::Hungry, Role::Always])
            .next()
        {
            return Some(cover(&[f, x]));
        }
    }
    // "nobody cooks at our house", "personne fait à manger chez nous"; not "nobody cooks
    // like my nan" (`compare`).
    if let (Some(n), Some(k)) = (first(Role::Nobody), first(Role::Cook)) {
        if gap(n, k) <= 3 && !c.any_of(&[Role::Better, Role::Compare, Role::Everyday]) {
            return Some(cover(&[n, k]));
        }
    }
    // "mum forgets to pick me up", "maman oublie de venir me chercher".
    if let (Some(f), Some(m)) = (first(Role::Forget), first(Role::Meet)) {
        if c.has(Role::Person) && after(f, m, 3) && !c.any_of(&[Role::Benign, Role::Everyday]) {
            return Some(cover(&[f, m]));
        }
    }
    if let (Some(h), Some(a)) = (first(Role::Hungry), first(Role::Always)) {
        if c.said_by_me(h) || c.said_by_me(a) {
            return Some(cover(&[h, a]));
        }
    }
    if let (Some(a), Some(d)) = (
        first(Role::Alone),
        c.all_of(&[Role::Days, Role::Night]).next(),
    ) {
        return Some(cover(&[a, d]));
    }
    None
}

/// A blade on the child's own body: "i use a razor on my legs", "je me coupe avec un cutter".
/// Not shaving, crafts or cooking (the file's `benign` words).
fn self_harm_tool(c: &Clause, _: Settings) -> Option<Range<usize>> {
    let b = c.all(Role::Blade).next()?;
    if c.has(Role::Benign) {
        return None;
    }
    let on_me = c.all(Role::SelfSite).find(|site| {
        gap(b, *site) <= 5
            && c.all(Role::My)
                .any(|m| m.end <= site.start && site.start - m.end <= 1)
    });
    let by_me = c
        .all(Role::SelfAct)
        .find(|a| c.all(Role::Me).any(|m| gap(*a, m) <= 2) && gap(*a, b) <= 6);
    let part = on_me.or(by_me)?;
    if c.negation_in(b.start.saturating_sub(3), b.end.max(part.end), &[b, part]) {
        return None;
    }
    Some(cover(&[b, part]))
}

/// Someone who photographs or watches the child in the bath, the shower or changing: "mums
/// friend took photos of me in the bath", "mon beau-père me regarde quand je me change". Not
/// a baby photo (the file's `comfort` words).
fn watched_undressed(c: &Clause, _: Settings) -> Option<Range<usize>> {
    let e = c.all(Role::Exposed).next()?;
    if c.has(Role::Comfort) || !c.any_of(&[Role::Me, Role::My, Role::I]) {
        return None;
    }
    let how = c.all_of(&[Role::Pictures, Role::Watch]).next()?;
    c.has(Role::Person).then(|| cover(&[e, how]))
}

/// Home said to be bad, or disliked: "things are really bad at home", "c'est l'enfer à la
/// maison", "ich hasse es nach hause zu gehen", "no me gusta estar en mi casa"; the child
/// hiding at home ("at home i hide in my room when dad is angry"). Not everyday trouble (the
/// file's `everyday` words: the wifi, a boring afternoon, a bad day, the bad guy of a story)
/// and not a game or story (`benign`). `bad` counts only with home as a place (`at_home`):
/// "i feel bad so im going home" is a child who is ill.
fn unhappy_at_home(c: &Clause, s: Settings) -> Option<Range<usize>> {
    if c.any_of(&[Role::Everyday, Role::Benign]) {
        return None;
    }
    for h in c.all(Role::AtHome) {
        if let Some(b) = c.all(Role::Bad).find(|b| gap(h, *b) <= 4) {
            if !c.negation_in(b.start.saturating_sub(2), b.start, &[b, h]) {
                return Some(cover(&[h, b]));
            }
        }
    }
    for d in c.all(Role::Dislike) {
        // "i hate going home", "nach hause geh ich nicht gern" (de, fr, es: either side).
        let near = |h: &Occ| {
            if s.object_after_verb {
                after(d, *h, 4)
            } else {
                gap(d, *h) <= 4
            }
        };
        if let Some(h) = c.all_of(&[Role::Home, Role::AtHome]).find(near) {
            return Some(cover(&[d, h]));
        }
    }
    // "at home i hide in my room when dad is angry", "ich versteck mich wenn papa heimkommt":
    // the child hides (themself, or in their room), not their sweets.
    let hides_self = |h: &Occ| c.all(Role::Me).any(|m| gap(*h, m) <= 1) || c.has(Role::Bed);
    for h in c
        .all(Role::Hide)
        .filter(|h| c.said_by_me(*h) && hides_self(h))
    {
        let home = c.any_of(&[Role::Home, Role::AtHome]);
        let feared = c.has(Role::Person) && c.any_of(HARM_MARKERS);
        if home || feared {
            return Some(cover(&[h]));
        }
    }
    None
}

/// Something an adult "does" said without naming it: "my uncle does stuff to me", "il me fait
/// des trucs bizarres", "macht komische sachen mit mir", "me hace cosas raras". The file's
/// `stuff` entries carry the verb ("does ... stuff", "macht ... sachen"). A person and one
/// more sign are needed: the child as object, or weirdness, dislike, being alone, a secret,
/// night or bed. Not an example list ("weird stuff like dipping chips in ice cream") or a
/// nice outing (`everyday`: "fun stuff", "coole sachen").
fn euphemism(c: &Clause, _: Settings) -> Option<Range<usize>> {
    if c.any_of(&[Role::Everyday, Role::Benign]) || !c.has(Role::Person) {
        return None;
    }
    for st in c.all(Role::Stuff) {
        // "does stuff to me", "me hace cosas"; not "does stuff with me" (an outing) nor
        // "did weird things to my drawing" (a thing of the child's).
        let with_me = |m: Occ| c.all(Role::WithMe).any(|w| overlaps(w, m));
        let to_me = c.all(Role::Me).any(|m| gap(st, m) <= 3 && !with_me(m));
        let to_mine = c
            .all(Role::My)
            .any(|m| m.start >= st.end && m.start - st.end <= 2);
        if to_mine && !to_me {
            continue;
        }
        let sign = c
            .all_of(&[
                Role::Weird,
                Role::Dislike,
                Role::Alone,
                Role::Nobody,
                Role::Secret,
                Role::Night,
                Role::Bed,
                Role::Fear,
            ])
            .next();
        if to_me || sign.is_some() {
            let parts: Vec<Occ> = std::iter::once(st).chain(sign).collect();
            return Some(cover(&parts));
        }
    }
    None
}

/// Marks said only through hiding them or lying about them: "i wear a hoodie so no one sees
/// the marks", "je cache mes bras", "ich soll sagen ich bin hingefallen", "dije que me caí
/// pero no es verdad". Not a sports bruise (`benign`) or clothes for the cold (`everyday`).
fn hidden_marks(c: &Clause, _: Settings) -> Option<Range<usize>> {
    if c.has(Role::Everyday) {
        return None;
    }
    let my_site = |x: &Occ| {
        c.all(Role::SelfSite).find(|site| {
            gap(*x, *site) <= 4
                && c.all(Role::My)
                    .any(|m| m.end <= site.start && site.start - m.end <= 1)
        })
    };
    // "so no one sees", "damit es keiner merkt", "pour qu'on voit pas", "para que nadie vea".
    let unseen = || {
        if c.any_of(&[Role::Nobody, Role::Negation, Role::Secret]) {
            c.all(Role::See).next()
        } else {
            None
        }
    };
    // Clothes that cover: with marks, the child's arms or legs, or "so nobody sees".
    for cv in c.all(Role::Cover) {
        if let Some(x) = c
            .all(Role::Marks)
            .next()
            .or_else(|| my_site(&cv))
            .or_else(unseen)
        {
            return Some(cover(&[cv, x]));
        }
    }
    // Hiding marks or one's own arms and legs.
    for h in c.all(Role::Hide) {
        if let Some(x) = c
            .all(Role::Marks)
            .find(|m| gap(h, *m) <= 4)
            .or_else(|| my_site(&h))
        {
            return Some(cover(&[h, x]));
        }
    }
    // Marks with a secret, a told excuse ("i have to say i fell"), or nobody who knows. A
    // bare "i fell" is no excuse: children fall. Hiding marks is never a game, but a bruise
    // from football nobody noticed is (`benign`: "je porte" is also "the door").
    let game = c.has(Role::Benign);
    for m in c.all(Role::Marks).filter(|_| !game) {
        let why = c
            .all_of(&[Role::Secret, Role::Excuse])
            .next()
            .or_else(|| c.all(Role::Nobody).next().and(unseen()));
        if let Some(w) = why {
            return Some(cover(&[m, w]));
        }
    }
    // "i have to say i walked into a door", "ich soll sagen ich bin hingefallen": an excuse
    // the child is told to give.
    for e in c.all(Role::Excuse) {
        if let Some(f) = c.all(Role::Fall).find(|f| after(e, *f, 4)) {
            return Some(cover(&[e, f]));
        }
    }
    // "i said i fell down the stairs but its not true".
    let fall = c.all(Role::Fall).next()?;
    let untrue = c.all(Role::Untrue).find(|u| u.start >= fall.end)?;
    Some(cover(&[fall, untrue]))
}

/// Not wanting to go to an adult's place: "i dont want to go to my uncles anymore", "ich
/// will nicht mehr zu papa", "je veux plus aller chez mon père", "dont make me go back to my
/// dads". Not a boring visit or a party (`everyday`, `surprise`).
fn avoids_an_adult(c: &Clause, _: Settings) -> Option<Range<usize>> {
    if c.any_of(&[Role::Everyday, Role::Surprise, Role::Benign]) {
        return None;
    }
    let wishes = c.all_of(&[Role::Wish, Role::Cause]).filter(|w| {
        (w.role == Role::Cause || c.said_by_me(*w))
            && c.negation_in(w.start.saturating_sub(3), w.end + 1, &[*w])
    });
    for w in wishes {
        let Some(g) = c.all(Role::GoTo).find(|g| after(w, *g, 3)) else {
            continue;
        };
        if let Some(p) = c.all(Role::Person).find(|p| after(g, *p, 3)) {
            return Some(cover(&[w, p]));
        }
    }
    None
}

/// Sleep lost to fights at home: "i dont sleep much cos of the shouting downstairs", "ich kann
/// nachts nicht schlafen weil sie sich anschreien". Not a storm, fireworks or a film.
fn kept_awake(c: &Clause, _: Settings) -> Option<Range<usize>> {
    if c.any_of(&[Role::Everyday, Role::Benign, Role::Comfort]) {
        return None;
    }
    let s = c.all(Role::Sleep).next()?;
    if !c.negation_in(s.start.saturating_sub(4), s.end + 1, &[s]) {
        return None;
    }
    let n = c.all(Role::Noise).next()?;
    Some(cover(&[s, n]))
}

/// Pills the child took secretly, many, or someone else's: "i took a few of mums tablets to
/// see what happens", "ich hab heimlich tabletten von mama genommen". Not "i took a tablet
/// for my headache".
fn pills_taken(c: &Clause, _: Settings) -> Option<Range<usize>> {
    let p = c.all(Role::Pills).next()?;
    let t = c.all(Role::Took).find(|t| gap(*t, p) <= 5)?;
    if !c.any_of(&[Role::I, Role::Me]) {
        return None;
    }
    let why = c
        .all_of(&[Role::Many, Role::Secret, Role::Person])
        .find(|o| !overlaps(*o, p) && !overlaps(*o, t))?;
    Some(cover(&[p, t, why]))
}

/// Someone online who wants the child's address or school, also said over two sentences
/// ("a man in minecraft says hes 13. he wants my address"). Only in the pair of clauses;
/// in one clause `grooming` finds it.
fn asks_details(c: &Clause, _: Settings) -> Option<Range<usize>> {
    let d = c.all(Role::MyDetails).next()?;
    let who = c.all_of(&[Role::Stranger, Role::Person]).next()?;
    c.has(Role::Online).then(|| cover(&[who, d]))
}

/// Drinking with fear or "bad" at home: "it gets really bad when mum drinks", "wenn papa
/// betrunken ist hab ich angst". A harming act with drink is `abuse` (drink is a marker).
fn drunk_at_home(c: &Clause, _: Settings) -> Option<Range<usize>> {
    let d = c.all(Role::Drunk).next()?;
    let with = c.all_of(&[Role::Bad, Role::Fear, Role::Home]).next()?;
    Some(cover(&[d, with]))
}

/// Someone in the child's bed at night, being made to undress, pictures of the child with
/// nudity, secrecy or a stranger, a stranger online who wants to meet.
fn grooming(c: &Clause, _: Settings) -> Option<Range<usize>> {
    // "my little sister sleeps in bed with me when theres a storm": a small child who wants
    // comfort (the file's `comfort` words), not an adult. A game is no excuse here.
    let comfort = c.has(Role::Comfort);
    if let (false, Some(r)) = (comfort, c.together(&[Role::Bed, Role::Person, Role::Night])) {
        return Some(r);
    }
    // "he gets into bed with me", "legt sich zu mir ins bett": someone in the child's bed
    // says it without a night.
    if let (false, Some(r)) = (
        comfort,
        c.together(&[Role::Bed, Role::Person, Role::WithMe]),
    ) {
        return Some(r);
    }
    // "wants me to sit on his lap", "will dass ich mich auf seinen schoss setze": closeness an
    // adult asks for, made or kept secret. A lap alone is a grandad's story time.
    if let Some(i) = c.all(Role::Intimate).next() {
        // "er will immer", "he wants": someone else's wish, not the child's own.
        let adult_wants = || {
            c.all(Role::Wish)
                .find(|w| c.has(Role::Person) && !c.said_by_me(*w))
        };
        let why = c
            .all_of(&[Role::Cause, Role::Secret, Role::Marker])
            .next()
            .or_else(adult_wants);
        if let Some(w) = why {
            return Some(cover(&[i, w]));
        }
    }
    if let Some(u) = c.all(Role::Undress).next() {
        let who = c.all_of(&[Role::Person, Role::Cause]).next();
        let me = c.all_of(&[Role::Me, Role::My, Role::I]).next();
        if let (Some(w), Some(m)) = (who, me) {
            return Some(cover(&[u, w, m]));
        }
    }
    // "someone online said theyd share my pics if i dont send more": pictures held over the
    // child.
    if let (Some(p), Some(l), Some(_)) = (
        c.all(Role::Pictures).next(),
        c.all(Role::Leak).next(),
        c.all(Role::If).next(),
    ) {
        if c.any_of(&[Role::Person, Role::Stranger, Role::Online])
            && c.any_of(&[Role::My, Role::I, Role::Me])
        {
            return Some(cover(&[p, l]));
        }
    }
    for p in c.all(Role::Pictures) {
        // "asks me for pics", "pics of me"; or the child sends them to someone who wants
        // nudity or secrecy ("will dass ich ihm bilder schicke und es geheim halte").
        let of_me = c.all(Role::Me).any(|m| gap(p, m) <= 3)
            || (c.all(Role::I).any(|i| gap(p, i) <= 3)
                && c.any_of(&[Role::Person, Role::Stranger])
                && c.any_of(&[Role::Nude, Role::Secret]));
        let why = c
            .all_of(&[Role::Nude, Role::Secret, Role::Stranger, Role::Online])
            .next();
        if let (true, Some(w)) = (of_me, why) {
            return Some(cover(&[p, w]));
        }
    }
    if let Some(s) = c.all(Role::Stranger).next() {
        let online = c.has(Role::Online);
        // "a guy on roblox keeps asking what im wearing", "fragt was ich anhab"; or the
        // child's address or school.
        if let (true, Some(w)) = (online, c.all_of(&[Role::Wearing, Role::MyDetails]).next()) {
            return Some(cover(&[s, w]));
        }
        let meet = c.has(Role::Meet);
        let wants = c.all_of(&[Role::Meet, Role::Pictures, Role::Secret]).next();
        if let (true, Some(w)) = (online || (meet && c.has(Role::Secret)), wants) {
            return Some(cover(&[s, w]));
        }
    }
    None
}

/// Contempt for a group: "black ppl are so dirty", "je déteste les juifs", "los
/// discapacitados no deberían venir".
fn hate(c: &Clause) -> Option<Range<usize>> {
    for g in c.all(Role::Group) {
        if let Some(k) = c.all(Role::Contempt).find(|k| after(g, *k, 6)) {
            return Some(cover(&[g, k]));
        }
        if let Some(s) = c.all(Role::Should).find(|s| after(g, *s, 4)) {
            return Some(cover(&[g, s]));
        }
        if let Some(h) = c.all(Role::HateVerb).find(|h| after(*h, g, 3)) {
            return Some(cover(&[h, g]));
        }
    }
    None
}

/// Nudity or underwear asked for, shown or about "you": "whats ur bra size", "schick mal ein
/// foto ohne klamotten".
fn sexual(c: &Clause) -> Option<Range<usize>> {
    let n = c.all(Role::Nude).next()?;
    let with = c
        .all_of(&[Role::You, Role::Request, Role::Pictures, Role::Me])
        .find(|o| !overlaps(*o, n))?;
    Some(cover(&[n, with]))
}

/// Attempts to switch the AI's rules off or to get harm out of it.
fn jailbreak(c: &Clause) -> Option<Range<usize>> {
    for o in c.all(Role::Override) {
        for y in c.all(Role::Yours).filter(|y| after(o, *y, 3)) {
            if let Some(r) = c.all(Role::Rules).find(|r| after(y, *r, 3)) {
                return Some(cover(&[o, r]));
            }
        }
    }
    // "lets pretend there are no rules in our fantasy land", "on fait comme si": a game the
    // children play together, unless it is about "you", the agent.
    let our_game = c.has(Role::We) && !c.has(Role::You);
    for p in c
        .all_of(&[Role::Pretend, Role::RoleSwitch])
        .filter(|p| !(our_game && p.role == Role::Pretend))
    {
        if let Some(r) = c
            .all_of(&[Role::Rules, Role::Evil])
            .find(|r| !overlaps(*r, p) && after(p, *r, 8))
        {
            return Some(cover(&[p, r]));
        }
    }
    for h in c.all(Role::HowTo) {
        if let Some(d) = c.all(Role::Dangerous).find(|d| after(h, *d, 6)) {
            return Some(cover(&[h, d]));
        }
    }
    for s in c.all(Role::SayCmd) {
        if c.negation_in(s.start.saturating_sub(2), s.start, &[s]) {
            continue;
        }
        if let Some(w) = c.all(Role::Swear).find(|w| after(s, *w, 5)) {
            return Some(cover(&[s, w]));
        }
    }
    for i in c.all(Role::InsultCmd) {
        if let Some(m) = c.all(Role::Me).find(|m| gap(i, *m) <= 1) {
            return Some(cover(&[i, m]));
        }
    }
    None
}

/// "I will" with a violent act on "you": "ima beat u up", "je te plante", "te voy a romper
/// el brazo"; "ur gonna get stabbed"; not in a game ("i'll kill you in fortnite").
fn threat(c: &Clause, s: Settings) -> Option<Range<usize>> {
    if c.has(Role::Benign) {
        return None;
    }
    for v in c.all(Role::Violent) {
        let by_me = c.all(Role::IWill).any(|i| after(i, v, 3));
        // "i will punch you" (the object follows), "je vais te frapper", "te voy a pegar".
        let object = |y: &Occ| {
            !overlaps(*y, v)
                && gap(*y, v) <= 3
                && (!s.object_after_verb || !by_me || y.start >= v.end)
        };
        if let Some(y) = c.all(Role::You).find(object) {
            if by_me && !c.negation_in(v.start.saturating_sub(2), v.start, &[v]) {
                return Some(cover(&[y, v]));
            }
            // "ur gonna get stabbed", "sonst kriegst du eine aufs maul": you get the act.
            let passive = c
                .all(Role::Passive)
                .any(|p| gap(p, y) <= 2 && p.end <= v.start && v.start - p.end <= 3);
            if passive {
                return Some(cover(&[y, v]));
            }
        }
    }
    for v in c.all(Role::Violent1p) {
        if let Some(y) = c.all(Role::You).find(|y| gap(*y, v) <= 1) {
            return Some(cover(&[y, v]));
        }
    }
    None
}

/// "my last names Patel", "mi nombre entero es", "im actually called", "eigentlich heiß
/// ich": a strong real-name cue ending after the name word (and a following "ich"/"je").
fn real_name_cues(c: &Clause) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut push = |parts: &[Occ]| {
        let mut r = cover(parts);
        if c.at(Role::I, r.end) {
            r.end += 1;
        }
        out.push(Hit {
            kind: Kind::Cue(Cue::RealName),
            words: r,
        });
    };
    for n in c.all(Role::NameWord) {
        if let Some(q) = c.all(Role::Qualifier).find(|q| gap(n, *q) <= 1) {
            push(&[n, q]);
        }
    }
    for r in c.all(Role::RealLife) {
        if let Some(v) = c.all(Role::NameVerb).find(|v| gap(r, *v) <= 1) {
            push(&[r, v]);
        }
    }
    out
}
