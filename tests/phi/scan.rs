//! Finding PHI values in log lines, word by word: a value and a line are both cut
//! into words (runs of letters or of digits, case folded), and a value is found when
//! its words stand in a line one after another. So `DOE^JANE`, `"Doe"` and `doe,`
//! all hold the word `doe`, `1980-02-29` is found however it is punctuated, and a
//! short id is not found inside a longer word (a request id, a port number).

use std::collections::HashMap;

/// The words of `text`, lower case: runs of letters or of digits, so that a date
/// stuck to its time (`1980-02-29T10:00`) still holds `29`.
pub fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let continues = word
            .chars()
            .last()
            .is_some_and(|last| last.is_ascii_digit() == c.is_ascii_digit());
        if (!c.is_alphanumeric() || !continues) && !word.is_empty() {
            words.push(std::mem::take(&mut word).to_lowercase());
        }
        if c.is_alphanumeric() {
            word.push(c);
        }
    }
    if !word.is_empty() {
        words.push(word.to_lowercase());
    }
    words
}

/// A value to look for, and what it is (where it was seeded).
#[derive(Debug, Clone)]
pub struct Needle {
    pub what: String,
    pub words: Vec<String>,
}

impl Needle {
    /// `None` when the value is too slight to be told from chance: no words, a
    /// word of one to three letters (random names — temporary directories, keys —
    /// hold such runs: `/tmp/.tmp6S3laM` holds `lam`), a number of fewer than six digits alone (ports,
    /// counts and durations are such numbers), or several words of fewer than
    /// four characters in all.
    pub fn new(what: impl Into<String>, value: &str) -> Option<Needle> {
        let words = words(value);
        let slight = match words.as_slice() {
            [] => true,
            [word] if word.chars().all(|c| c.is_ascii_digit()) => word.len() < 6,
            [word] => word.chars().count() < 4,
            several => several.iter().map(|word| word.chars().count()).sum::<usize>() < 4,
        };
        (!slight).then(|| Needle {
            what: what.into(),
            words,
        })
    }
}

/// A needle found in a line (numbered from 1).
#[derive(Debug)]
pub struct Finding<'a> {
    pub needle: &'a Needle,
    pub line_number: usize,
    pub line: &'a str,
}

/// Every place in `lines` where a needle's words stand one after another.
pub fn search<'a>(lines: impl Iterator<Item = (usize, &'a str)>, needles: &'a [Needle]) -> Vec<Finding<'a>> {
    let mut by_first_word: HashMap<&str, Vec<&Needle>> = HashMap::new();
    for needle in needles {
        by_first_word.entry(&needle.words[0]).or_default().push(needle);
    }
    let mut found = Vec::new();
    for (line_number, line) in lines {
        let words = words(line);
        for (at, word) in words.iter().enumerate() {
            for needle in by_first_word.get(word.as_str()).into_iter().flatten() {
                if words[at..].starts_with(&needle.words) {
                    found.push(Finding {
                        needle,
                        line_number,
                        line,
                    });
                }
            }
        }
    }
    found
}
