//! Inter-rater agreement: Cohen's kappa for pairs of coders and Krippendorff's alpha
//! (nominal) for any number of coders with missing data.
//!
//! Reliability is optional in thematic analysis (reflexive TA often skips it), so this module
//! only computes; nothing else depends on it.
//!
//! For codings the unit is the utterance and every code is a separate binary variable
//! ("did the coder apply code X to this utterance?"), because coders may apply several codes
//! to one utterance. Whether a coder who applied nothing to an utterance means "no" or
//! "did not look" is decided by [`Coverage`].

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{Codebook, Coding, UtteranceRef};
use crate::spreadsheet::guard_cell;

/// Cohen's kappa of two coders over the same units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Kappa {
    /// Units rated by both coders.
    pub n: u64,
    /// Proportion of units with the same category (p_o).
    pub observed: f64,
    /// Agreement expected by chance from each coder's own category proportions (p_e).
    pub expected: f64,
    /// (p_o - p_e) / (1 - p_e); `None` when undefined (no units, or p_e = 1 because both
    /// coders used one and the same category for everything).
    pub kappa: Option<f64>,
}

/// Cohen's kappa (1960) for pairs of categories (coder A's, coder B's), one pair per unit.
pub fn cohen_kappa<T: Eq + Hash>(pairs: impl IntoIterator<Item = (T, T)>) -> Kappa {
    let mut a: HashMap<T, u64> = HashMap::new();
    let mut b: HashMap<T, u64> = HashMap::new();
    let (mut n, mut agree) = (0u64, 0u64);
    for (x, y) in pairs {
        n += 1;
        if x == y {
            agree += 1;
        }
        *a.entry(x).or_default() += 1;
        *b.entry(y).or_default() += 1;
    }
    if n == 0 {
        return Kappa {
            n,
            observed: 0.0,
            expected: 0.0,
            kappa: None,
        };
    }
    let nf = n as f64;
    let expected = a
        .iter()
        .map(|(c, &na)| na as f64 * b.get(c).copied().unwrap_or(0) as f64)
        .sum::<f64>()
        / (nf * nf);
    kappa_from(n, agree as f64 / nf, expected)
}

fn kappa_from(n: u64, observed: f64, expected: f64) -> Kappa {
    let kappa = if n == 0 || (1.0 - expected).abs() < 1e-12 {
        None
    } else {
        Some((observed - expected) / (1.0 - expected))
    };
    Kappa {
        n,
        observed,
        expected,
        kappa,
    }
}

/// Krippendorff's alpha with its ingredients.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Alpha {
    /// Units with at least two values (only these are pairable).
    pub units: u64,
    /// Values in pairable units (n).
    pub values: u64,
    /// Observed disagreement D_o.
    pub observed_disagreement: f64,
    /// Disagreement expected by chance D_e.
    pub expected_disagreement: f64,
    /// 1 - D_o / D_e; `None` when undefined (fewer than two pairable values, or no variation:
    /// every value is the same category).
    pub alpha: Option<f64>,
}

/// Accumulates alpha unit by unit: n, Σ_c n_c² and Σ_u (m_u² − Σ_c n_uc²)/(m_u − 1).
#[derive(Debug, Default, Clone)]
struct AlphaAcc {
    units: u64,
    n: u64,
    disagreement: f64,
}

impl AlphaAcc {
    /// Adds a unit given the number of values per category in it.
    fn add_unit(&mut self, counts: impl Iterator<Item = u64> + Clone) {
        let m: u64 = counts.clone().sum();
        if m < 2 {
            return;
        }
        let sq: u64 = counts.map(|c| c * c).sum();
        self.units += 1;
        self.n += m;
        self.disagreement += (m * m - sq) as f64 / (m - 1) as f64;
    }

