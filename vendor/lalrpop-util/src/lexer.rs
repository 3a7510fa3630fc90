#![doc(hidden)]
//! The built-in lalrpop lexer
//!
//! This is the code for the built in lexer, and is linked by lalrpop generated parsers to provide
//! lexer support when you don't write a custom lexer.
//!
//! Typically you don't want to use APIs from this module directly, they are public to be accessed
//! by the generated parser.
use alloc::{fmt, sync::Arc, vec::Vec};
#[cfg(feature = "std")]
use alloc::string::String;
use core::marker::PhantomData;

use crate::ParseError;

use regex_automata::dfa::{dense, Automaton};
#[cfg(feature = "rex-precompile")]
use regex_automata::dfa::StartKind;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::{BuildError, LazyStateID};
use regex_automata::nfa::thompson::Config as NfaConfig;
use regex_automata::util::primitives::StateID;
use regex_automata::util::syntax::Config as SyntaxConfig;
use regex_automata::{Anchored, Input, MatchKind};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Token<'input>(pub usize, pub &'input str);
impl fmt::Display for Token<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> Result<(), fmt::Error> {
        fmt::Display::fmt(self.1, formatter)
    }
}

mod precompiled;

/// The compiled lexer of one grammar's tokens.
///
/// rex patch (see `REX-PATCH.md`): every parser generated from a grammar (Cedar has seven:
/// policies, policy, expression, name, identifier...) compiled the same token regexes into
/// its own DFA, and every `matcher` call built a fresh lazy-DFA cache, so each parse
/// re-determinized the states it visited. Here the builders of one token set share one
/// compiled DFA (under `std`), and finished matchers hand their cache back for the next one.
/// The token set of Cedar's policy grammar comes precompiled (a dense DFA serialized into
/// the binary), so no parse compiles it.
pub struct MatcherBuilder {
    shared: Arc<Shared>,
}

struct Shared {
    dfa: Dfa,
    skip_vec: Vec<bool>,
    #[cfg(feature = "std")]
    caches: std::sync::Mutex<Vec<Cache>>,
}

/// The automaton of a token set.
enum Dfa {
    /// Compiled at run time, determinized lazily as it is used.
    Lazy(DFA),
    /// Precompiled (see `precompiled.rs`), read in place from the binary.
    Dense(dense::DFA<&'static [u32]>),
}

/// The token sets compiled so far, each with its compiled lexer (one per grammar in use).
#[cfg(feature = "std")]
static COMPILED: std::sync::Mutex<Vec<(Vec<(String, bool)>, Arc<Shared>)>> =
    std::sync::Mutex::new(Vec::new());

/// rex patch: the token sets compiled so far in this process (regex, skip), one per
/// grammar in use, to check and regenerate the precompiled lexer.
#[doc(hidden)]
#[cfg(feature = "std")]
pub fn token_sets() -> Vec<Vec<(String, bool)>> {
    COMPILED
        .lock()
        .map(|compiled| compiled.iter().map(|(key, _)| key.clone()).collect())
        .unwrap_or_default()
}

/// rex patch: the dense DFA of a token set, serialized (little-endian) for
/// `precompiled.rs`. The same patterns and configuration as the lazy DFA.
#[doc(hidden)]
#[cfg(feature = "rex-precompile")]
pub fn precompile(exprs: &[(String, bool)]) -> Result<Vec<u8>, alloc::boxed::Box<dyn std::error::Error>> {
    let enable_unicode = cfg!(feature = "unicode");
    let regexes: Vec<&str> = exprs.iter().map(|(r, _)| r.as_str()).collect();
    let dfa = dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Anchored)
                .minimize(true),
        )
        .syntax(syntax_config(enable_unicode))
        .thompson(nfa_config(enable_unicode))
        .build_many(&regexes)?;
    let (bytes, padding) = dfa.to_bytes_little_endian();
    Ok(bytes[padding..].to_vec())
}

fn syntax_config(enable_unicode: bool) -> SyntaxConfig {
    SyntaxConfig::new()
        .unicode(enable_unicode)
        .utf8(enable_unicode)
}

fn nfa_config(enable_unicode: bool) -> NfaConfig {
    NfaConfig::new().utf8(enable_unicode).shrink(true)
}

impl MatcherBuilder {
    #[allow(clippy::result_large_err)]
    pub fn new<S>(exprs: impl IntoIterator<Item = (S, bool)>) -> Result<MatcherBuilder, BuildError>
    where
        S: AsRef<str>,
    {
        Self::build(exprs, true)
    }

