//! minijinja filters for writing Typst. minijinja escapes for HTML at most;
//! text that reaches Typst markup must be escaped for Typst instead.

/// Escapes text for Typst *markup*, so it prints literally.
pub fn typst_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '#' | '*' | '_' | '`' | '$' | '@' | '<' | '>' | '[' | ']' | '~' | '/' | '='
            | '-' | '+' | '"' | '\'' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A Typst string literal (for code: captions, `document(title: …)`).
pub fn typst_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Fixed-point number; `n/a` for a missing or non-finite value.
pub fn num(value: Option<f64>, decimals: Option<usize>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{:.*}", decimals.unwrap_or(4), v),
        _ => "n/a".into(),
    }
}

/// A difference with its sign: `+1.3`, `−0.4` (a minus sign), and `0.0` for anything that
/// rounds to zero (never `-0.0`).
pub fn signed(value: Option<f64>, decimals: Option<usize>) -> String {
    let d = decimals.unwrap_or(1);
    match value {
        Some(v) if v.is_finite() => {
            let rounded = format!("{:.*}", d, v.abs());
            if rounded.chars().all(|c| c == '0' || c == '.') {
                rounded
            } else {
                // U+2212: Typst sets a hyphen before a digit as a hyphen
                // after an opening parenthesis.
                format!("{}{rounded}", if v < 0.0 { "\u{2212}" } else { "+" })
            }
        }
        _ => "n/a".into(),
    }
}

/// Scientific notation with one decimal: 3.2e-7.
pub fn sci(value: Option<f64>) -> String {
    match value {
        Some(0.0) => "0".into(),
        Some(v) if v.is_finite() => format!("{v:.1e}"),
        _ => "n/a".into(),
    }
}

/// A fraction as a percentage: 0.0523 → `5.2%`.
pub fn pct(value: Option<f64>, decimals: Option<usize>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{:.*}%", decimals.unwrap_or(1), v * 100.0),
        _ => "n/a".into(),
    }
}

/// An integer with thousands separators: 37644 → `37,644`.
pub fn int(value: Option<f64>) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return "n/a".into();
    };
    let digits = format!("{}", v.round().abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

/// Items as an English list: [a] → `a`, [a, b] → `a and b`,
/// [a, b, c] → `a, b and c`.
pub fn and_list(items: Vec<minijinja::Value>) -> String {
    let items: Vec<String> = items.iter().map(|v| v.to_string()).collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_english() {
        let v = |xs: &[i32]| xs.iter().map(|&x| minijinja::Value::from(x)).collect();
        assert_eq!(and_list(v(&[])), "");
        assert_eq!(and_list(v(&[10])), "10");
        assert_eq!(and_list(v(&[10, 100])), "10 and 100");
        assert_eq!(and_list(v(&[1, 2, 3])), "1, 2 and 3");
    }

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(typst_escape("a_b*c#d"), "a\\_b\\*c\\#d");
        assert_eq!(typst_escape("$x$ @ref <l>"), "\\$x\\$ \\@ref \\<l\\>");
        assert_eq!(typst_escape("// not a comment"), "\\/\\/ not a comment");
        assert_eq!(typst_escape("= not a heading"), "\\= not a heading");
        assert_eq!(typst_escape("plain text"), "plain text");
    }

    #[test]
    fn escaped_text_compiles_to_the_literal_text() {
        let nasty =
            "#let x = 1; *bold* _em_ $math$ @cite <label> [x] `raw` \\ ~ // - + = \"q\" 'a'";
        let source = format!("{}\n", typst_escape(nasty));
        let text = crate::report::typst::plain_text(&source).unwrap();
        // Typst turns straight quotes into typographic ones; compare the rest.
        let norm = |s: &str| {
            s.chars()
                .filter(|c| !matches!(c, '"' | '\'' | '“' | '”' | '‘' | '’'))
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
        };
        assert_eq!(norm(&text), norm(nasty), "rendered: {text}");
    }

    #[test]
    fn string_literals_escape_quotes() {
        assert_eq!(typst_string("a \"b\" \\"), "\"a \\\"b\\\" \\\\\"");
    }

    #[test]
    fn numbers_format() {
        assert_eq!(num(Some(0.123456), Some(3)), "0.123");
        assert_eq!(num(None, None), "n/a");
        assert_eq!(num(Some(f64::NAN), None), "n/a");
        assert_eq!(pct(Some(0.0523), None), "5.2%");
        assert_eq!(signed(Some(1.26), Some(1)), "+1.3");
        assert_eq!(signed(Some(-0.44), Some(1)), "\u{2212}0.4");
        assert_eq!(signed(Some(-0.0001), Some(1)), "0.0");
        assert_eq!(signed(Some(-0.0), Some(1)), "0.0");
        assert_eq!(sci(Some(3.21e-7)), "3.2e-7");
        assert_eq!(int(Some(37644.0)), "37,644");
        assert_eq!(int(Some(999.0)), "999");
        assert_eq!(int(Some(-1234567.0)), "-1,234,567");
    }
}
