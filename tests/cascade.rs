//! The cascade, end to end through a scenario: rule order, depth numbering and the bound,
//! fire-and-forget, tenant isolation, resolvers and ids, and the bus hop.

use ripple::parse_scenario;
use ripple::RunOutcome;
use ripple::Runner;
use ripple::Seed;
use ripple::{Origin, Record};
use std::path::Path;

fn run(text: &str, seed: u64) -> RunOutcome {
    let scenario = parse_scenario(text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"));
    Runner::new(&scenario).run(Seed(seed))
}

/// (rule, depth, success) of every reaction result, in trace order.
fn reactions(o: &RunOutcome) -> Vec<(String, u32, bool)> {
    o.records
        .iter()
        .filter_map(|r| match r {
            Record::Reaction {
                rule,
                depth,
                success,
                ..
            } => Some((rule.clone(), depth.0, *success)),
            _ => None,
        })
        .collect()
}

fn status(o: &RunOutcome, tenant: &str, ty: &str, id: &str) -> Option<String> {
    o.entities
        .iter()
        .find(|e| e.tenant.as_str() == tenant && e.entity_type == ty && e.id.as_str() == id)
        .map(|e| e.status.clone())
}

const HEADER: &str = r#"
[scenario]
name = "t"
[[tenant]]
id = "t"
"#;

/// Entity types A..F, each with a `Go` action from Idle to Done and a `Fail` that is never
/// enabled (from = Done only, and nothing reaches Done before Go).
fn entities(types: &[&str]) -> String {
    let mut s = String::new();
    for t in types {
        s.push_str(&format!(
            "[[entity]]\ntype = \"{t}\"\nstates = [\"Idle\", \"Done\"]\ninitial = \"Idle\"\n\
             [[entity.action]]\nname = \"Go\"\nto = \"Done\"\n\
             [[entity.action]]\nname = \"Poke\"\n\
             [[entity.action]]\nname = \"Fail\"\nfrom = [\"Done\"]\nrequires = \"never > 0\"\n"
        ));
    }
    s
}

fn rule(
    name: &str,
    when_type: &str,
    when_action: Option<&str>,
    then_type: &str,
    then_action: &str,
) -> String {
    let action = when_action
        .map(|a| format!("action = \"{a}\"\n"))
        .unwrap_or_default();
    format!(
        "[[reaction]]\nname = \"{name}\"\n[reaction.when]\nentity_type = \"{when_type}\"\n{action}\
         [reaction.then]\nentity_type = \"{then_type}\"\naction = \"{then_action}\"\n\
         [reaction.resolve_target]\ntype = \"same_id\"\n"
    )
}

fn root(ty: &str, id: &str, action: &str) -> String {
    format!("[[event]]\nat = \"0ms\"\ntenant = \"t\"\ndispatch = {{ entity_type = \"{ty}\", id = \"{id}\", action = \"{action}\" }}\n")
}

#[test]
fn exact_action_rules_fire_before_wildcards_depth_first_pre_order() {
    // The wildcard rule is registered first but fires last; each rule's subtree runs
    // before the next sibling.
    let text = format!(
        "{HEADER}{}{}{}{}{}{}{}{}",
        entities(&["A", "B", "C", "D", "E", "F"]),
        rule("wild", "A", None, "B", "Go"),
        rule("exact1", "A", Some("Go"), "C", "Go"),
        rule("exact2", "A", Some("Go"), "D", "Go"),
        rule("b_child", "B", Some("Go"), "E", "Go"),
        rule("c_child", "C", Some("Go"), "F", "Go"),
        rule("d_child", "D", Some("Go"), "E", "Poke"),
        root("A", "x", "Go"),
    );
    let o = run(&text, 0);
    let order: Vec<String> = reactions(&o).into_iter().map(|(r, _, _)| r).collect();
    assert_eq!(
        order,
        ["exact1", "c_child", "exact2", "d_child", "wild", "b_child"]
    );
    assert!(o.passed(), "{:?}", o.violations);
}

#[test]
fn reactions_of_a_root_action_have_depth_zero_and_count_up() {
    let text = format!(
        "{HEADER}{}{}{}{}",
        entities(&["A", "B", "C", "D"]),
        rule("ab", "A", Some("Go"), "B", "Go"),
        rule("bc", "B", Some("Go"), "C", "Go"),
        rule("cd", "C", Some("Go"), "D", "Go"),
    ) + &root("A", "1", "Go");
    let o = run(&text, 0);
    assert_eq!(
        reactions(&o),
        [
            ("ab".to_string(), 0, true),
            ("bc".to_string(), 1, true),
            ("cd".to_string(), 2, true)
        ]
    );
    let dispatch_depths: Vec<u32> = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Dispatch { depth, .. } => Some(depth.0),
            _ => None,
        })
        .collect();
    assert_eq!(
        dispatch_depths,
        [0, 1, 2, 3],
        "a reaction at depth d dispatches at hop d + 1"
    );
}

