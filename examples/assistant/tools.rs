//! The assistant's two tools, written with `#[tool]`: the time in any IANA time zone (from
//! the system's time zone database, daylight saving time included) and a calculator.

use bidi_agent::tool;

/// Cities the tool takes by name besides IANA names (`Asia/Tokyo`), with their zone.
const CITIES: &[(&str, &str)] = &[
    ("london", "Europe/London"),
    ("paris", "Europe/Paris"),
    ("berlin", "Europe/Berlin"),
    ("madrid", "Europe/Madrid"),
    ("moscow", "Europe/Moscow"),
    ("dubai", "Asia/Dubai"),
    ("india", "Asia/Kolkata"),
    ("singapore", "Asia/Singapore"),
    ("shanghai", "Asia/Shanghai"),
    ("tokyo", "Asia/Tokyo"),
    ("sydney", "Australia/Sydney"),
    ("sao paulo", "America/Sao_Paulo"),
    ("new york", "America/New_York"),
    ("chicago", "America/Chicago"),
    ("denver", "America/Denver"),
    ("los angeles", "America/Los_Angeles"),
];

/// The IANA zone for an IANA name (any case, `_` or space) or one of the city names the tool knows.
pub fn zone(name: &str) -> Option<jiff::tz::TimeZone> {
    let trimmed = name.trim();
    let wanted = trimmed.to_lowercase().replace('_', " ");
    let iana = CITIES
        .iter()
        .find(|(city, _)| *city == wanted)
        .map_or(trimmed.replace(' ', "_"), |(_, iana)| (*iana).to_owned());
    jiff::tz::TimeZone::get(&iana).ok()
}

/// Get the current time in a timezone.
///
/// # Arguments
/// * `timezone` - An IANA timezone such as `Asia/Tokyo`, or a city such as `Tokyo` (default UTC).
#[tool]
pub fn current_time(timezone: Option<String>) -> Result<String, String> {
    let name = timezone.unwrap_or_else(|| "UTC".to_owned());
    let tz = zone(&name).ok_or_else(|| {
        format!("unknown timezone {name:?}: give an IANA name such as Europe/Paris")
    })?;
    let now = jiff::Timestamp::now().to_zoned(tz.clone());
    let iana = tz.iana_name().unwrap_or(name.as_str());
    Ok(format!("{} in {iana}", now.strftime("%H:%M")))
}

/// Evaluate an arithmetic expression with + - * / and parentheses, e.g. `12 * 7`.
///
/// # Arguments
/// * `expression` - The expression; `x` and `times` also multiply.
#[tool]
pub fn calculator(expression: String) -> Result<String, String> {
    let value = evaluate(&expression)?;
    Ok(if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    })
}

/// Evaluates `expression` (numbers, + - * /, parentheses, unary minus).
pub fn evaluate(expression: &str) -> Result<f64, String> {
    let normalized = expression
        .to_lowercase()
        .replace("times", "*")
        .replace(['x', '×'], "*")
        .replace('÷', "/");
    let tokens = tokenize(&normalized)?;
    let mut parser = Parser { tokens, pos: 0 };
    let value = parser.sum()?;
    if parser.pos != parser.tokens.len() {
        return Err(format!("unexpected input in {expression:?}"));
    }
    if !value.is_finite() {
        return Err(format!("{expression:?} has no finite value"));
    }
    Ok(value)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Num(f64),
    Op(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_digit() || c == '.' {
            let mut number = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() || d == '.' {
                    number.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            let n = number
                .parse()
                .map_err(|_| format!("bad number {number:?}"))?;
            tokens.push(Token::Num(n));
        } else if "+-*/()".contains(c) {
            tokens.push(Token::Op(c));
            chars.next();
        } else {
            return Err(format!("unexpected character {c:?}"));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn sum(&mut self) -> Result<f64, String> {
        let mut value = self.product()?;
        while let Some(Token::Op(op @ ('+' | '-'))) = self.peek() {
            self.pos += 1;
            let rhs = self.product()?;
            value = if op == '+' { value + rhs } else { value - rhs };
        }
        Ok(value)
    }

    fn product(&mut self) -> Result<f64, String> {
        let mut value = self.factor()?;
        while let Some(Token::Op(op @ ('*' | '/'))) = self.peek() {
            self.pos += 1;
            let rhs = self.factor()?;
            if op == '/' && rhs == 0.0 {
                return Err("division by zero".into());
            }
            value = if op == '*' { value * rhs } else { value / rhs };
        }
        Ok(value)
    }

    fn factor(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some(Token::Num(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(Token::Op('-')) => {
                self.pos += 1;
                Ok(-self.factor()?)
            }
            Some(Token::Op('(')) => {
                self.pos += 1;
                let value = self.sum()?;
                if self.peek() != Some(Token::Op(')')) {
                    return Err("missing ')'".into());
                }
                self.pos += 1;
                Ok(value)
            }
            Some(Token::Op(c)) => Err(format!("unexpected {c:?}")),
            None => Err("the expression ends too early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calculator_follows_precedence_and_rejects_junk() {
        assert_eq!(calculator::call("12 times 7".into()), Ok("84".into()));
        assert_eq!(calculator::call("2 + 3 * (4 - 1)".into()), Ok("11".into()));
        assert_eq!(calculator::call("-3 / 2".into()), Ok("-1.5".into()));
        assert!(calculator::call("1 / 0".into()).is_err());
        assert!(calculator::call("2 +".into()).is_err());
        assert!(calculator::call("rm -rf".into()).is_err());
    }

    #[test]
    fn zones_resolve_by_name_or_city_and_clocks_wrap() {
        let iana = |n: &str| zone(n).and_then(|z| z.iana_name().map(str::to_owned));
        assert_eq!(iana("Asia/Tokyo").as_deref(), Some("Asia/Tokyo"));
        assert_eq!(iana("new york").as_deref(), Some("America/New_York"));
        assert_eq!(
            iana("america/buenos aires").as_deref(),
            Some("America/Buenos_Aires")
        );
        assert!(zone("Atlantis").is_none());
        // Daylight saving time applies: 2026-07-01 12:00 UTC is 14:00 in Paris, 13:00 in
        // winter's offset.
        let summer: jiff::Timestamp = "2026-07-01T12:00:00Z".parse().expect("timestamp");
        let paris = zone("Europe/Paris").expect("Paris");
        assert_eq!(
            summer.to_zoned(paris).strftime("%H:%M").to_string(),
            "14:00"
        );
        assert!(current_time::call(Some("Tokyo".into())).is_ok_and(|t| t.ends_with("Asia/Tokyo")));
        assert!(
            current_time::call(Some("Africa/Nairobi".into()))
                .is_ok_and(|t| t.ends_with("in Africa/Nairobi"))
        );
        assert!(current_time::call(Some("Mars".into())).is_err());
    }
}
