//! Handlers and invariants written in Rust by Ripple's user, registered with a
//! [`Runner`](crate::sim::Runner): what a scenario file cannot say.
//!
//! A scenario names a library handler by its reflex id (`[[reflex]] id = "pager_rollup"`,
//! `library = true`); the runner is given a function that makes a fresh one
//! ([`Runner::handler`](crate::sim::Runner::handler)), called once per run (per tenant the
//! reflex serves), so each run starts with empty memory as a run from scratch does. A library
//! invariant is checked on every run of the runner, beside the built-in ones.

use crate::bus::{Envelope, Pattern};
use crate::check::Invariant;
use crate::core::SimTime;
use crate::engine::reflex::{HandlerOutput, ReflexHandler};
use crate::scenario::{ReflexKind, Scenario, SourceError};
use std::sync::Arc;

/// Makes a fresh library handler (empty memory) for one run.
pub type MakeHandler = Arc<dyn Fn() -> Box<dyn ReflexHandler> + Send + Sync>;
/// Makes a fresh library invariant for one run.
pub type MakeInvariant = Arc<dyn Fn() -> Box<dyn Invariant> + Send + Sync>;

/// What a runner was given beyond its scenario: library handlers by id, library
/// invariants in the order given.
#[derive(Clone, Default)]
pub struct Library {
    /// (the id its handlers report, how to make one), in registration order.
    handlers: Vec<(String, MakeHandler)>,
    invariants: Vec<(&'static str, MakeInvariant)>,
}

impl Library {
    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty() && self.invariants.is_empty()
    }

    /// Registers a handler maker. The handler's id is asked of one made now; a second maker
    /// of the same id replaces the first.
    pub fn add_handler(&mut self, make: MakeHandler) {
        let id = make().id().to_string();
        self.handlers.retain(|(i, _)| *i != id);
        self.handlers.push((id, make));
    }

    /// Registers an invariant maker; its name is asked of one made now.
    pub fn add_invariant(&mut self, make: MakeInvariant) {
        let name = make().name();
        self.invariants.retain(|(n, _)| *n != name);
        self.invariants.push((name, make));
    }

    /// A fresh handler for the library reflex `id`, if one was registered.
    pub fn handler(&self, id: &str) -> Option<Box<dyn ReflexHandler>> {
        let (_, make) = self.handlers.iter().find(|(i, _)| i == id)?;
        Some(Box::new(LibraryHandler {
            inner: make(),
            make: Arc::clone(make),
        }))
    }

    /// A fresh copy of every library invariant, in registration order.
    pub fn invariants(&self) -> Vec<Box<dyn Invariant>> {
        self.invariants.iter().map(|(_, make)| make()).collect()
    }

    /// Checks that every library name of `scenario` has something registered under it, and
    /// that everything registered is used: a name that can refer to nothing is an error.
    pub fn check(&self, scenario: &Scenario) -> Result<(), SourceError> {
        let mut wanted = Vec::new();
        for r in &scenario.reflexes {
            if let ReflexKind::Library { line, column } = r.kind {
                wanted.push(r.id.as_str());
                if !self.handlers.iter().any(|(id, _)| *id == r.id) {
                    return Err(SourceError {
                        file: scenario.path.clone(),
                        line,
                        column,
                        message: format!(
                            "reflex {:?} is a library handler and none is registered under that id",
                            r.id
                        ),
                        hint: Some(hint_for(
                            &r.id,
                            self.handlers.iter().map(|(i, _)| i.as_str()),
                        )),
                    });
                }
            }
        }
        if let Some((id, _)) = self
            .handlers
            .iter()
            .find(|(id, _)| !wanted.contains(&id.as_str()))
        {
            return Err(SourceError {
                file: scenario.path.clone(),
                line: 0,
                column: 0,
                message: format!(
                    "a handler with id {id:?} is registered, but no reflex of the scenario is a library handler with that id"
                ),
                hint: Some(format!(
                    "add `[[reflex]]` with `id = {id:?}` and `library = true` to the scenario"
                )),
            });
        }
        Ok(())
    }
}

fn listing<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.map(|n| format!("{n:?}")).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn hint_for<'a>(id: &str, registered: impl Iterator<Item = &'a str>) -> String {
    format!(
        "register it with `Runner::handler` (the handler's `id()` must return {id:?}); registered: {}. The `ripple` command line cannot run library handlers: run the scenario from Rust (see examples/library_handler.rs)",
        listing(registered)
    )
}

/// A library handler and the maker of its fresh copies.
struct LibraryHandler {
    inner: Box<dyn ReflexHandler>,
    make: MakeHandler,
}

impl ReflexHandler for LibraryHandler {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn pattern(&self) -> &Pattern {
        self.inner.pattern()
    }
    fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }
    fn handle(&mut self, event: &Envelope, now: SimTime) -> Result<Option<HandlerOutput>, String> {
        self.inner.handle(event, now)
    }
    fn handle_into(
        &mut self,
        event: &Envelope,
        now: SimTime,
        out: &mut HandlerOutput,
    ) -> Result<bool, String> {
        self.inner.handle_into(event, now, out)
    }
    /// A restarted process has lost its memory: the handler is made anew.
    fn restart(&mut self) {
        self.inner = (self.make)();
    }
    fn fresh(&self) -> Option<Box<dyn ReflexHandler>> {
        Some(Box::new(LibraryHandler {
            inner: (self.make)(),
            make: Arc::clone(&self.make),
        }))
    }
}
