//! Which SDK domains a run registers, and which of them a script can reach at all.
//!
//! Registering a domain is most of an engine's construction (about 7 of the 8 million
//! instructions of a trivial run's engine, and most of the code pages it touches), so a
//! run registers only the domains its script names ([`Domains::named_by`]). A script
//! reaches a function only by its name: every word of the script (code, strings and
//! comments alike) that is the name of a function, method, property or static module a
//! domain registers selects that domain. The tables of those names
//! ([`crate::bindings::names`]) are generated from the engine's own registrations, and a
//! test fails when they are stale.
//!
//! No name is left out, not even the conversions every rex type has (`to_string`): a
//! word any domain registers selects it. What a script reaches without writing a name,
//! operators and the implicit `to_string` of `print` and string interpolation, applies
//! to a value of a domain's type, which only a function of that domain, named in the
//! script, can have made. A script that can call a function whose name it does not spell
//! out (`Fn`, `call`, `curry`, and Rhai's array methods that take a function name as a
//! string) gets every domain.

use crate::bindings::names;

/// Which SDK domains a run exposes. An embedder can leave any out; cargo features remove
/// the four that act on the host (`fs`, `proc`, `sys`, `net`) from the build. Logging
/// (`print`, `info`, ...) is always there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Domains {
    /// Files and directories (`rex-fs`).
    pub fs: bool,
    /// Processes and systemd services (`rex-proc`).
    pub proc: bool,
    /// System information, sysctl and disks (`rex-sys`).
    pub sys: bool,
    /// HTTP, connect, DNS, interfaces and sockets (`rex-net`).
    pub net: bool,
    /// Time values (`now()`, `DateTime`, ...): reads the clock only. [`Domains::named_by`]
    /// turns it on with any domain above, whatever this says: their values hold times,
    /// which need the `DateTime` type and its methods.
    pub time: bool,
    /// Script-published metrics and alarms (`MetricBuilder`, `AlarmBuilder`).
    pub metrics: bool,
}

impl Default for Domains {
    fn default() -> Self {
        Self::ALL
    }
}

/// Words that let a script call a function it does not name: a function pointer made from
/// a string (`Fn`), calling or currying one, and Rhai's (deprecated) array methods that
/// take the function's name as a string. Checked against Rhai's signatures by a test.
pub(crate) const DYNAMIC_CALLS: &[&str] = &[
    "Fn",
    "all",
    "call",
    "curry",
    "dedup",
    "drain",
    "filter",
    "index_of",
    "map",
    "reduce",
    "reduce_rev",
    "retain",
    "some",
    "sort",
];

impl Domains {
    /// Every domain.
    pub const ALL: Self = Self {
        fs: true,
        proc: true,
        sys: true,
        net: true,
        time: true,
        metrics: true,
    };

    /// No SDK domain (logging only).
    pub const NONE: Self = Self {
        fs: false,
        proc: false,
        sys: false,
        net: false,
        time: false,
        metrics: false,
    };

    /// The domains of `self` that `script` can reach: those it names a function of, or all
    /// of `self` when it can call a function by a computed name (see the module docs).
    /// Leaving a domain out changes nothing a script can observe except start-up time:
    /// a script that names none of a domain's functions cannot call any of them.
    #[must_use]
    pub fn named_by(self, script: &str) -> Self {
        let mut found = Self::NONE;
        for word in words(script) {
            if DYNAMIC_CALLS.contains(&word) {
                return self;
            }
            found.fs |= self.fs && names::FS.binary_search(&word).is_ok();
            found.proc |= self.proc && names::PROC.binary_search(&word).is_ok();
            found.sys |= self.sys && names::SYS.binary_search(&word).is_ok();
            found.net |= self.net && names::NET.binary_search(&word).is_ok();
            found.time |= self.time && names::TIME.binary_search(&word).is_ok();
            found.metrics |= self.metrics && names::METRICS.binary_search(&word).is_ok();
            if found == self {
                break;
            }
        }
        // Files, processes, system information and network values carry times
        // (`modified`, `start_time`, ...): a script that has one can use `DateTime`'s
        // methods and operators without writing a time function's name.
        found.time |= found.fs || found.proc || found.sys || found.net;
        found
    }
}

