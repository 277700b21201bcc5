//! The first-party handlers by name, for a scenario's `[[reflex]] builtin = "..."`.
//!
//! Only construction by name lives here; each handler's behaviour is in its own file.

use crate::engine::reflex::{BgpDropHandler, LinkDownHandler, ReflexHandler, SecurityAlertHandler};

/// The names `builtin_handler` accepts, in the order they are listed to users.
pub const BUILTIN_IDS: [&str; 3] = [
    LinkDownHandler::ID,
    BgpDropHandler::ID,
    SecurityAlertHandler::ID,
];

/// A fresh first-party handler, or a message listing the known names.
pub fn builtin_handler(name: &str) -> Result<Box<dyn ReflexHandler>, String> {
    match name {
        LinkDownHandler::ID => Ok(Box::new(LinkDownHandler::new())),
        BgpDropHandler::ID => Ok(Box::new(BgpDropHandler::new())),
        SecurityAlertHandler::ID => Ok(Box::new(SecurityAlertHandler::new())),
        other => Err(format!(
            "unknown builtin reflex {other:?}; use one of {}",
            BUILTIN_IDS.map(|id| format!("\"{id}\"")).join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_id_builds_the_handler_of_that_id() {
        for id in BUILTIN_IDS {
            let handler = builtin_handler(id).unwrap();
            assert_eq!(handler.id(), id);
            assert!(handler
                .pattern()
                .as_str()
                .starts_with(&format!("sensory.{id}.")));
        }
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
