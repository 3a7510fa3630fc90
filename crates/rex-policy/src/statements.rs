//! Policy text split into statements, each with its *shape*: the text with what neither
//! parsing nor strict validation depends on blanked out (entity ids other than actions,
//! annotation values, comments, runs of whitespace).
//!
//! Two statements with one shape differ only in the contents of their blanked strings
//! (their *slots*), and those contents are plain ASCII without escapes. The Cedar parser
//! sees the same token sequence for both, and the validator the same types, so one of
//! them parsing and validating decides it for all of them (see [`crate::Policies`], which
//! parses one policy per shape at load and the others when a request first needs them).
//! Cedar's validator checks entity *types*, action ids and expression types; it checks
//! entity ids only for enumerated entity types (the rex schema has none; if it had, no
//! shapes are made) and warns about confusable non-ASCII strings (a slot must be plain
//! ASCII without escapes, or the statement has no shape).
//!
//! Policy files are mostly runs of statements written alike. A statement whose text
//! outside its slots is byte for byte that of the last statement scanned in full, and
//! whose slots are plain ASCII without escapes, has that statement's shape: it is matched
//! against it (a few comparisons of text) instead of being scanned byte by byte. The
//! lexer sees the same tokens in both (a string without escapes is one string token
//! whatever its content), so the full scan would give the same shape and slots.

use std::ops::Range;

/// The statements of a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    pub statements: Vec<Statement>,
    /// The slots of every statement, in text order (one array for all of them).
    pub slots: Vec<Range<usize>>,
}

impl Split {
    /// Byte ranges (in the file) of the contents of `statement`'s blanked strings, in
    /// text order.
    pub fn slots(&self, statement: &Statement) -> &[Range<usize>] {
        self.slots.get(statement.slots.clone()).unwrap_or_default()
    }
}

/// One statement (`@annotations permit|forbid (scope) conditions;`) of a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    /// Byte range in the file, from its first token to its `;` inclusive.
    pub span: Range<usize>,
    /// The shape.
    pub shape: Shape,
    /// Its slots: a range of [`Split::slots`].
    pub slots: Range<usize>,
    /// The slot holding the value of the `@id` annotation (its number among the
    /// statement's slots), when there is one.
    pub id_slot: Option<usize>,
}

