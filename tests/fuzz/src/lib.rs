//! What the fuzz targets share: a scenario's budgets made small, so that one input is one
//! short run, and the refusal of what would leave the process (external handlers).

use ripple::{Scenario, SimTime};

/// Caps every budget of `scenario` so that a run of it takes milliseconds. Returns `false`
/// for a scenario the fuzzer must not run: one with a process reflex (it would start a
/// program the input names) or a library reflex (nothing registers it).
pub fn small_budgets(scenario: &mut Scenario) -> bool {
    if scenario.reflexes.iter().any(|r| r.is_external()) {
        return false;
    }
    scenario.steps_max = scenario.steps_max.min(2_000);
    scenario.cascade_dispatches_max = scenario.cascade_dispatches_max.min(500);
    scenario.messages_max = scenario.messages_max.min(500);
    scenario.until = SimTime(scenario.until.ms().min(60_000));
    for g in &mut scenario.generators {
        g.count = g.count.min(200);
    }
    true
}