fn self_loop(max_depth: u32, allow: bool) -> String {
    format!(
        "[scenario]\nname = \"loop\"\nmax_depth = {max_depth}\nallow_truncation = {allow}\n[[tenant]]\nid = \"t\"\n{}{}{}",
        entities(&["A"]),
        rule("again", "A", Some("Poke"), "A", "Poke"),
        root("A", "1", "Poke"),
    )
}

#[test]
fn a_rule_about_to_fire_at_max_depth_is_dropped_and_nothing_goes_past() {
    let o = run(&self_loop(3, true), 0);
    let depths: Vec<u32> = reactions(&o).into_iter().map(|(_, d, _)| d).collect();
    assert_eq!(depths, [0, 1, 2], "results carry depth 0..max_depth-1");
    let limits: Vec<u32> = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::DepthLimit { depth, .. } => Some(depth.0),
            _ => None,
        })
        .collect();
    assert_eq!(limits, [3]);
    assert!(o
        .records
        .iter()
        .all(|r| !matches!(r, Record::Dispatch { depth, .. } if depth.0 > 3)));
    assert!(o.passed(), "allow_truncation = true: {:?}", o.violations);
}

#[test]
fn the_default_depth_bound_is_eight() {
    let text = format!(
        "{HEADER}{}{}{}",
        entities(&["A"]),
        rule("again", "A", Some("Poke"), "A", "Poke"),
        root("A", "1", "Poke")
    );
    let o = run(&text, 0);
    let max = reactions(&o).into_iter().map(|(_, d, _)| d).max();
    assert_eq!(max, Some(7));
}

#[test]
fn truncation_is_a_violation_unless_allowed() {
    let o = run(&self_loop(3, false), 0);
    let names: Vec<&str> = o.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert_eq!(names, ["cascade_truncated"]);
    assert!(o.violations[0].message.contains("again"));
}

#[test]
fn a_failing_target_stops_only_its_branch() {
    let text = format!(
        "{HEADER}{}{}{}{}{}",
        entities(&["A", "B", "C", "D"]),
        rule("fails", "A", Some("Go"), "B", "Fail"),
        rule("b_child", "B", None, "D", "Go"),
        rule("sibling", "A", Some("Go"), "C", "Go"),
        root("A", "1", "Go"),
    );
    let o = run(&text, 0);
    assert_eq!(
        reactions(&o),
        [
            ("fails".to_string(), 0, false),
            ("sibling".to_string(), 0, true)
        ]
    );
    assert_eq!(
        status(&o, "t", "A", "1").as_deref(),
        Some("Done"),
        "the source is not rolled back"
    );
    assert_eq!(
        status(&o, "t", "B", "1"),
        None,
        "a failed first action creates nothing"
    );
    assert_eq!(status(&o, "t", "C", "1").as_deref(), Some("Done"));
    assert_eq!(
        status(&o, "t", "D", "1"),
        None,
        "the failed branch's subtree never runs"
    );
}

#[test]
fn a_guard_that_fails_records_a_skip_and_no_reaction_result() {
    let text = format!(
        "{HEADER}{}[[reaction]]\nname = \"guarded\"\n[reaction.when]\nentity_type = \"A\"\n\
         [reaction.when.guard]\ntype = \"bool_true\"\nfield = \"vip\"\n\
         [reaction.then]\nentity_type = \"B\"\naction = \"Go\"\n[reaction.resolve_target]\ntype = \"same_id\"\n{}",
        entities(&["A", "B"]),
        root("A", "1", "Go"),
    );
    let o = run(&text, 0);
    assert!(reactions(&o).is_empty());
    assert!(o
        .records
        .iter()
        .any(|r| matches!(r, Record::GuardSkip { rule, .. } if rule == "guarded")));
}

