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

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::{BuildError, LazyStateID};
use regex_automata::nfa::thompson::Config as NfaConfig;
use regex_automata::util::syntax::Config as SyntaxConfig;
use regex_automata::{Anchored, Input, MatchKind};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Token<'input>(pub usize, pub &'input str);
impl fmt::Display for Token<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> Result<(), fmt::Error> {
        fmt::Display::fmt(self.1, formatter)
    }
}

/// The compiled lexer of one grammar's tokens.
///
/// rex patch (see `REX-PATCH.md`): every parser generated from a grammar (Cedar has seven:
/// policies, policy, expression, name, identifier...) compiled the same token regexes into
/// its own DFA, and every `matcher` call built a fresh lazy-DFA cache, so each parse
/// re-determinized the states it visited. Here the builders of one token set share one
/// compiled DFA (under `std`), and finished matchers hand their cache back for the next one.
pub struct MatcherBuilder {
    shared: Arc<Shared>,
}

struct Shared {
    dfa: DFA,
    skip_vec: Vec<bool>,
    #[cfg(feature = "std")]
    caches: std::sync::Mutex<Vec<Cache>>,
}

/// The token sets compiled so far, each with its compiled lexer (one per grammar in use).
#[cfg(feature = "std")]
static COMPILED: std::sync::Mutex<Vec<(Vec<(String, bool)>, Arc<Shared>)>> =
    std::sync::Mutex::new(Vec::new());

impl MatcherBuilder {
    #[allow(clippy::result_large_err)]
    pub fn new<S>(exprs: impl IntoIterator<Item = (S, bool)>) -> Result<MatcherBuilder, BuildError>
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
            let shared = Arc::new(Shared::compile(&regex_vec, skip_vec)?);
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
        let mut cache = shared.take_cache();
        let start = shared.dfa.start_state_forward(&mut cache, &input).unwrap();
        Matcher {
            text,
            consumed: 0,
            cache: Some(cache),
            start,
            dfa: &shared.dfa,
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
            .syntax(
                SyntaxConfig::new()
                    .unicode(enable_unicode)
                    .utf8(enable_unicode),
            )
            .thompson(NfaConfig::new().utf8(enable_unicode).shrink(true))
            .build_many(regex_vec)?;
        Ok(Shared {
            dfa,
            skip_vec,
            #[cfg(feature = "std")]
            caches: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// A cache for this DFA: one a finished matcher gave back when there is one, else new.
    fn take_cache(&self) -> Cache {
        #[cfg(feature = "std")]
        if let Some(cache) = self.caches.lock().ok().and_then(|mut pool| pool.pop()) {
            return cache;
        }
        self.dfa.create_cache()
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

pub struct Matcher<'input, 'builder, E> {
    text: &'input str,
    consumed: usize,
    // Always `Some` until the matcher is dropped and the cache goes back to the builder.
    cache: Option<Cache>,
    start: LazyStateID,
    dfa: &'builder DFA,
    skip_vec: &'builder [bool],
    shared: &'builder Shared,
    _marker: PhantomData<fn() -> E>,
}

impl<E> Drop for Matcher<'_, '_, E> {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.take() {
            self.shared.return_cache(cache);
        }
    }
}

impl<'input, E> Iterator for Matcher<'input, '_, E> {
    type Item = Result<(usize, Token<'input>, usize), ParseError<usize, Token<'input>, E>>;

    fn next(&mut self) -> Option<Self::Item> {
        let cache = self.cache.as_mut()?;
        loop {
            let text = self.text;
            let start_offset = self.consumed;
            if text.is_empty() {
                self.consumed = start_offset;
                return None;
            }

            let mut match_ = None;
            'search: {
                let mut state = self.start;
                for (i, byte) in text.bytes().enumerate() {
                    state = self.dfa.next_state(cache, state, byte).unwrap();
                    if state.is_match() {
                        match_ = Some((state, i));
                    } else if state.is_dead() {
                        break 'search;
                    }
                }
                state = self.dfa.next_eoi_state(cache, state).unwrap();
                if state.is_match() {
                    match_ = Some((state, text.len()));
                }
            }

            let (match_state, longest_match) = match match_ {
                Some(match_) => match_,
                None => {
                    return Some(Err(ParseError::InvalidToken {
                        location: start_offset,
                    }))
                }
            };
            let index = (0..self.dfa.match_len(cache, match_state))
                .map(|n| {
                    self.dfa
                        .match_pattern(cache, match_state, n)
                        .as_usize()
                })
                .max()
                .unwrap();

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
