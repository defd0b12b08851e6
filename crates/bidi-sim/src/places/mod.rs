//! What a question is about, read from its words without a model: the place it names (a
//! gazetteer of a few hundred world cities and countries, each with its IANA time zone) and
//! the arithmetic it asks for. Scenario rules use them through placeholders
//! ([`Slots`]: `{place}`, `{timezone}`, `{expression}`, `{spoken_expression}`), so an offline
//! demo answers what was asked.
//!
//! Pure functions, no IO.
//!
//! ```
//! use bidi_sim::places::{Slots, find_place};
//!
//! let paris = find_place("What time is it in Paris?").expect("a place");
//! assert_eq!((paris.name, paris.timezone), ("Paris", "Europe/Paris"));
//! let slots = Slots::from_text("What is 6 times 9?");
//! assert_eq!(slots.expression.as_deref(), Some("6 * 9"));
//! assert_eq!(slots.spoken_expression.as_deref(), Some("6 times 9"));
//! assert!(find_place("What time is it on the moon?").is_none());
//! ```

/// A place the gazetteer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// How to say it (`Buenos Aires`, `the United Kingdom`).
    pub name: &'static str,
    /// Its IANA time zone (a country: its capital's).
    pub timezone: &'static str,
}

mod gazetteer;

use gazetteer::GAZETTEER;

/// The words of `text`, lower-case, letters and digits only (`São` → `sao`, `St.` → `st`).
fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'Ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'Ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'Ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            '-' | '\'' | '’' => ' ',
            c => c,
        })
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The place `text` names: the longest gazetteer name found on word boundaries (`New York`
/// before `York`), the first such in the text when several are.
pub fn find_place(text: &str) -> Option<Place> {
    let words = words(text);
    let mut best: Option<(usize, usize, Place)> = None; // (length in words, start, place)
    for (name, display, zone) in GAZETTEER {
        let needle: Vec<&str> = name.split(' ').collect();
        let Some(start) = words
            .windows(needle.len())
            .position(|w| w.iter().zip(&needle).all(|(a, b)| a == b))
        else {
            continue;
        };
        let better = best
            .is_none_or(|(len, at, _)| needle.len() > len || (needle.len() == len && start < at));
        if better {
            best = Some((
                needle.len(),
                start,
                Place {
                    name: display,
                    timezone: zone,
                },
            ));
        }
    }
    best.map(|(_, _, place)| place)
}

/// How an operator may be spoken, and its symbol.
const OPERATORS: &[(&str, &str)] = &[
    ("times", "*"),
    ("x", "*"),
    ("multiplied by", "*"),
    ("*", "*"),
    ("×", "*"),
    ("plus", "+"),
    ("+", "+"),
    ("minus", "-"),
    ("-", "-"),
    ("divided by", "/"),
    ("over", "/"),
    ("/", "/"),
    ("÷", "/"),
];

/// The first `NUMBER OPERATOR NUMBER ...` run in `text`: the expression with symbols
/// (`12 * 7`) and as it was spoken (`12 times 7`).
pub fn find_expression(text: &str) -> Option<(String, String)> {
    // Tokens: numbers, operator symbols, and words.
    let spaced: String = text
        .chars()
        .flat_map(|c| {
            if matches!(c, '*' | '+' | '/' | '×' | '÷') {
                vec![' ', c, ' ']
            } else if c == '?' || c == ',' || c == '!' {
                vec![' ']
            } else {
                vec![c]
            }
        })
        .collect();
    let tokens: Vec<String> = spaced
        .split_whitespace()
        .map(|t| t.trim_end_matches('.').to_lowercase())
        .collect();
    let is_number = |t: &str| !t.is_empty() && t.parse::<f64>().is_ok_and(f64::is_finite);
    let operator_at = |i: usize| -> Option<(usize, &'static str)> {
        OPERATORS.iter().find_map(|(spoken, symbol)| {
            let parts: Vec<&str> = spoken.split(' ').collect();
            let fits = tokens.len() >= i + parts.len()
                && parts.iter().enumerate().all(|(k, p)| tokens[i + k] == *p);
            fits.then_some((parts.len(), *symbol))
        })
    };
    for start in 0..tokens.len() {
        if !is_number(&tokens[start]) {
            continue;
        }
        let mut symbolic = vec![tokens[start].clone()];
        let mut spoken = vec![tokens[start].clone()];
        let mut i = start + 1;
        while let Some((len, symbol)) = operator_at(i) {
            let Some(next) = tokens.get(i + len).filter(|t| is_number(t)) else {
                break;
            };
            symbolic.push(symbol.to_owned());
            symbolic.push(next.clone());
            spoken.extend(tokens[i..i + len].iter().cloned());
            spoken.push(next.clone());
            i += len + 1;
        }
        if symbolic.len() >= 3 {
            return Some((symbolic.join(" "), spoken.join(" ")));
        }
    }
    None
}

/// The values a rule's placeholders take from one question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slots {
    /// `{place}`: the place named.
    pub place: Option<String>,
    /// `{timezone}`: its IANA time zone.
    pub timezone: Option<String>,
    /// `{expression}`: the arithmetic asked for, with symbols (`12 * 7`).
    pub expression: Option<String>,
    /// `{spoken_expression}`: the same as spoken (`12 times 7`).
    pub spoken_expression: Option<String>,
}

