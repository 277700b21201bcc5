//! The one template language of scenarios: text with `{name}` placeholders, where `{{` and
//! `}}` stand for literal braces. Reflex templates (`{payload.device}`, `{token.3}`) and
//! generator placeholders (`{device}`, `{n}`) are both written in it; each decides which
//! names it knows, through the closure it hands to [`parse_template`].
//!
//! What it leaves out: what a placeholder means and how it renders (the reflex and the
//! generator each resolve their own), and nesting (a placeholder name has no braces).

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<P> {
    Literal(String),
    Placeholder(P),
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// A `{` at this byte offset with no `}` before the next `{` or the end.
    Unclosed { at: usize },
    /// A `}` at this byte offset that closes nothing.
    Unopened { at: usize },
    /// The placeholder closure refused a name: its message.
    Placeholder(String),
}

/// Parses `text` into literal pieces and placeholders, each name handed to `placeholder`,
/// which returns what the caller keeps of it or why the name is wrong. Adjacent literal
/// text is one piece; `{{` and `}}` are literal braces.
pub fn parse_template<'t, P>(
    text: &'t str,
    mut placeholder: impl FnMut(&'t str) -> Result<P, String>,
) -> Result<Vec<Piece<P>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let rest = &text[at + 1..];
                let close = rest
                    .find(['{', '}'])
                    .filter(|&i| rest.as_bytes()[i] == b'}');
                let Some(len) = close else {
                    return Err(TemplateError::Unclosed { at });
                };
                let name = &rest[..len];
                // Skip the name and the closing brace (both ASCII-delimited, so byte-safe).
                for _ in 0..name.chars().count() + 1 {
                    chars.next();
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                let kept = placeholder(name).map_err(TemplateError::Placeholder)?;
                pieces.push(Piece::Placeholder(kept));
            }
            '}' => return Err(TemplateError::Unopened { at }),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Result<Vec<Piece<String>>, TemplateError> {
        parse_template(text, |n| Ok(n.to_string()))
    }

    #[test]
    fn literals_and_placeholders_alternate_and_doubled_braces_are_literal() {
        assert_eq!(
            names("a.{x}{y}.b{{c}}").unwrap(),
            vec![
                Piece::Literal("a.".into()),
                Piece::Placeholder("x".into()),
                Piece::Placeholder("y".into()),
                Piece::Literal(".b{c}".into()),
            ]
        );
        assert_eq!(names("").unwrap(), vec![]);
        assert_eq!(
            names("é{n}").unwrap(),
            vec![Piece::Literal("é".into()), Piece::Placeholder("n".into())]
        );
    }

    #[test]
    fn unbalanced_braces_say_where() {
        assert_eq!(names("ab{x"), Err(TemplateError::Unclosed { at: 2 }));
        assert_eq!(names("{x{y}"), Err(TemplateError::Unclosed { at: 0 }));
        assert_eq!(names("x}"), Err(TemplateError::Unopened { at: 1 }));
    }

    #[test]
    fn the_closure_decides_which_names_exist() {
        let only_n = |n: &str| {
            if n == "n" {
                Ok(())
            } else {
                Err(format!("no {n}"))
            }
        };
        assert!(parse_template("{n}", only_n).is_ok());
        assert_eq!(
            parse_template("{m}", only_n),
            Err(TemplateError::Placeholder("no m".into()))
        );
    }
}
