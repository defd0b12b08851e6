//! Inputs shaped like the wire: seeds edited at the JSON level (a value replaced by one of
//! another kind, a key dropped or renamed, a string or number pushed to an extreme, a word
//! from another frame put in) and at the byte level (flips, cuts, splices), strung into
//! sequences so stateful decoders see whole conversations.

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Number, Value};

/// The seeds of one target, parsed once, with the keys and strings found in them (the
/// dictionary JSON edits draw from).
#[derive(Debug)]
pub struct Corpus {
    seeds: Vec<Vec<u8>>,
    parsed: Vec<Option<Value>>,
    keys: Vec<String>,
    strings: Vec<String>,
}

impl Corpus {
    /// A corpus of `seeds` (each one frame).
    pub fn new(seeds: Vec<Vec<u8>>) -> Self {
        let parsed: Vec<Option<Value>> = seeds
            .iter()
            .map(|s| serde_json::from_slice(s).ok())
            .collect();
        let mut keys = Vec::new();
        let mut strings = Vec::new();
        for value in parsed.iter().flatten() {
            collect(value, &mut keys, &mut strings);
        }
        keys.sort();
        keys.dedup();
        strings.sort();
        strings.dedup();
        Self {
            seeds,
            parsed,
            keys,
            strings,
        }
    }

    /// The seeds, as given.
    pub fn seeds(&self) -> &[Vec<u8>] {
        &self.seeds
    }

    /// One frame: a seed as is, edited as JSON, edited as bytes, or random bytes.
    pub fn frame(&self, u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
        if self.seeds.is_empty() {
            return u.arbitrary();
        }
        let i = u.choose_index(self.seeds.len())?;
        Ok(match u.int_in_range(0..=9u8)? {
            0..=2 => self.seeds[i].clone(),
            3..=6 => match &self.parsed[i] {
                Some(value) => {
                    let mut value = value.clone();
                    for _ in 0..u.int_in_range(1..=4u8)? {
                        self.edit(u, &mut value, 0)?;
                    }
                    value.to_string().into_bytes()
                }
                None => self.bytes(u, &self.seeds[i])?,
            },
            7..=8 => self.bytes(u, &self.seeds[i])?,
            _ => u.arbitrary()?,
        })
    }