/// The shape of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// It cannot be shaped safely (a blanked string with escapes or non-ASCII characters).
    None,
    /// This text.
    Text(String),
    /// The shape of statement `k` of the same text (an earlier one).
    Like(usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Ident(&'a str),
    ColonColon,
    At,
    LParen,
    Other,
}

/// The statement being read.
struct Current {
    start: usize,
    out: String,
    /// Start of the text not yet copied into `out`.
    copied: usize,
    /// Where its slots start in the array of all slots.
    slots: usize,
    id_slot: Option<usize>,
    shapeable: bool,
}

impl Current {
    /// Copies the text from `copied` up to `to` into the shape.
    fn copy(&mut self, text: &str, to: usize) {
        self.out
            .push_str(text.get(self.copied..to).unwrap_or_default());
        self.copied = to;
    }
}

/// Splits `text` into statements. `None` when the text cannot be split safely: an
/// unterminated string, a template slot (`?principal`), an `@id` annotation without a
/// string value, or anything but whitespace and comments after the last `;`. The caller
/// then parses the whole text with Cedar, which reports the problem.
///
/// The shape is the statement's text with every run of whitespace and comments made one
/// space and every slot emptied; everything else is copied verbatim, in runs.
pub(crate) fn split(text: &str) -> Option<Split> {
    fn push<'a>(last: &mut [Tok<'a>; 3], t: Tok<'a>) {
        last[0] = last[1];
        last[1] = last[2];
        last[2] = t;
    }
    let no_enums = !crate::schema::SCHEMA_TEXT.contains("enum");
    let bytes = text.as_bytes();
    let mut statements: Vec<Statement> = Vec::new();
    let mut slots: Vec<Range<usize>> = Vec::new();
    let mut cur: Option<Current> = None;
    let mut last: [Tok<'_>; 3] = [Tok::Other; 3];
    // The last statement scanned in full, when it has a shape.
    let mut model: Option<usize> = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let comment = b == b'/' && bytes.get(i + 1) == Some(&b'/');
        if comment || b.is_ascii_whitespace() {
            let gap = i;
            loop {
                match bytes.get(i) {
                    Some(c) if c.is_ascii_whitespace() => i += 1,
                    Some(b'/') if bytes.get(i + 1) == Some(&b'/') => {
                        i = bytes
                            .get(i..)
                            .and_then(|rest| memchr::memchr(b'\n', rest))
                            .map_or(bytes.len(), |k| i + k);
                    }
                    _ => break,
                }
            }
            if let Some(c) = cur.as_mut() {
                c.copy(text, gap);
                c.out.push(' ');
                c.copied = i;
            }
            continue;
        }
        if cur.is_none()
            && let Some(k) = model
            && let Some(m) = statements.get(k)
            && let Some(end) = like(bytes, i, m, &mut slots)
        {
            let id_slot = m.id_slot;
            let own = slots.len() - m.slots.len()..slots.len();
            statements.push(Statement {
                span: i..end,
                shape: Shape::Like(k),
                slots: own,
                id_slot,
            });
            // As after the `;` of a statement scanned in full.
            push(&mut last, Tok::Other);
            i = end;
            continue;
        }
        let c = cur.get_or_insert_with(|| Current {
            start: i,
            out: String::with_capacity(192),
            copied: i,
            slots: slots.len(),
            id_slot: None,
            shapeable: no_enums,
        });
        match b {
            b'"' => {
                // The closing quote: the first `"` not escaped by a `\`.
                let mut j = i + 1;
                let mut escaped = false;
                loop {
                    let rest = bytes.get(j..)?;
                    let k = memchr::memchr2(b'"', b'\\', rest)?;
                    if rest.get(k) == Some(&b'"') {
                        j += k;
                        break;
                    }
                    escaped = true;
                    j += k + 2;
                }
                let plain = !escaped && bytes.get(i + 1..j).is_some_and(<[u8]>::is_ascii);
                let entity_id =
                    matches!(last, [_, Tok::Ident(t), Tok::ColonColon] if t != "Action");
                let annotation = matches!(last, [Tok::At, Tok::Ident(_), Tok::LParen]);
                if entity_id || annotation {
                    c.shapeable &= plain;
                    if annotation && last[1] == Tok::Ident("id") {
                        c.id_slot = Some(slots.len() - c.slots);
                    }
                    c.copy(text, i + 1);
                    c.copied = j;
                    slots.push(i + 1..j);
                }
                push(&mut last, Tok::Other);
                i = j + 1;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => {
                let from = i;
                while bytes
                    .get(i)
                    .is_some_and(|ch| ch.is_ascii_alphanumeric() || *ch == b'_')
                {
                    i += 1;
                }
                let ident = text.get(from..i)?;
                if last[2] == Tok::At
                    && ident == "id"
                    && bytes.get(skip_ws(bytes, i)) != Some(&b'(')
                {
                    return None;
                }
                push(&mut last, Tok::Ident(ident));
            }
            b':' if bytes.get(i + 1) == Some(&b':') => {
                push(&mut last, Tok::ColonColon);
                i += 2;
            }
            b'?' => return None,
            b';' => {
                i += 1;
                c.copy(text, i);
                push(&mut last, Tok::Other);
                let done = cur.take()?;
                model = done.shapeable.then_some(statements.len());
                statements.push(Statement {
                    span: done.start..i,
                    shape: if done.shapeable {
                        Shape::Text(done.out)
                    } else {
                        Shape::None
                    },
                    slots: done.slots..slots.len(),
                    id_slot: done.id_slot,
                });
            }
            _ => {
                let ch = if b.is_ascii() {
                    char::from(b)
                } else {
                    text.get(i..)?.chars().next()?
                };
                push(
                    &mut last,
                    match ch {
                        '@' => Tok::At,
                        '(' => Tok::LParen,
                        _ => Tok::Other,
                    },
                );
                i += ch.len_utf8();
            }
        }
    }
    cur.is_none().then_some(Split { statements, slots })
}

/// The end of the statement at `at` when its text outside its slots is that of `model`
/// and its slots are plain ASCII strings without escapes; its slots are then pushed on
/// `slots` (which holds `model`'s).
fn like(
    bytes: &[u8],
    at: usize,
    model: &Statement,
    slots: &mut Vec<Range<usize>>,
) -> Option<usize> {
    let len = slots.len();
    let matched = like_slots(bytes, at, model, slots);
    if matched.is_none() {
        slots.truncate(len);
    }
    matched
}