/// The identifier-shaped words of `text` (ASCII letters, digits and `_`, not starting
/// with a digit), in order, repeats included.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.as_bytes().first().is_some_and(|b| !b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{DYNAMIC_CALLS, Domains, words};
    use crate::run::registered_signatures as signatures;

    /// The words a signature's function name gives a script: `get$size` -> `size`,
    /// `tail::n` -> `tail`, `n`; operators and indexers give none.
    fn name_words(signature: &str) -> Vec<String> {
        let name = signature.split('(').next().unwrap_or_default();
        let name = name
            .strip_prefix("get$")
            .or_else(|| name.strip_prefix("set$"))
            .unwrap_or(name);
        words(name).map(str::to_owned).collect()
    }

    /// The words each domain registers, computed from the engine; what `names.rs` holds.
    fn registered() -> Vec<(&'static str, BTreeSet<String>)> {
        let domains = [
            (
                "FS",
                Domains {
                    fs: true,
                    ..Domains::NONE
                },
            ),
            (
                "PROC",
                Domains {
                    proc: true,
                    ..Domains::NONE
                },
            ),
            (
                "SYS",
                Domains {
                    sys: true,
                    ..Domains::NONE
                },
            ),
            (
                "NET",
                Domains {
                    net: true,
                    ..Domains::NONE
                },
            ),
            (
                "TIME",
                Domains {
                    time: true,
                    ..Domains::NONE
                },
            ),
            (
                "METRICS",
                Domains {
                    metrics: true,
                    ..Domains::NONE
                },
            ),
        ];
        let common: BTreeSet<String> = signatures(Domains::NONE).into_iter().collect();
        let mut out = Vec::new();
        for (name, d) in domains {
            let mut set = BTreeSet::new();
            for sig in signatures(d).iter().filter(|s| !common.contains(*s)) {
                set.extend(name_words(sig));
            }
            // Static modules of constants (`EntryType::File`) register no function.
            for doc in crate::bindings::all_docs() {
                if doc.domain.eq_ignore_ascii_case(name) {
                    set.extend(words(doc.name).map(str::to_owned));
                }
            }
            out.push((name, set));
        }
        out
    }

    #[test]
    fn the_name_tables_are_the_engines_registrations() {
        let mut text = String::from(
            "//! Every word a script can use to reach a function of each SDK domain: the names of\n\
             //! its functions, methods, properties and static modules. Generated by\n\
             //! `REX_BLESS_NAMES=1 cargo test -p rex-engine --lib domains` from the engine's own\n\
             //! registrations (a test fails when it is stale); sorted for `binary_search`.\n\n",
        );
        for (name, set) in registered() {
            // `time` and `metrics` are not cargo features.
            if !matches!(name, "TIME" | "METRICS") {
                text.push_str(&format!(
                    "#[cfg_attr(not(feature = \"{}\"), allow(dead_code))]\n",
                    name.to_ascii_lowercase()
                ));
            }
            text.push_str(&format!("pub(crate) const {name}: &[&str] = &[\n"));
            for w in &set {
                text.push_str(&format!("    {w:?},\n"));
            }
            text.push_str("];\n\n");
        }
        text.pop();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/bindings/names.rs");
        if std::env::var_os("REX_BLESS_NAMES").is_some() {
            std::fs::write(path, &text).unwrap();
            return;
        }
        let checked_in = std::fs::read_to_string(path).unwrap();
        assert!(
            checked_in == text,
            "{path} is stale: regenerate it with \
             `REX_BLESS_NAMES=1 cargo test -p rex-engine --lib domains`"
        );
    }

    /// Every Rhai function that takes a function's name as a string (a `string` where an
    /// overload of the same arity takes a function pointer) is listed as a dynamic call.
    #[test]
    fn every_call_by_name_is_listed() {
        let sigs = rhai::Engine::new().gen_fn_signatures(true);
        let params = |sig: &str| -> Vec<(String, String)> {
            let inner = sig.split_once('(').map(|(_, p)| p).unwrap_or_default();
            let inner = inner.split(')').next().unwrap_or_default();
            inner
                .split(", ")
                .filter_map(|p| p.split_once(": "))
                .map(|(n, t)| (n.to_owned(), t.to_owned()))
                .collect()
        };
        let name = |sig: &str| sig.split('(').next().unwrap_or_default().to_owned();
        // (function, arity, position) of every function-pointer parameter.
        let fn_slots: BTreeSet<(String, usize, usize)> = sigs
            .iter()
            .flat_map(|s| {
                let ps = params(s);
                let n = ps.len();
                ps.into_iter()
                    .enumerate()
                    .filter(|(_, (_, t))| t == "Fn")
                    .map(move |(i, _)| (name(s), n, i))
                    .collect::<Vec<_>>()
            })
            .collect();
        // Overloads taking a string where another overload takes the function pointer.
        let by_name: BTreeSet<String> = sigs
            .iter()
            .filter(|s| {
                let ps = params(s);
                ps.iter()
                    .enumerate()
                    .any(|(i, (_, t))| t == "string" && fn_slots.contains(&(name(s), ps.len(), i)))
            })
            .map(|s| name(s))
            .collect();
        // The detection finds the string overloads it is there to find.
        for n in ["map", "filter", "sort", "reduce", "index_of"] {
            assert!(by_name.contains(n), "`{n}` not detected in {by_name:?}");
        }
        let missing: Vec<&String> = by_name
            .iter()
            .filter(|n| !DYNAMIC_CALLS.contains(&n.as_str()))
            .collect();
        assert!(missing.is_empty(), "calls by name not listed: {missing:?}");
    }

    #[test]
    fn a_script_gets_the_domains_it_names() {
        let all = Domains::ALL;
        let only = |f: fn(&mut Domains)| {
            let mut d = Domains::NONE;
            f(&mut d);
            d
        };
        assert_eq!(all.named_by("1 + 1"), Domains::NONE);
        assert_eq!(all.named_by("let x = 2; x * 21"), Domains::NONE);
        // A domain's values hold times: `time` comes with it.
        let fs_time = only(|d| {
            d.fs = true;
            d.time = true;
        });
        assert_eq!(
            all.named_by("let t = 0; for i in 0..n { t += cat(f).len(); } t"),
            fs_time
        );
        // `path` is also a property of types of every SDK domain.
        assert_eq!(
            all.named_by("cat(path)"),
            Domains {
                metrics: false,
                ..all
            }
        );
        assert_eq!(
            all.named_by("ps()"),
            only(|d| {
                d.proc = true;
                d.time = true;
            })
        );
        assert_eq!(all.named_by("let t = now(); t"), only(|d| d.time = true));
        assert_eq!(all.named_by("AlarmBuilder()"), only(|d| d.metrics = true));
        // Inside a string or a comment counts too.
        assert_eq!(all.named_by("// cat\n1"), fs_time);
        // A computed call gets everything the embedder allowed.
        assert_eq!(all.named_by("let f = Fn(\"c\" + \"at\"); f.call(p)"), all);
        let no_net = Domains { net: false, ..all };
        assert_eq!(no_net.named_by("call(f)"), no_net);
        // A name the embedder turned off stays off.
        let no_fs = Domains { fs: false, ..all };
        assert_eq!(no_fs.named_by("cat(p)"), Domains::NONE);
        let no_time = Domains { time: false, ..all };
        assert_eq!(no_time.named_by("cat(p)"), fs_time);
        assert_eq!(no_time.named_by("now()"), Domains::NONE);
    }

    #[test]
    fn words_are_identifiers() {
        let w: Vec<&str> = words("a.b_c(1, x2) + 3y; tail::n \"é\"").collect();
        assert_eq!(w, ["a", "b_c", "x2", "tail", "n"]);
    }
}