    /// A sequence of 1 to 8 frames joined by newlines (for targets that read one frame per
    /// line).
    pub fn lines(&self, u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for n in 0..u.int_in_range(1..=8u8)? {
            if n > 0 {
                out.push(b'\n');
            }
            let frame = self.frame(u)?;
            out.extend(frame.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
        }
        Ok(out)
    }

    /// `seed` with one to four byte edits.
    pub fn bytes(&self, u: &mut Unstructured<'_>, seed: &[u8]) -> Result<Vec<u8>> {
        let mut data = seed.to_vec();
        for _ in 0..u.int_in_range(1..=4u8)? {
            let len = data.len();
            match u.int_in_range(0..=5u8)? {
                0 if len > 0 => {
                    let i = u.choose_index(len)?;
                    data[i] ^= 1 << u.int_in_range(0..=7u8)?;
                }
                1 if len > 0 => {
                    let i = u.choose_index(len)?;
                    data[i] = u.arbitrary()?;
                }
                2 => {
                    let at = u.int_in_range(0..=len)?;
                    let extra: Vec<u8> = u.arbitrary()?;
                    data.splice(at..at, extra.into_iter().take(64));
                }
                3 if len > 0 => {
                    let from = u.choose_index(len)?;
                    let to = u.int_in_range(from..=len)?;
                    data.drain(from..to);
                }
                4 => data.truncate(u.int_in_range(0..=len)?),
                _ if !self.seeds.is_empty() => {
                    // Splice: the head of this frame, the tail of another.
                    let other = &self.seeds[u.choose_index(self.seeds.len())?];
                    let at = u.int_in_range(0..=len)?;
                    let from = u.int_in_range(0..=other.len())?;
                    data.truncate(at);
                    data.extend_from_slice(&other[from..]);
                }
                _ => {}
            }
        }
        Ok(data)
    }

    fn edit(&self, u: &mut Unstructured<'_>, value: &mut Value, depth: u8) -> Result<()> {
        match value {
            Value::Object(map) if !map.is_empty() && depth < 12 => {
                let i = u.choose_index(map.len())?;
                let Some(key) = map.keys().nth(i).cloned() else {
                    return Ok(());
                };
                match u.int_in_range(0..=9u8)? {
                    0 => {
                        map.remove(&key);
                    }
                    1 => {
                        if let Some(v) = map.remove(&key) {
                            map.insert(self.key(u)?, v);
                        }
                    }
                    2 => {
                        let v = self.value(u, depth)?;
                        map.insert(self.key(u)?, v);
                    }
                    _ => {
                        if let Some(child) = map.get_mut(&key) {
                            self.edit(u, child, depth + 1)?;
                        }
                    }
                }
            }
            Value::Array(items) if !items.is_empty() && depth < 12 => {
                let i = u.choose_index(items.len())?;
                match u.int_in_range(0..=5u8)? {
                    0 => {
                        items.remove(i);
                    }
                    1 => {
                        let copy = items[i].clone();
                        items.insert(i, copy);
                    }
                    _ => self.edit(u, &mut items[i], depth + 1)?,
                }
            }
            _ => *value = self.value(u, depth)?,
        }
        Ok(())
    }

    fn key(&self, u: &mut Unstructured<'_>) -> Result<String> {
        if !self.keys.is_empty() && u.ratio(3, 4)? {
            return Ok(self.keys[u.choose_index(self.keys.len())?].clone());
        }
        u.arbitrary()
    }

    fn value(&self, u: &mut Unstructured<'_>, depth: u8) -> Result<Value> {
        Ok(match u.int_in_range(0..=13u8)? {
            0 => Value::Null,
            1 => Value::Bool(u.arbitrary()?),
            2 => Value::from(*u.choose(&[0i64, -1, 1, i64::MIN, i64::MAX, 65_536, -65_536])?),
            3 => Value::from(u64::MAX),
            4 => Number::from_f64(*u.choose(&[0.5, -0.0, 1e308, -1e308, 1e-300, 3.7])?)
                .map_or(Value::Null, Value::Number),
            5 => Value::from(u.arbitrary::<i64>()?),
            6 | 7 if !self.strings.is_empty() => {
                Value::String(self.strings[u.choose_index(self.strings.len())?].clone())
            }
            8 => Value::String(u.arbitrary()?),
            9 => {
                let piece: String = u.arbitrary()?;
                Value::String(piece.repeat(usize::from(u.int_in_range(1..=200u8)?)))
            }
            10 if depth < 12 => {
                let mut items = Vec::new();
                for _ in 0..u.int_in_range(0..=3u8)? {
                    items.push(self.value(u, depth + 1)?);
                }
                Value::Array(items)
            }
            11 if depth < 12 => {
                let mut map = Map::new();
                for _ in 0..u.int_in_range(0..=3u8)? {
                    let v = self.value(u, depth + 1)?;
                    map.insert(self.key(u)?, v);
                }
                Value::Object(map)
            }
            _ => Value::String(String::new()),
        })
    }
}

fn collect(value: &Value, keys: &mut Vec<String>, strings: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                keys.push(k.clone());
                collect(v, keys, strings);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, keys, strings)),
        Value::String(s) if s.len() <= 256 => strings.push(s.clone()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_most_frames_json_and_change_them() {
        let corpus = Corpus::new(vec![br#"{"type":"a","n":{"x":[1,2]}}"#.to_vec()]);
        let noise: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut u = Unstructured::new(&noise);
        let mut changed = 0;
        for _ in 0..200 {
            let Ok(frame) = corpus.frame(&mut u) else {
                break;
            };
            if frame != corpus.seeds()[0] {
                changed += 1;
            }
        }
        assert!(
            changed > 50,
            "only {changed} of 200 frames differ from the seed"
        );
    }
}