#[test]
fn field_resolver_on_a_non_string_records_a_failed_reaction() {
    let text = format!(
        "{HEADER}{}[[reaction]]\nname = \"by_field\"\n[reaction.when]\nentity_type = \"A\"\n\
         [reaction.then]\nentity_type = \"B\"\naction = \"Go\"\n[reaction.resolve_target]\ntype = \"field\"\nfield = \"n\"\n\
         [[event]]\nat = \"0ms\"\ntenant = \"t\"\ndispatch = {{ entity_type = \"A\", id = \"1\", action = \"Go\", params = {{ n = 5 }} }}\n",
        entities(&["A", "B"]),
    );
    let o = run(&text, 0);
    let failed = o.records.iter().find_map(|r| match r {
        Record::Reaction {
            rule,
            success: false,
            error,
            target_id: None,
            ..
        } if rule == "by_field" => error.clone(),
        _ => None,
    });
    assert!(failed
        .expect("a recorded failure")
        .contains("could not resolve target"));
}

fn created_ids(o: &RunOutcome, ty: &str) -> Vec<String> {
    o.entities
        .iter()
        .filter(|e| e.entity_type == ty)
        .map(|e| e.id.0.clone())
        .collect()
}

#[test]
fn create_consumes_an_id_only_when_the_guard_passed() {
    let create = |name: &str, guard: &str| {
        format!(
            "[[reaction]]\nname = \"{name}\"\n[reaction.when]\nentity_type = \"A\"\n{guard}\
             [reaction.then]\nentity_type = \"B\"\naction = \"Go\"\n[reaction.resolve_target]\ntype = \"create\"\n"
        )
    };
    let skipped = create(
        "skipped",
        "[reaction.when.guard]\ntype = \"bool_true\"\nfield = \"nope\"\n",
    );
    let fired = create("fired", "");
    let with_skip = format!(
        "{HEADER}{}{skipped}{fired}{}",
        entities(&["A", "B"]),
        root("A", "1", "Go")
    );
    let without = format!(
        "{HEADER}{}{fired}{}",
        entities(&["A", "B"]),
        root("A", "1", "Go")
    );
    let a = run(&with_skip, 11);
    let b = run(&without, 11);
    assert_eq!(created_ids(&a, "B").len(), 1);
    assert_eq!(
        created_ids(&a, "B"),
        created_ids(&b, "B"),
        "the skipped rule minted nothing"
    );
    // And `create` mints a fresh id per dispatch.
    let twice = format!(
        "{HEADER}{}{fired}{}{}",
        entities(&["A", "B"]),
        root("A", "1", "Go"),
        root("A", "2", "Go")
    );
    assert_eq!(created_ids(&run(&twice, 11), "B").len(), 2);
}

#[test]
fn rules_targets_and_lookups_stay_in_their_tenant() {
    let scenario = ripple::load_scenario(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two_tenants.toml"),
    )
    .unwrap();
    let o = Runner::new(&scenario).run(Seed(0));
    assert!(o.passed(), "{:?}", o.violations);
    // The acme-only rule never ran for globex.
    assert!(!o.records.iter().any(|r| matches!(r, Record::Reaction { tenant, rule, .. } if tenant.as_str() == "globex" && rule == "acme_vip_discount")));
    // globex's lookup of Payment o1 did not see acme's Authorized payment.
    assert!(o.records.iter().any(|r| matches!(r, Record::GuardSkip { tenant, rule, .. } if tenant.as_str() == "globex" && rule == "paid_order_ships")));
    assert_eq!(
        status(&o, "acme", "Order", "o1").as_deref(),
        Some("Shipped")
    );
    assert_eq!(status(&o, "globex", "Order", "o1").as_deref(), Some("Open"));
    // Every dispatch stayed in the tenant of its cause.
    for r in &o.records {
        if let Record::Dispatch {
            tenant,
            source_tenant,
            ..
        } = r
        {
            assert_eq!(tenant, source_tenant);
        }
    }
}