    /// `sum_sq` is Σ_c n_c² over the whole data.
    fn finish(&self, sum_sq: f64) -> Alpha {
        let n = self.n as f64;
        let observed = if self.n > 0 {
            self.disagreement / n
        } else {
            0.0
        };
        let expected = if self.n > 1 {
            (n * n - sum_sq) / (n * (n - 1.0))
        } else {
            0.0
        };
        let alpha = if self.n < 2 || expected.abs() < 1e-12 {
            None
        } else {
            Some(1.0 - observed / expected)
        };
        Alpha {
            units: self.units,
            values: self.n,
            observed_disagreement: observed,
            expected_disagreement: expected,
            alpha,
        }
    }
}

/// Krippendorff's alpha for nominal data (Krippendorff 2011, "Computing Krippendorff's
/// Alpha-Reliability"). Each item of `units` holds one value per coder, `None` where that
/// coder gave no value; units with fewer than two values are not pairable and ignored.
pub fn krippendorff_alpha_nominal<T, U>(units: impl IntoIterator<Item = U>) -> Alpha
where
    T: Eq + Hash,
    U: IntoIterator<Item = Option<T>>,
{
    let mut acc = AlphaAcc::default();
    let mut totals: HashMap<T, u64> = HashMap::new();
    for unit in units {
        let mut counts: HashMap<T, u64> = HashMap::new();
        for v in unit.into_iter().flatten() {
            *counts.entry(v).or_default() += 1;
        }
        let m: u64 = counts.values().sum();
        if m < 2 {
            continue;
        }
        acc.add_unit(counts.values().copied());
        for (k, c) in counts {
            *totals.entry(k).or_default() += c;
        }
    }
    acc.finish(totals.values().map(|&c| (c * c) as f64).sum())
}

/// Which coders count as having looked at an utterance, when they applied no code to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Every coder coded every unit: no code means "code does not apply".
    AllUnits,
    /// A coder covered a group's whole transcript if they applied any code in that group
    /// (coders often split the groups between them). The default.
    #[default]
    GroupsCoded,
    /// A coder covered only the utterances they applied at least one code to.
    UnitsCoded,
}

/// Kappa of one pair of coders for one code, with its 2x2 table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairAgreement {
    pub coder_a: String,
    pub coder_b: String,
    /// Both applied the code.
    pub both: u64,
    pub only_a: u64,
    pub only_b: u64,
    /// Both covered the unit and neither applied the code.
    pub neither: u64,
    pub kappa: Kappa,
}

/// Agreement on one code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeAgreement {
    pub code_id: String,
    pub code_name: String,
    /// How often the code was applied to the units (all coders).
    pub applications: u64,
    /// Alpha over all coders.
    pub alpha: Alpha,
    /// Kappa for every pair of coders (in coder order).
    pub pairs: Vec<PairAgreement>,
}

/// Agreement for every codable code of a codebook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgreementReport {
    /// Coders, sorted by name.
    pub coders: Vec<String>,
    /// Units looked at.
    pub units: u64,
    pub coverage: Coverage,
    pub codes: Vec<CodeAgreement>,
    /// Codings left out: unknown code or an utterance not among the units.
    pub ignored_codings: u64,
}

