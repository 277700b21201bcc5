//! `[[reflex]]`: builtin, process and declarative reflex handlers.

use super::Loader;
use crate::bus::Pattern;
use crate::core::format_duration_ms;
use crate::core::Severity;
use crate::core::TenantId;
use crate::engine::reflex::{
    builtin_defaults, ExternalSpec, ReflexRegistry, ThenTemplate, BUDGET_MS_DEFAULT,
    WALL_MS_DEFAULT,
};
use crate::engine::EntitySpec;
use crate::scenario::{line_column, SourceError};
use crate::scenario::{ReflexKind, ReflexSpec};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReflexDef {
    pub(super) id: Option<Spanned<String>>,
    pub(super) builtin: Option<Spanned<String>>,
    pub(super) tenant: Option<Spanned<String>>,
    pub(super) pattern: Option<Spanned<String>>,
    pub(super) severity: Option<Spanned<Severity>>,
    pub(super) then: Option<Spanned<ThenTemplate>>,
    /// A builtin's dedup window, overriding netcortex's.
    pub(super) dedup_window: Option<Spanned<String>>,
    /// A handler in any language: the program and its arguments.
    pub(super) command: Option<Spanned<Vec<String>>>,
    /// Where the command runs, relative to the scenario file (default: its directory).
    pub(super) dir: Option<Spanned<String>>,
    /// A process handler's virtual-time budget per delivery.
    pub(super) timeout: Option<Spanned<String>>,
    /// A process handler's wall-clock guard per delivery.
    pub(super) wall_timeout: Option<Spanned<String>>,
    /// A handler written in Rust, registered with the runner under `id`.
    pub(super) library: Option<Spanned<bool>>,
}