    /// rex patch: a builder whose DFA is compiled here, never shared nor precompiled (to
    /// compare the precompiled lexer with).
    #[doc(hidden)]
    #[allow(clippy::result_large_err)]
    pub fn compiled<S>(exprs: impl IntoIterator<Item = (S, bool)>) -> Result<MatcherBuilder, BuildError>
    where
        S: AsRef<str>,
    {
        Self::build(exprs, false)
    }

    /// rex patch: whether this builder's lexer is the precompiled one.
    #[doc(hidden)]
    pub fn is_precompiled(&self) -> bool {
        matches!(self.shared.dfa, Dfa::Dense(_))
    }

    #[allow(clippy::result_large_err)]
    fn build<S>(exprs: impl IntoIterator<Item = (S, bool)>, share: bool) -> Result<MatcherBuilder, BuildError>
    where
        S: AsRef<str>,
    {
        let exprs = exprs.into_iter();
        let mut regex_vec = Vec::with_capacity(exprs.size_hint().0);
        let mut skip_vec = Vec::with_capacity(exprs.size_hint().0);
        for (regex, skip) in exprs {
            regex_vec.push(regex);
            skip_vec.push(skip);
        }
        if !share {
            return Ok(MatcherBuilder {
                shared: Arc::new(Shared::compile(&regex_vec, skip_vec)?),
            });
        }
        #[cfg(feature = "std")]
        {
            let key: Vec<(String, bool)> = regex_vec
                .iter()
                .zip(&skip_vec)
                .map(|(regex, skip)| (String::from(regex.as_ref()), *skip))
                .collect();
            // Held while compiling: a second parser of the same grammar waits for the
            // first compile instead of repeating it.
            let mut compiled = COMPILED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((_, shared)) = compiled.iter().find(|(k, _)| *k == key) {
                return Ok(MatcherBuilder {
                    shared: Arc::clone(shared),
                });
            }
            let shared = match Shared::precompiled(&key) {
                Some(dfa) => Shared {
                    dfa: Dfa::Dense(dfa),
                    skip_vec,
                    caches: std::sync::Mutex::new(Vec::new()),
                },
                None => Shared::compile(&regex_vec, skip_vec)?,
            };
            let shared = Arc::new(shared);
            compiled.push((key, Arc::clone(&shared)));
            Ok(MatcherBuilder { shared })
        }
        #[cfg(not(feature = "std"))]
        Ok(MatcherBuilder {
            shared: Arc::new(Shared::compile(&regex_vec, skip_vec)?),
        })
    }

    pub fn matcher<'input, 'builder, E>(
        &'builder self,
        text: &'input str,
    ) -> Matcher<'input, 'builder, E> {
        let shared = &*self.shared;
        let input = Input::new(text).anchored(Anchored::Yes);
        let engine = match &shared.dfa {
            Dfa::Lazy(dfa) => {
                let mut cache = shared.take_cache(dfa);
                let start = dfa.start_state_forward(&mut cache, &input).unwrap();
                Engine::Lazy { dfa, cache, start }
            }
            Dfa::Dense(dfa) => Engine::Dense {
                dfa,
                start: dfa.start_state_forward(&input).unwrap(),
            },
        };
        Matcher {
            text,
            consumed: 0,
            engine: Some(engine),
            skip_vec: &shared.skip_vec,
            shared,
            _marker: PhantomData,
        }
    }
}

