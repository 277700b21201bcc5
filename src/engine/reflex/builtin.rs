//! The first-party handlers by name, for a scenario's `[[reflex]] builtin = "..."`.
//!
//! Only construction by name lives here; each handler's behaviour is in its own file.

use crate::bus::Pattern;
use crate::engine::reflex::{BgpDropHandler, LinkDownHandler, ReflexHandler, SecurityAlertHandler};

/// The names `builtin_handler` accepts, in the order they are listed to users.
pub const BUILTIN_IDS: [&str; 3] = [
    LinkDownHandler::ID,
    BgpDropHandler::ID,
    SecurityAlertHandler::ID,
];

/// A first-party handler's netcortex defaults: its pattern and dedup window.
pub fn builtin_defaults(name: &str) -> Option<(&'static str, u64)> {
    match name {
        LinkDownHandler::ID => Some((LinkDownHandler::PATTERN, LinkDownHandler::DEDUP_WINDOW_MS)),
        BgpDropHandler::ID => Some((BgpDropHandler::PATTERN, BgpDropHandler::DEDUP_WINDOW_MS)),
        SecurityAlertHandler::ID => Some((
            SecurityAlertHandler::PATTERN,
            SecurityAlertHandler::DEDUP_WINDOW_MS,
        )),
        _ => None,
    }
}

/// A fresh first-party handler, or a message listing the known names.
#[cfg(test)]
pub fn builtin_handler(name: &str) -> Result<Box<dyn ReflexHandler>, String> {
    builtin_handler_with(name, None, None)
}

/// A fresh first-party handler subscribed on `pattern` and deduplicating within
/// `dedup_window_ms` (each its netcortex default when `None`).
pub fn builtin_handler_with(
    name: &str,
    pattern: Option<Pattern>,
    dedup_window_ms: Option<u64>,
) -> Result<Box<dyn ReflexHandler>, String> {
    let Some((default_pattern, default_window_ms)) = builtin_defaults(name) else {
        return Err(format!(
            "unknown builtin reflex {name:?}; use one of {}",
            BUILTIN_IDS.map(|id| format!("\"{id}\"")).join(", ")
        ));
    };
    let pattern =
        pattern.unwrap_or_else(|| Pattern::new(default_pattern).expect("a valid built-in pattern"));
    let window_ms = dedup_window_ms.unwrap_or(default_window_ms);
    Ok(match name {
        LinkDownHandler::ID => Box::new(LinkDownHandler::with(pattern, window_ms)),
        BgpDropHandler::ID => Box::new(BgpDropHandler::with(pattern, window_ms)),
        _ => Box::new(SecurityAlertHandler::with(pattern, window_ms)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_id_builds_the_handler_of_that_id() {
        for id in BUILTIN_IDS {
            let handler = builtin_handler(id).unwrap();
            assert_eq!(handler.id(), id);
            assert_eq!(handler.pattern().as_str(), format!("sensory.{id}.>"));
        }
    }

    #[test]
    fn overrides_change_the_pattern_and_the_identity() {
        let seed_layout = Pattern::new("sensory.snmp.trap.link_down.>").unwrap();
        let h = builtin_handler_with("link_down", Some(seed_layout), Some(30_000)).unwrap();
        assert_eq!(h.pattern().as_str(), "sensory.snmp.trap.link_down.>");
        assert_ne!(
            h.fingerprint(),
            builtin_handler("link_down").unwrap().fingerprint()
        );
    }

    #[test]
    fn unknown_builtin_lists_the_known_ones() {
        let err = builtin_handler("link-down").err().unwrap();
        assert!(
            err.contains("\"link_down\", \"bgp_drop\", \"security_alert\""),
            "{err}"
        );
    }
}
