//! The assistant's two tools, written with `#[tool]`: the time in a timezone and a
//! calculator.

use std::time::{SystemTime, UNIX_EPOCH};

use bidi_agent::tool;

/// Timezones the assistant knows, with their standard offset from UTC in minutes (daylight
/// saving time is not applied: a small fixed table keeps the example free of a timezone
/// database).
const ZONES: &[(&str, &str, i64)] = &[
    ("UTC", "utc", 0),
    ("Europe/London", "london", 0),
    ("Europe/Paris", "paris", 60),
    ("Europe/Berlin", "berlin", 60),
    ("Europe/Madrid", "madrid", 60),
    ("Europe/Moscow", "moscow", 180),
    ("Asia/Dubai", "dubai", 240),
    ("Asia/Kolkata", "india", 330),
    ("Asia/Singapore", "singapore", 480),
    ("Asia/Shanghai", "shanghai", 480),
    ("Asia/Tokyo", "tokyo", 540),
    ("Australia/Sydney", "sydney", 600),
    ("America/Sao_Paulo", "sao paulo", -180),
    ("America/New_York", "new york", -300),
    ("America/Chicago", "chicago", -360),
    ("America/Denver", "denver", -420),
    ("America/Los_Angeles", "los angeles", -480),
];

/// The zone and offset (minutes) for an IANA name or a city, case-insensitive.
pub fn zone(name: &str) -> Option<(&'static str, i64)> {
    let wanted = name.trim().to_lowercase().replace('_', " ");
    ZONES
        .iter()
        .find(|(iana, city, _)| iana.to_lowercase().replace('_', " ") == wanted || *city == wanted)
        .map(|(iana, _, offset)| (*iana, *offset))
}

/// `HH:MM` at `unix_secs` shifted by `offset_min`.
pub fn clock(unix_secs: u64, offset_min: i64) -> String {
    let minutes = (unix_secs / 60) as i64 + offset_min;
    let of_day = minutes.rem_euclid(24 * 60);
    format!("{:02}:{:02}", of_day / 60, of_day % 60)
}

/// Get the current time in a timezone.
///
/// # Arguments
/// * `timezone` - An IANA timezone such as `Asia/Tokyo`, or a city such as `Tokyo` (default UTC).
#[tool]
pub fn current_time(timezone: Option<String>) -> Result<String, String> {
    let name = timezone.unwrap_or_else(|| "UTC".to_owned());
    let (iana, offset) = zone(&name).ok_or_else(|| {
        let known: Vec<&str> = ZONES.iter().map(|z| z.0).collect();
        format!("unknown timezone {name:?}; known: {}", known.join(", "))
    })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("the system clock is before 1970: {e}"))?;
    Ok(format!("{} in {iana}", clock(now.as_secs(), offset)))
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
        assert_eq!(zone("Asia/Tokyo"), Some(("Asia/Tokyo", 540)));
        assert_eq!(zone("new york"), Some(("America/New_York", -300)));
        assert_eq!(zone("Atlantis"), None);
        // 1970-01-01 23:30 UTC is 08:30 the next day in Tokyo, 18:30 in New York.
        assert_eq!(clock(23 * 3600 + 1800, 540), "08:30");
        assert_eq!(clock(23 * 3600 + 1800, -300), "18:30");
        assert!(current_time::call(Some("Tokyo".into())).is_ok_and(|t| t.ends_with("Asia/Tokyo")));
        assert!(current_time::call(Some("Mars".into())).is_err());
    }
}
