//! The scenario loader and the lint pass on arbitrary bytes: an error or a scenario, never a
//! panic, and every error located (a line, unless it is about the whole file).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ripple::parse_scenario(text, Path::new("fuzz/input.toml")) {
        Ok(scenario) => {
            let _ = ripple::__private::lint_scenario_text(&scenario, text);
        }
        Err(e) => {
            assert!(!e.message.trim().is_empty(), "an empty message: {e:?}");
            assert!(e.hint.is_some(), "an error with no hint: {e}");
        }
    }
});