impl Loader<'_> {
    pub(super) fn reflexes(
        &self,
        defs: Vec<ReflexDef>,
        tenants: &[TenantId],
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<Vec<ReflexSpec>, SourceError> {
        let mut out = Vec::new();
        // One registry per tenant, as the simulator builds them, so that id clashes are
        // found here, with a place, instead of at run time.
        let mut registries: BTreeMap<TenantId, ReflexRegistry> = tenants
            .iter()
            .map(|t| (t.clone(), ReflexRegistry::default()))
            .collect();
        for r in defs {
            let anchor =
                r.id.as_ref()
                    .map(|s| s.span().start)
                    .or(r.builtin.as_ref().map(|s| s.span().start))
                    .or(r.command.as_ref().map(|s| s.span().start))
                    .or(r.pattern.as_ref().map(|s| s.span().start))
                    .or(r.tenant.as_ref().map(|s| s.span().start))
                    .or(r.severity.as_ref().map(|s| s.span().start))
                    .or(r.then.as_ref().map(|s| s.span().start))
                    .unwrap_or(0);
            let tenant = match &r.tenant {
                Some(t) => Some(self.tenant(t, tenants)?),
                None => None,
            };
            let (id, kind) = if let Some(l) = r.library.as_ref().filter(|l| *l.get_ref()) {
                self.library_reflex(&r, l, anchor)?
            } else if let Some(b) = &r.builtin {
                self.builtin_reflex(&r, b)?
            } else if let Some(c) = &r.command {
                self.process_reflex(&r, c, anchor)?
            } else {
                self.declarative_reflex(&r, anchor, entities)?
            };
            let spec = ReflexSpec { id, tenant, kind };
            for (t, registry) in registries.iter_mut() {
                if spec.serves(t) {
                    registry.register(spec.instantiate()).map_err(|e| {
                        self.err(anchor, format!("{e} (in tenant {t})"))
                            .with_hint("give each reflex its own id")
                    })?;
                }
            }
            out.push(spec);
        }
        Ok(out)
    }

    /// A reflex's pattern.
    pub(super) fn pattern(
        &self,
        id: &str,
        pattern: &Spanned<String>,
    ) -> Result<Pattern, SourceError> {
        Pattern::new(pattern.get_ref().clone()).map_err(|m| {
            self.err(
                pattern.span().start,
                format!("reflex {id:?}: invalid pattern: {m}"),
            )
            .with_hint("`*` matches one token, `>` one or more and only last")
        })
    }

    /// Rejects the keys `kind` of reflex does not take, naming the first one found.
    pub(super) fn only_keys(
        &self,
        r: &ReflexDef,
        kind: &str,
        allowed: &[&str],
        hint: &str,
    ) -> Result<(), SourceError> {
        let present: [(&str, Option<usize>); 10] = [
            ("builtin", r.builtin.as_ref().map(|s| s.span().start)),
            ("library", r.library.as_ref().map(|s| s.span().start)),
            ("pattern", r.pattern.as_ref().map(|s| s.span().start)),
            ("severity", r.severity.as_ref().map(|s| s.span().start)),
            ("then", r.then.as_ref().map(|s| s.span().start)),
            (
                "dedup_window",
                r.dedup_window.as_ref().map(|s| s.span().start),
            ),
            ("command", r.command.as_ref().map(|s| s.span().start)),
            ("dir", r.dir.as_ref().map(|s| s.span().start)),
            ("timeout", r.timeout.as_ref().map(|s| s.span().start)),
            (
                "wall_timeout",
                r.wall_timeout.as_ref().map(|s| s.span().start),
            ),
        ];
        for (key, at) in present {
            if let (Some(at), false) = (at, allowed.contains(&key)) {
                return Err(self
                    .err(at, format!("{kind} does not take `{key}`"))
                    .with_hint(hint.to_string()));
            }
        }
        Ok(())
    }

    /// A handler written in Rust: only its id (and tenant) are the scenario's.
    fn library_reflex(
        &self,
        r: &ReflexDef,
        l: &Spanned<bool>,
        anchor: usize,
    ) -> Result<(String, ReflexKind), SourceError> {
        let Some(id) = &r.id else {
            return Err(self
                .err(l.span().start, "a library [[reflex]] needs an `id`")
                .with_hint("the id is the one its Rust handler's `id()` returns"));
        };
        if id.get_ref().is_empty() {
            return Err(self
                .err(id.span().start, "a reflex id is empty")
                .with_hint("give the reflex an id: outcomes and fault schedules name it"));
        }
        self.only_keys(
            r,
            &format!("library reflex {:?}", id.get_ref()),
            &["library"],
            "a library handler brings its own pattern and configuration; the scenario gives only `id`, `tenant` and `library = true`",
        )?;
        let (line, column) = line_column(self.text, anchor);
        Ok((id.get_ref().clone(), ReflexKind::Library { line, column }))
    }

    pub(super) fn builtin_reflex(
        &self,
        r: &ReflexDef,
        b: &Spanned<String>,
    ) -> Result<(String, ReflexKind), SourceError> {
        let name = b.get_ref();
        let Some((default_pattern, default_window_ms)) = builtin_defaults(name) else {
            return Err(self
                .err(b.span().start, format!("unknown builtin reflex {name:?}"))
                .with_hint("use one of: link_down, bgp_drop, security_alert"));
        };
        self.only_keys(
            r,
            &format!("builtin reflex {name:?}"),
            &["builtin", "pattern", "dedup_window"],
            "a builtin takes `id`, `tenant`, and to simulate another layout `pattern` and `dedup_window`; drop `builtin` to write a declarative reflex",
        )?;
        if let Some(id) = &r.id {
            if id.get_ref() != name {
                return Err(self
                    .err(
                        id.span().start,
                        format!("builtin reflex {name} has the fixed id {name:?}"),
                    )
                    .with_hint("remove `id` (first-party handlers keep their own ids)"));
            }
        }
        let pattern = match &r.pattern {
            Some(p) => self.pattern(name, p)?,
            None => Pattern::new(default_pattern).expect("a valid built-in pattern"),
        };
        let dedup_window_ms = match &r.dedup_window {
            None => default_window_ms,
            Some(w) => match self.duration(w)? {
                0 => {
                    return Err(self
                        .err(w.span().start, format!("builtin reflex {name:?}: dedup_window must be positive"))
                        .with_hint("netcortex's dedup store rejects a TTL of 0; its default for this handler is ".to_string()
                            + &format_duration_ms(default_window_ms)))
                }
                ms => ms,
            },
        };
        Ok((
            name.clone(),
            ReflexKind::Builtin {
                name: name.clone(),
                pattern,
                dedup_window_ms,
            },
        ))
    }

    pub(super) fn process_reflex(
        &self,
        r: &ReflexDef,
        command: &Spanned<Vec<String>>,
        anchor: usize,
    ) -> Result<(String, ReflexKind), SourceError> {
        let id = r.id.as_ref().ok_or_else(|| {
            self.err(anchor, "a [[reflex]] with a `command` needs an `id`")
                .with_hint("add id = \"...\", the handler's id (its outcomes carry it)")
        })?;
        let name = id.get_ref();
        if name.trim().is_empty() {
            return Err(self
                .err(id.span().start, "a reflex id is empty")
                .with_hint("give the reflex an id: outcomes and fault schedules name it"));
        }
        self.only_keys(
            r,
            &format!("process reflex {name:?}"),
            &["pattern", "command", "dir", "timeout", "wall_timeout"],
            "a process handler takes `id`, `tenant`, `pattern`, `command`, `dir`, `timeout` and `wall_timeout`; its outcomes and actions come from its answers",
        )?;
        let pattern = r.pattern.as_ref().ok_or_else(|| {
            self.err(
                id.span().start,
                format!("reflex {name:?} needs a `pattern`"),
            )
            .with_hint("the pattern it subscribes with, e.g. pattern = \"sensory.link_down.>\"")
        })?;
        let pattern = self.pattern(name, pattern)?;
        let at = command.span().start;
        let argv = command.get_ref();
        if argv.is_empty() || argv[0].trim().is_empty() {
            return Err(self
                .err(at, format!("reflex {name:?}: `command` is empty"))
                .with_hint("the program and its arguments, e.g. command = [\"python3\", \"handlers/flap.py\"]"));
        }
        let base = self.path.parent().unwrap_or(Path::new("."));
        let dir = match &r.dir {
            None => base.to_path_buf(),
            Some(d) => base.join(d.get_ref()),
        };
        if !dir.is_dir() {
            let place = r.dir.as_ref().map_or(at, |d| d.span().start);
            return Err(self
                .err(
                    place,
                    format!("reflex {name:?}: {} is not a directory", dir.display()),
                )
                .with_hint("`dir` is relative to the scenario file"));
        }
        // A program given by a path (not looked up on PATH) must be there.
        if argv[0].contains('/') && !dir.join(&argv[0]).exists() {
            return Err(self
                .err(at, format!("reflex {name:?}: the program {:?} is not in {}", argv[0], dir.display()))
                .with_hint("a command's relative paths are relative to the scenario's directory (or `dir`)"));
        }
        let positive = |d: &Option<Spanned<String>>, key: &str, default_ms: u64| match d {
            None => Ok(default_ms),
            Some(d) => match self.duration(d)? {
                0 => Err(self
                    .err(
                        d.span().start,
                        format!("reflex {name:?}: {key} must be positive"),
                    )
                    .with_hint(format!("the default is {}", format_duration_ms(default_ms)))),
                ms => Ok(ms),
            },
        };
        let budget_ms = positive(&r.timeout, "timeout", BUDGET_MS_DEFAULT)?;
        let wall_ms = positive(&r.wall_timeout, "wall_timeout", WALL_MS_DEFAULT)?;
        let (line, column) = line_column(self.text, at);
        Ok((
            name.clone(),
            ReflexKind::Process {
                spec: Arc::new(ExternalSpec {
                    id: name.clone(),
                    pattern,
                    command: argv.clone(),
                    dir,
                    budget_ms,
                    wall_ms,
                }),
                line,
                column,
            },
        ))
    }

    pub(super) fn declarative_reflex(
        &self,
        r: &ReflexDef,
        anchor: usize,
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<(String, ReflexKind), SourceError> {
        let id = r.id.as_ref().ok_or_else(|| {
            self.err(anchor, "a declarative [[reflex]] needs an `id`")
                .with_hint("add id = \"...\", or use builtin = \"link_down\" | \"bgp_drop\" | \"security_alert\", or command = [...]")
        })?;
        self.only_keys(
            r,
            &format!("declarative reflex {:?}", id.get_ref()),
            &["pattern", "severity", "then"],
            "`dedup_window` goes with `builtin`; `dir`, `timeout` and `wall_timeout` with `command`",
        )?;
        let pattern = r.pattern.as_ref().ok_or_else(|| {
            self.err(
                id.span().start,
                format!("reflex {:?} needs a `pattern`", id.get_ref()),
            )
            .with_hint("e.g. pattern = \"sensory.link_down.>\"")
        })?;
        let pattern = self.pattern(id.get_ref(), pattern)?;
        let then = match &r.then {
            None => None,
            Some(t) => {
                t.get_ref().validate().map_err(|m| {
                    self.err(t.span().start, format!("reflex {:?}: {m}", id.get_ref()))
                        .with_hint("placeholders: {payload.a.b}, {subject}, {token.N}, {tenant}, {event_id}")
                })?;
                let then = t.get_ref();
                self.table(
                    &then.params,
                    t.span().start,
                    &format!("reflex {:?}: then.params", id.get_ref()),
                )?;
                self.check_action(
                    entities,
                    &then.entity_type,
                    &then.action,
                    t.span().start,
                    &format!("reflex {:?} then", id.get_ref()),
                )?;
                Some(then.clone())
            }
        };
        let severity = r
            .severity
            .as_ref()
            .map(|s| *s.get_ref())
            .unwrap_or(Severity::Info);
        Ok((
            id.get_ref().clone(),
            ReflexKind::Declarative {
                pattern,
                severity,
                then,
            },
        ))
    }
}