impl Shared {
    #[allow(clippy::result_large_err)]
    fn compile<S: AsRef<str>>(regex_vec: &[S], skip_vec: Vec<bool>) -> Result<Shared, BuildError> {
        let enable_unicode = cfg!(feature = "unicode");
        let dfa = DFA::builder()
            .configure(DFA::config().match_kind(MatchKind::All))
            .syntax(syntax_config(enable_unicode))
            .thompson(nfa_config(enable_unicode))
            .build_many(regex_vec)?;
        Ok(Shared {
            dfa: Dfa::Lazy(dfa),
            skip_vec,
            #[cfg(feature = "std")]
            caches: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The precompiled DFA when `key` is its token set (same regexes, skip flags and
    /// order) and the lexer's configuration is the one it was made with.
    #[cfg(feature = "std")]
    fn precompiled(key: &[(String, bool)]) -> Option<dense::DFA<&'static [u32]>> {
        let same = cfg!(feature = "unicode")
            && cfg!(target_endian = "little")
            && key.len() == precompiled::TOKENS.len()
            && key
                .iter()
                .zip(precompiled::TOKENS)
                .all(|((regex, skip), (r, s))| regex == r && skip == s);
        if !same {
            return None;
        }
        dense::DFA::from_bytes(&precompiled::DFA.bytes)
            .ok()
            .map(|(dfa, _)| dfa)
    }

    /// A cache for `dfa`, this builder's lazy DFA (a precompiled one needs none): one a
    /// finished matcher gave back when there is one, else new.
    fn take_cache(&self, dfa: &DFA) -> Cache {
        #[cfg(feature = "std")]
        if let Some(cache) = self.caches.lock().ok().and_then(|mut pool| pool.pop()) {
            return cache;
        }
        dfa.create_cache()
    }

    /// Keeps a finished matcher's cache for the next `matcher` call.
    #[allow(unused_variables)]
    fn return_cache(&self, cache: Cache) {
        #[cfg(feature = "std")]
        if let Ok(mut pool) = self.caches.lock() {
            pool.push(cache);
        }
    }
}

/// The automaton a matcher runs, with what it needs.
enum Engine<'builder> {
    Lazy {
        dfa: &'builder DFA,
        cache: Cache,
        start: LazyStateID,
    },
    Dense {
        dfa: &'builder dense::DFA<&'static [u32]>,
        start: StateID,
    },
}

impl Engine<'_> {
    /// The longest match at the start of `text`: its end and the highest pattern that
    /// matches there.
    fn longest_match(&mut self, text: &str) -> Option<(usize, usize)> {
        match self {
            Engine::Lazy { dfa, cache, start } => {
                let mut match_ = None;
                'search: {
                    let mut state = *start;
                    for (i, byte) in text.bytes().enumerate() {
                        state = dfa.next_state(cache, state, byte).unwrap();
                        if state.is_match() {
                            match_ = Some((state, i));
                        } else if state.is_dead() {
                            break 'search;
                        }
                    }
                    state = dfa.next_eoi_state(cache, state).unwrap();
                    if state.is_match() {
                        match_ = Some((state, text.len()));
                    }
                }
                let (state, end) = match_?;
                let index = (0..dfa.match_len(cache, state))
                    .map(|n| dfa.match_pattern(cache, state, n).as_usize())
                    .max()
                    .unwrap();
                Some((end, index))
            }
            Engine::Dense { dfa, start } => {
                let mut match_ = None;
                'search: {
                    let mut state = *start;
                    for (i, byte) in text.bytes().enumerate() {
                        state = dfa.next_state(state, byte);
                        if dfa.is_match_state(state) {
                            match_ = Some((state, i));
                        } else if dfa.is_dead_state(state) {
                            break 'search;
                        }
                    }
                    state = dfa.next_eoi_state(state);
                    if dfa.is_match_state(state) {
                        match_ = Some((state, text.len()));
                    }
                }
                let (state, end) = match_?;
                let index = (0..dfa.match_len(state))
                    .map(|n| dfa.match_pattern(state, n).as_usize())
                    .max()
                    .unwrap();
                Some((end, index))
            }
        }
    }
}

pub struct Matcher<'input, 'builder, E> {
    text: &'input str,
    consumed: usize,
    // Always `Some` until the matcher is dropped and a lazy DFA's cache goes back to the
    // builder.
    engine: Option<Engine<'builder>>,
    skip_vec: &'builder [bool],
    shared: &'builder Shared,
    _marker: PhantomData<fn() -> E>,
}

impl<E> Drop for Matcher<'_, '_, E> {
    fn drop(&mut self) {
        if let Some(Engine::Lazy { cache, .. }) = self.engine.take() {
            self.shared.return_cache(cache);
        }
    }
}

impl<'input, E> Iterator for Matcher<'input, '_, E> {
    type Item = Result<(usize, Token<'input>, usize), ParseError<usize, Token<'input>, E>>;

    fn next(&mut self) -> Option<Self::Item> {
        let engine = self.engine.as_mut()?;
        loop {
            let text = self.text;
            let start_offset = self.consumed;
            if text.is_empty() {
                self.consumed = start_offset;
                return None;
            }

            let (longest_match, index) = match engine.longest_match(text) {
                Some(found) => found,
                None => {
                    return Some(Err(ParseError::InvalidToken {
                        location: start_offset,
                    }))
                }
            };

            let result = &text[..longest_match];
            let remaining = &text[longest_match..];
            let end_offset = start_offset + longest_match;
            self.text = remaining;
            self.consumed = end_offset;

            if self.skip_vec[index] {
                if longest_match == 0 {
                    return Some(Err(ParseError::InvalidToken {
                        location: start_offset,
                    }));
                }
                continue;
            }

            return Some(Ok((start_offset, Token(index, result), end_offset)));
        }
    }
}