/// Computes per-code agreement between all coders over `units` (each utterance once, e.g.
/// every visible utterance of the session). Memory grows with the codings, not the units.
pub fn agreement(
    codebook: &Codebook,
    codings: &[Coding],
    units: impl IntoIterator<Item = UtteranceRef>,
    coverage: Coverage,
) -> AgreementReport {
    let codes: Vec<usize> = (0..codebook.codes.len())
        .filter(|&i| codebook.codes[i].codable)
        .collect();
    let code_pos: HashMap<&str, usize> = codes
        .iter()
        .enumerate()
        .map(|(p, &i)| (codebook.codes[i].id.as_str(), p))
        .collect();
    let mut coders: Vec<&str> = codings.iter().map(|c| c.coder.as_str()).collect();
    coders.sort_unstable();
    coders.dedup();
    let coder_pos = |name: &str| coders.binary_search(&name).expect("listed");

    let mut applied: HashMap<UtteranceRef, Vec<(usize, usize)>> = HashMap::new();
    let mut groups_coded: HashSet<(usize, i64)> = HashSet::new();
    let mut seen = HashSet::new();
    let mut ignored = 0u64;
    for c in codings {
        let Some(&code) = code_pos.get(c.code_id.as_str()) else {
            ignored += 1;
            continue;
        };
        let coder = coder_pos(&c.coder);
        if seen.insert((coder, code, c.unit())) {
            applied.entry(c.unit()).or_default().push((coder, code));
            groups_coded.insert((coder, c.group_id));
        }
    }
    let total = seen.len() as u64;

    let nc = coders.len();
    let pairs: Vec<(usize, usize)> = (0..nc)
        .flat_map(|a| (a + 1..nc).map(move |b| (a, b)))
        .collect();
    let mut alpha_acc = vec![AlphaAcc::default(); codes.len()];
    let mut ones = vec![0u64; codes.len()];
    let mut zeros = vec![0u64; codes.len()];
    // [both, only_a, only_b, neither] per code and pair.
    let mut tables = vec![[0u64; 4]; codes.len() * pairs.len()];
    let mut applications = vec![0u64; codes.len()];
    let mut matched = 0u64;
    let mut unit_count = 0u64;
    let mut covered = vec![false; nc];
    let mut has = vec![false; nc];
    for unit in units {
        unit_count += 1;
        let here = applied.get(&unit).map(Vec::as_slice).unwrap_or(&[]);
        matched += here.len() as u64;
        for (c, cov) in covered.iter_mut().enumerate() {
            *cov = match coverage {
                Coverage::AllUnits => true,
                Coverage::GroupsCoded => groups_coded.contains(&(c, unit.group_id)),
                Coverage::UnitsCoded => here.iter().any(|&(coder, _)| coder == c),
            };
        }
        let m = covered.iter().filter(|&&c| c).count() as u64;
        for code in 0..codes.len() {
            has.iter_mut().for_each(|h| *h = false);
            for &(coder, _) in here.iter().filter(|&&(_, k)| k == code) {
                has[coder] = true;
            }
            let k = has.iter().filter(|&&h| h).count() as u64;
            applications[code] += k;
            if m >= 2 {
                alpha_acc[code].add_unit([k, m - k].into_iter());
                ones[code] += k;
                zeros[code] += m - k;
            }
            for (p, &(a, b)) in pairs.iter().enumerate() {
                if covered[a] && covered[b] {
                    let cell = match (has[a], has[b]) {
                        (true, true) => 0,
                        (true, false) => 1,
                        (false, true) => 2,
                        (false, false) => 3,
                    };
                    tables[code * pairs.len() + p][cell] += 1;
                }
            }
        }
    }

    let results = codes
        .iter()
        .enumerate()
        .map(|(p, &i)| {
            let sum_sq = (ones[p] * ones[p] + zeros[p] * zeros[p]) as f64;
            let pair_results = pairs
                .iter()
                .enumerate()
                .map(|(q, &(a, b))| {
                    let [both, only_a, only_b, neither] = tables[p * pairs.len() + q];
                    let n = both + only_a + only_b + neither;
                    let kappa = if n == 0 {
                        kappa_from(0, 0.0, 0.0)
                    } else {
                        let nf = n as f64;
                        let pa = (both + only_a) as f64 / nf;
                        let pb = (both + only_b) as f64 / nf;
                        kappa_from(
                            n,
                            (both + neither) as f64 / nf,
                            pa * pb + (1.0 - pa) * (1.0 - pb),
                        )
                    };
                    PairAgreement {
                        coder_a: coders[a].to_owned(),
                        coder_b: coders[b].to_owned(),
                        both,
                        only_a,
                        only_b,
                        neither,
                        kappa,
                    }
                })
                .collect();
            CodeAgreement {
                code_id: codebook.codes[i].id.clone(),
                code_name: codebook.codes[i].name.clone(),
                applications: applications[p],
                alpha: alpha_acc[p].finish(sum_sq),
                pairs: pair_results,
            }
        })
        .collect();
    AgreementReport {
        coders: coders.iter().map(|s| s.to_string()).collect(),
        units: unit_count,
        coverage,
        codes: results,
        ignored_codings: ignored + (total - matched),
    }
}