#[test]
fn committed_actions_are_published_on_the_bus() {
    let text = format!("{HEADER}{}{}", entities(&["A"]), root("A", "r1 x.y", "Go"));
    let o = run(&text, 0);
    let subjects: Vec<String> = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Publish { subject, .. } => Some(subject.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        subjects,
        ["entity.A.Go.r1_x_y"],
        "ids are sanitized into one token"
    );
}

#[test]
fn a_reflex_in_a_cycle_is_bounded_like_a_reaction() {
    let scenario =
        ripple::load_scenario(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cycle.toml"))
            .unwrap();
    let o = Runner::new(&scenario).run(Seed(0));
    let reflex_dispatch_depths: Vec<u32> = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Dispatch {
                depth,
                origin: Origin::Reflex { .. },
                ..
            } => Some(depth.0),
            _ => None,
        })
        .collect();
    assert_eq!(reflex_dispatch_depths, [2, 4, 6, 8]);
    assert!(o
        .records
        .iter()
        .all(|r| !matches!(r, Record::Dispatch { depth, .. } if depth.0 > 8)));
}

#[test]
fn a_failing_reflex_is_an_errored_outcome_and_the_run_goes_on() {
    let text = format!(
        "{HEADER}{}[[reflex]]\nid = \"needs_device\"\npattern = \"sensory.>\"\nthen = {{ entity_type = \"A\", action = \"Go\", id = \"{{payload.device}}\" }}\n\
         [[event]]\nat = \"0ms\"\ntenant = \"t\"\nsubject = \"sensory.x.y\"\npayload = {{ other = 1 }}\n\
         [[event]]\nat = \"1ms\"\ntenant = \"t\"\nsubject = \"sensory.x.z\"\npayload = {{ device = \"r1\" }}\n",
        entities(&["A"]),
    );
    let o = run(&text, 0);
    let kinds: Vec<&str> = o.outcomes.iter().map(|x| x.outcome.as_str()).collect();
    assert_eq!(kinds, ["errored", "applied"]);
    assert_eq!(o.outcomes[0].severity.as_str(), "high");
    assert!(
        o.outcomes[0].diagnostic.contains("device"),
        "{}",
        o.outcomes[0].diagnostic
    );
    assert_eq!(status(&o, "t", "A", "r1").as_deref(), Some("Done"));
}

#[test]
fn concurrent_root_inputs_are_ordered_by_the_seed() {
    let text = format!(
        "{HEADER}{}{}{}{}",
        entities(&["A"]),
        root("A", "1", "Go"),
        root("A", "2", "Go"),
        root("A", "3", "Go")
    );
    let first_of = |seed| {
        run(&text, seed).records.iter().find_map(|r| match r {
            Record::Input { event, .. } => Some(*event),
            _ => None,
        })
    };
    let firsts: std::collections::BTreeSet<_> = (0..20).map(first_of).collect();
    assert!(
        firsts.len() > 1,
        "20 seeds always ran the same input first: {firsts:?}"
    );
}

/// `params_from = { upload = "id" }` copies the source entity's id (temper's dispatcher does
/// the same), with the inline cascade and with faults (a reaction as a message of its own).
#[test]
fn params_from_id_copies_the_source_entitys_own_id_to_a_created_target() {
    for faults in ["", "[faults]\nreorder = true\n"] {
        let text = format!(
            "{HEADER}{}{}\
             [[reaction]]\nname = \"upload_starts_job\"\n[reaction.when]\nentity_type = \"A\"\naction = \"Go\"\n\
             [reaction.then]\nentity_type = \"B\"\naction = \"Go\"\nparams_from = {{ upload = \"id\", again = \"Id\" }}\n\
             [reaction.resolve_target]\ntype = \"create\"\n{}{faults}",
            entities(&["A", "B"]),
            "",
            root("A", "u1", "Go"),
        );
        let o = run(&text, 1);
        let job = o
            .entities
            .iter()
            .find(|e| e.entity_type == "B")
            .unwrap_or_else(|| panic!("no job was created ({faults:?})"));
        assert_ne!(job.id.as_str(), "u1", "a created id is fresh");
        assert_eq!(
            job.fields.get("upload"),
            Some(&serde_json::json!("u1")),
            "{faults:?}"
        );
        assert_eq!(
            job.fields.get("again"),
            Some(&serde_json::json!("u1")),
            "{faults:?}"
        );
    }
}