fn like_slots(
    bytes: &[u8],
    at: usize,
    model: &Statement,
    slots: &mut Vec<Range<usize>>,
) -> Option<usize> {
    let mut pos = at;
    let mut from = model.span.start;
    let same = |pos: &mut usize, seg: Range<usize>| -> Option<()> {
        let seg = bytes.get(seg)?;
        bytes.get(*pos..)?.starts_with(seg).then_some(())?;
        *pos += seg.len();
        Some(())
    };
    for k in model.slots.clone() {
        let slot = slots.get(k)?.clone();
        same(&mut pos, from..slot.start)?;
        let rest = bytes.get(pos..)?;
        let k = memchr::memchr2(b'"', b'\\', rest)?;
        if rest.get(k) != Some(&b'"') || !rest.get(..k)?.is_ascii() {
            return None;
        }
        slots.push(pos..pos + k);
        pos += k;
        from = slot.end;
    }
    same(&mut pos, from..model.span.end)?;
    Some(pos)
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The text of `statement` in `text` with slot `k`'s contents replaced by
/// `{marker}{k}`, so that the slots can be found again in what Cedar parsed.
pub(crate) fn marked(
    text: &str,
    statement: &Statement,
    slots: &[Range<usize>],
    marker: &str,
) -> Option<String> {
    let mut out = String::with_capacity(statement.span.len() + 16 * slots.len());
    let mut at = statement.span.start;
    for (k, slot) in slots.iter().enumerate() {
        out.push_str(text.get(at..slot.start)?);
        out.push_str(marker);
        out.push_str(&k.to_string());
        at = slot.end;
    }
    out.push_str(text.get(at..statement.span.end)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Option<String> {
        let mut s = split(text)?.statements;
        assert_eq!(s.len(), 1, "{text}");
        match s.pop()?.shape {
            Shape::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Every statement's shape and slots, each statement scanned on its own.
    fn alone(text: &str) -> Vec<(Option<String>, Vec<String>, Option<usize>)> {
        let all = split(text).unwrap();
        all.statements
            .iter()
            .map(|st| {
                let own = &text[st.span.clone()];
                let alone = split(own).unwrap();
                assert_eq!(alone.statements.len(), 1, "{own}");
                let one = alone.statements[0].clone();
                let slots = alone
                    .slots(&one)
                    .iter()
                    .map(|r| own[r.clone()].to_owned())
                    .collect();
                let outer: Vec<String> = all
                    .slots(st)
                    .iter()
                    .map(|r| text[r.clone()].to_owned())
                    .collect();
                assert_eq!(outer, slots, "{own}");
                assert_eq!(st.id_slot, one.id_slot, "{own}");
                let shape = match one.shape {
                    Shape::Text(t) => Some(t),
                    _ => None,
                };
                (shape, slots, one.id_slot)
            })
            .collect()
    }

    /// The shape of each statement: its own text or the one it is like.
    fn shapes(text: &str) -> Vec<Option<String>> {
        let s = split(text).unwrap();
        let mut out: Vec<Option<String>> = Vec::new();
        for st in &s.statements {
            let shape = match &st.shape {
                Shape::Text(t) => Some(t.clone()),
                Shape::Like(k) => {
                    assert!(*k < out.len());
                    out[*k].clone()
                }
                Shape::None => None,
            };
            out.push(shape);
        }
        out
    }

    #[test]
    fn statements_written_alike_are_matched_and_agree_with_a_full_scan() {
        let text = concat!(
            "permit(principal, action == file_system::Action::\"read\", resource == file_system::File::\"/a\");\n",
            "permit(principal, action == file_system::Action::\"read\", resource == file_system::File::\"/bb;//\");\n",
            "permit(principal, action == file_system::Action::\"read\", resource == file_system::File::\"/c\");  // x\n",
            // other whitespace: scanned in full, same shape
            "permit(principal,  action == file_system::Action::\"read\", resource == file_system::File::\"/d\");\n",
            // an escape, then non-ASCII: no shape
            "permit(principal,  action == file_system::Action::\"read\", resource == file_system::File::\"/e\\\"\");\n",
            "permit(principal,  action == file_system::Action::\"read\", resource == file_system::File::\"/é\");\n",
            "permit(principal,  action == file_system::Action::\"read\", resource == file_system::File::\"/f\");\n",
            // another action: not like the previous
            "permit(principal,  action == file_system::Action::\"open\", resource == file_system::File::\"/g\");\n",
            "@id(\"x\") permit(principal, action, resource == file_system::Dir::\"/h\");\n",
            "@id(\"y\") permit(principal, action, resource == file_system::Dir::\"/i\");\n",
        );
        let all = split(text).unwrap();
        let s = &all.statements;
        let kinds: Vec<&str> = s
            .iter()
            .map(|st| match st.shape {
                Shape::Text(_) => "text",
                Shape::Like(_) => "like",
                Shape::None => "none",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "text", "like", "like", "text", "none", "none", "text", "text", "text", "like"
            ]
        );
        let alone = alone(text);
        let shapes = shapes(text);
        for (k, (own, _, _)) in alone.iter().enumerate() {
            assert_eq!(&shapes[k], own, "statement {k}");
        }
        assert_eq!(shapes[0], shapes[3]);
        assert_eq!(s[9].id_slot, Some(0));
        assert_eq!(&text[all.slots(&s[9])[0].clone()], "y");
        assert_eq!(&text[all.slots(&s[1])[0].clone()], "/bb;//");
    }

    #[test]
    fn shape_blanks_entity_ids_and_annotations_but_not_actions_or_strings() {
        let a = shape(
            r#"@id("a") permit(principal == User::"x", action == file_system::Action::"read", resource == file_system::File::"/a") when { resource.path like "/a*" }; // c"#,
        )
        .unwrap();
        let b = shape(
            r#"@id("b") permit(principal == User::"y", action == file_system::Action::"read", resource == file_system::File::"/b") when { resource.path like "/a*" };"#,
        )
        .unwrap();
        assert_eq!(a, b);
        for other in [
            r#"permit(principal == User::"x", action == file_system::Action::"open", resource == file_system::File::"/a") when { resource.path like "/a*" };"#,
            r#"permit(principal == User::"x", action == file_system::Action::"read", resource == file_system::Dir::"/a") when { resource.path like "/a*" };"#,
            r#"permit(principal == User::"x", action == file_system::Action::"read", resource == file_system::File::"/a") when { resource.path like "/b*" };"#,
        ] {
            assert_ne!(shape(other).unwrap(), a, "{other}");
        }
        assert!(shape(r#"permit(principal == User::"é", action, resource);"#).is_none());
        assert!(shape(r#"permit(principal == User::"a\u{202e}", action, resource);"#).is_none());
    }

    #[test]
    fn split_finds_statements_slots_and_ids() {
        let text = "// head; \"\n@id(\"p;1\") permit(principal, action, resource == file_system::File::\"/a;b\");\n\n  forbid(principal == User::\"u\", action, resource)\n  when { resource == file_system::Dir::\"/x\" }; // tail\n";
        let all = split(text).unwrap();
        let s = &all.statements;
        assert_eq!(s.len(), 2);
        assert!(text[s[0].span.clone()].starts_with("@id(\"p;1\") permit"));
        assert!(text[s[0].span.clone()].ends_with("\"/a;b\");"));
        let slot_texts: Vec<&str> = all.slots(&s[0]).iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(slot_texts, ["p;1", "/a;b"]);
        assert_eq!(s[0].id_slot, Some(0));
        let slot_texts: Vec<&str> = all.slots(&s[1]).iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(slot_texts, ["u", "/x"]);
        assert_eq!(s[1].id_slot, None);
        assert_eq!(
            marked(text, &s[1], all.slots(&s[1]), "M").unwrap(),
            "forbid(principal == User::\"M0\", action, resource)\n  when { resource == file_system::Dir::\"M1\" };"
        );
    }

    #[test]
    fn split_refuses_what_it_cannot_split_safely() {
        for bad in [
            "permit(principal, action, resource == file_system::File::\"/a);",
            "permit(principal == ?principal, action, resource);",
            "permit(principal, action, resource); permit(principal",
            "@id permit(principal, action, resource);",
        ] {
            assert!(split(bad).is_none(), "{bad}");
        }
        assert_eq!(split("  // nothing\n").unwrap().statements.len(), 0);
    }
}