impl Slots {
    /// What `text` says.
    pub fn from_text(text: &str) -> Self {
        let place = find_place(text);
        let expression = find_expression(text);
        Self {
            place: place.map(|p| p.name.to_owned()),
            timezone: place.map(|p| p.timezone.to_owned()),
            spoken_expression: expression.as_ref().map(|e| e.1.clone()),
            expression: expression.map(|e| e.0),
        }
    }

    /// `template` with every placeholder filled; `None` when it names a placeholder this
    /// question did not give (the rule then does not answer it).
    pub fn fill(&self, template: &str) -> Option<String> {
        let mut out = template.to_owned();
        for (key, value) in [
            ("{place}", &self.place),
            ("{timezone}", &self.timezone),
            ("{spoken_expression}", &self.spoken_expression),
            ("{expression}", &self.expression),
        ] {
            if out.contains(key) {
                out = out.replace(key, value.as_deref()?);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_on_word_boundaries_longest_first() {
        let zone = |t: &str| find_place(t).map(|p| p.timezone);
        assert_eq!(zone("time in new york please"), Some("America/New_York"));
        assert_eq!(
            zone("What's the time in BUENOS AIRES?"),
            Some("America/Argentina/Buenos_Aires")
        );
        assert_eq!(
            zone("what time is it in São Paulo"),
            Some("America/Sao_Paulo")
        );
        assert_eq!(zone("and in Japan?"), Some("Asia/Tokyo"));
        assert_eq!(zone("weather in Nairobi, Kenya"), Some("Africa/Nairobi"));
        assert_eq!(zone("parisian time"), None, "no match inside a word");
        assert_eq!(zone("what time is it"), None);
        assert_eq!(
            find_place("in the uk").map(|p| p.name),
            Some("the United Kingdom")
        );
    }

    #[test]
    fn every_entry_is_lower_case_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (name, _, zone) in GAZETTEER {
            assert_eq!(*name, name.to_lowercase());
            assert!(seen.insert(*name), "{name} twice");
            assert!(zone.contains('/'), "{zone}");
        }
        assert!(GAZETTEER.len() >= 300);
    }

    #[test]
    fn expressions() {
        let e = |t: &str| find_expression(t);
        assert_eq!(
            e("What is 12 times 7?"),
            Some(("12 * 7".into(), "12 times 7".into()))
        );
        assert_eq!(
            e("what's 15 divided by 3"),
            Some(("15 / 3".into(), "15 divided by 3".into()))
        );
        assert_eq!(
            e("3 plus 4 minus 1"),
            Some(("3 + 4 - 1".into(), "3 plus 4 minus 1".into()))
        );
        assert_eq!(e("2*21"), Some(("2 * 21".into(), "2 * 21".into())));
        assert_eq!(e("what time is it in 2026"), None);
        assert_eq!(e("times 7"), None);
    }

    #[test]
    fn slots_fill_or_refuse() {
        let s = Slots::from_text("What time is it in Lima?");
        assert_eq!(
            s.fill("In {place} ({timezone})").as_deref(),
            Some("In Lima (America/Lima)")
        );
        assert_eq!(s.fill("{expression}"), None);
        assert_eq!(s.fill("no placeholder").as_deref(), Some("no placeholder"));
    }
}