fn num(x: Option<f64>) -> String {
    x.map_or_else(String::new, |v| format!("{v:.4}"))
}

/// Writes the report as CSV: one row per code and pair of coders (one row per code when
/// there are fewer than two coders), the code's alpha repeated on each of its rows. Code and
/// coder names are guarded against spreadsheet formulas ([`crate::spreadsheet`]).
pub fn write_agreement_csv<W: Write>(report: &AgreementReport, out: W) -> Result<()> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record([
        "code_id",
        "code_name",
        "applications",
        "alpha",
        "alpha_units",
        "alpha_values",
        "coder_a",
        "coder_b",
        "units_both_coded",
        "both",
        "only_a",
        "only_b",
        "neither",
        "percent_agreement",
        "kappa",
    ])?;
    for c in &report.codes {
        let head = [
            guard_cell(&c.code_id).into_owned(),
            guard_cell(&c.code_name).into_owned(),
            c.applications.to_string(),
            num(c.alpha.alpha),
            c.alpha.units.to_string(),
            c.alpha.values.to_string(),
        ];
        if c.pairs.is_empty() {
            w.write_record(
                head.iter()
                    .map(String::as_str)
                    .chain(["", "", "", "", "", "", "", "", ""]),
            )?;
        }
        for p in &c.pairs {
            let tail = [
                guard_cell(&p.coder_a).into_owned(),
                guard_cell(&p.coder_b).into_owned(),
                p.kappa.n.to_string(),
                p.both.to_string(),
                p.only_a.to_string(),
                p.only_b.to_string(),
                p.neither.to_string(),
                num((p.kappa.n > 0).then_some(100.0 * p.kappa.observed)),
                num(p.kappa.kappa),
            ];
            w.write_record(head.iter().chain(tail.iter()))?;
        }
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Code;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() < tol
    }

    /// Cohen's kappa, worked example from Wikipedia "Cohen's kappa" (50 grant proposals, two
    /// readers: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no): p_o = 0.7, p_e = 0.5, kappa = 0.4.
    #[test]
    fn kappa_textbook_example() {
        let pairs = std::iter::repeat_n(("yes", "yes"), 20)
            .chain(std::iter::repeat_n(("yes", "no"), 5))
            .chain(std::iter::repeat_n(("no", "yes"), 10))
            .chain(std::iter::repeat_n(("no", "no"), 15));
        let k = cohen_kappa(pairs);
        assert_eq!(k.n, 50);
        assert!(close(k.observed, 0.7, 1e-12));
        assert!(close(k.expected, 0.5, 1e-12));
        assert!(close(k.kappa.unwrap(), 0.4, 1e-12));
    }

    /// Same source, "same percentages but different numbers": tables (45,15,25,15) and
    /// (25,35,5,35) both have p_o = 0.60 but kappa 0.1304 and 0.2593.
    #[test]
    fn kappa_depends_on_marginals() {
        let table = |yy, yn, ny, nn| {
            std::iter::repeat_n((1, 1), yy)
                .chain(std::iter::repeat_n((1, 0), yn))
                .chain(std::iter::repeat_n((0, 1), ny))
                .chain(std::iter::repeat_n((0, 0), nn))
        };
        let k1 = cohen_kappa(table(45, 15, 25, 15));
        let k2 = cohen_kappa(table(25, 35, 5, 35));
        assert!(close(k1.observed, 0.6, 1e-12) && close(k2.observed, 0.6, 1e-12));
        assert!(close(k1.kappa.unwrap(), 0.1304, 5e-5), "{k1:?}");
        assert!(close(k2.kappa.unwrap(), 0.2593, 5e-5), "{k2:?}");
    }

    #[test]
    fn kappa_undefined_cases() {
        assert_eq!(cohen_kappa(Vec::<(u8, u8)>::new()).kappa, None);
        assert_eq!(cohen_kappa([(1, 1), (1, 1)]).kappa, None);
        assert!(close(
            cohen_kappa([(1, 1), (0, 0)]).kappa.unwrap(),
            1.0,
            1e-12
        ));
    }

    /// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four
    /// observers, twelve units, missing values; nominal alpha = 0.743.
    #[test]
    fn alpha_krippendorff_worked_example_with_missing_data() {
        let obs: [[Option<u8>; 12]; 4] = [
            [
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(1),
                Some(4),
                Some(1),
                Some(2),
                None,
                None,
                None,
            ],
            [
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(2),
                Some(4),
                Some(1),
                Some(2),
                Some(5),
                None,
                Some(3),
            ],
            [
                None,
                Some(3),
                Some(3),
                Some(3),
                Some(2),
                Some(3),
                Some(4),
                Some(2),
                Some(2),
                Some(5),
                Some(1),
                None,
            ],
            [
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(4),
                Some(4),
                Some(1),
                Some(2),
                Some(5),
                Some(1),
                None,
            ],
        ];
        let units = (0..12).map(|u| obs.iter().map(move |o| o[u]));
        let a = krippendorff_alpha_nominal(units);
        assert_eq!(a.units, 11, "unit 12 has a single value");
        assert_eq!(a.values, 40);
        assert!(close(a.alpha.unwrap(), 0.743, 5e-4), "{a:?}");
    }

    /// Krippendorff (2011), section A: two observers, ten units, binary data; alpha = 0.095.
    #[test]
    fn alpha_krippendorff_binary_example() {
        let a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0];
        let b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0];
        let alpha = krippendorff_alpha_nominal((0..10).map(|u| [Some(a[u]), Some(b[u])]));
        assert!(close(alpha.alpha.unwrap(), 0.095, 5e-4), "{alpha:?}");
    }

    #[test]
    fn alpha_undefined_without_variation() {
        assert_eq!(
            krippendorff_alpha_nominal([[Some(1), Some(1)], [Some(1), Some(1)]]).alpha,
            None
        );
        assert_eq!(krippendorff_alpha_nominal([[Some(1), None]]).alpha, None);
    }

    fn unit(seq: i64) -> UtteranceRef {
        UtteranceRef { group_id: 1, seq }
    }

    #[test]
    fn codings_agree_with_the_generic_formulas() {
        // Krippendorff's binary example as codings: code "x" applied where the value is 1.
        let a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0];
        let b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0];
        let cb = Codebook {
            codes: vec![Code::new("x", "X"), Code::new("y", "Y")],
        };
        let mut codings = Vec::new();
        for s in 0..10 {
            if a[s] == 1 {
                codings.push(Coding::new("ann", "x", 1, s as i64));
            }
            if b[s] == 1 {
                codings.push(Coding::new("bob", "x", 1, s as i64));
            }
        }
        codings.push(Coding::new("bob", "x", 1, 5)); // duplicate: counted once
        codings.push(Coding::new("bob", "zzz", 1, 5)); // unknown code
        codings.push(Coding::new("bob", "x", 1, 99)); // not a unit
        let r = agreement(&cb, &codings, (0..10).map(unit), Coverage::AllUnits);
        assert_eq!(r.coders, ["ann", "bob"]);
        assert_eq!(r.units, 10);
        assert_eq!(r.ignored_codings, 2);
        let x = &r.codes[0];
        assert_eq!(x.applications, 6);
        assert!(close(x.alpha.alpha.unwrap(), 0.095, 5e-4));
        let generic = cohen_kappa((0..10).map(|u| (a[u], b[u])));
        let pair = &x.pairs[0];
        assert_eq!(
            (pair.both, pair.only_a, pair.only_b, pair.neither),
            (1, 1, 3, 5)
        );
        assert!(close(
            pair.kappa.kappa.unwrap(),
            generic.kappa.unwrap(),
            1e-12
        ));
        assert!(close(generic.kappa.unwrap(), (0.6 - 0.56) / 0.44, 1e-12));
        // Code y was never applied: no variation, undefined.
        assert_eq!(r.codes[1].alpha.alpha, None);
        assert_eq!(r.codes[1].pairs[0].kappa.kappa, None);
        let mut csv = Vec::new();
        write_agreement_csv(&r, &mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("x,X,6,0.0952,10,20,ann,bob,10,1,1,3,5,60.0000,0.0909"),
            "{csv}"
        );
    }

    #[test]
    fn csv_guards_code_and_coder_names() {
        let cb = Codebook {
            codes: vec![Code::new("=id", "@cmd")],
        };
        let codings = vec![
            Coding::new("=HYPERLINK(\"x\")", "=id", 1, 1),
            Coding::new("-bob", "=id", 1, 2),
        ];
        let r = agreement(&cb, &codings, (1..=2).map(unit), Coverage::AllUnits);
        let mut out = Vec::new();
        write_agreement_csv(&r, &mut out).unwrap();
        let mut reader = ::csv::Reader::from_reader(&out[..]);
        for record in reader.records() {
            for cell in record.unwrap().iter() {
                let numeric = cell.parse::<f64>().is_ok();
                assert!(
                    numeric || !crate::spreadsheet::starts_like_formula(cell),
                    "{cell:?}"
                );
            }
        }
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("'=id,'@cmd,"), "{text}");
    }

    #[test]
    fn coverage_rules_make_missing_data() {
        // Three coders; carol only coded group 2, so under GroupsCoded she is missing in group 1.
        let cb = Codebook {
            codes: vec![Code::new("x", "X")],
        };
        let codings = vec![
            Coding::new("ann", "x", 1, 1),
            Coding::new("bob", "x", 1, 1),
            Coding::new("bob", "x", 1, 2),
            Coding::new("carol", "x", 2, 1),
            Coding::new("ann", "x", 2, 1),
        ];
        let units = [
            UtteranceRef {
                group_id: 1,
                seq: 1,
            },
            UtteranceRef {
                group_id: 1,
                seq: 2,
            },
            UtteranceRef {
                group_id: 1,
                seq: 3,
            },
            UtteranceRef {
                group_id: 2,
                seq: 1,
            },
            UtteranceRef {
                group_id: 2,
                seq: 2,
            },
        ];
        let groups = agreement(&cb, &codings, units, Coverage::GroupsCoded);
        // Same data as a reliability matrix (x = 1, not applied = 0, not covered = None).
        let expected = krippendorff_alpha_nominal([
            [Some(1), Some(1), None],
            [Some(0), Some(1), None],
            [Some(0), Some(0), None],
            [Some(1), None, Some(1)],
            [Some(0), None, Some(0)],
        ]);
        assert!(close(
            groups.codes[0].alpha.alpha.unwrap(),
            expected.alpha.unwrap(),
            1e-12
        ));
        assert_eq!(groups.codes[0].alpha.values, expected.values);
        let ann_carol = &groups.codes[0].pairs[1];
        assert_eq!(
            (ann_carol.coder_a.as_str(), ann_carol.coder_b.as_str()),
            ("ann", "carol")
        );
        assert_eq!(ann_carol.kappa.n, 2);
        let units_only = agreement(&cb, &codings, units, Coverage::UnitsCoded);
        // Only units where a coder applied something count as covered: every value is 1.
        assert_eq!(units_only.codes[0].alpha.alpha, None);
        assert_eq!(units_only.codes[0].alpha.units, 2);
    }
}
