//! The predicate language, end to end: parse, evaluate, describe, and reject.

use super::syntax::*;
use super::*;
use crate::core::TenantId;
use crate::core::{EntityId, Value};
use crate::engine::{Entity, Store};
use serde_json::json;

/// A store from `(tenant, type, id, status, fields)`.
fn store(entities: &[(&str, &str, &str, &str, Value)]) -> Store {
    let mut s = Store::default();
    for (tenant, ty, id, status, fields) in entities {
        s.insert(
            &TenantId::new(*tenant),
            ty,
            &EntityId::new(*id),
            Entity {
                status: status.to_string(),
                fields: serde_json::from_value(fields.clone()).unwrap(),
            },
        );
    }
    s
}

fn parse_err(text: &str) -> PredicateError {
    match Predicate::parse(text) {
        Ok(p) => panic!("{text:?} parsed: {p:?}"),
        Err(e) => e,
    }
}

fn never(text: &str) -> UserInvariant {
    UserInvariant::parse("n", InvariantKind::Never, text).unwrap()
}

fn always(text: &str) -> UserInvariant {
    UserInvariant::parse("a", InvariantKind::Always, text).unwrap()
}

fn eval(text: &str, s: &Store, binding: Option<&str>) -> bool {
    Predicate::parse(text).unwrap().eval(s, "t", binding)
}

// --- parse errors: each class at the column of the offending token ---

#[test]
fn single_equals_is_unknown_and_suggests_double_equals() {
    let e = parse_err("Order[id].status = 'x'");
    assert_eq!(e.column, 18);
    assert_eq!(e.message, "unknown token `=`; did you mean `==`?");
    assert_eq!(
        e.to_string(),
        "column 18: unknown token `=`; did you mean `==`?\n  hint: `==` compares; a predicate assigns nothing"
    );
    assert_eq!(
        parse_err("Order[id].n === 1").message,
        "unknown token `===`; did you mean `==`?"
    );
    assert_eq!(
        parse_err("Order[id].n => 1").message,
        "unknown token `=>`; did you mean `>=`?"
    );
    assert_eq!(
        parse_err("Order[id].n <> 1").message,
        "unknown token `<>`; did you mean `!=`?"
    );
}

#[test]
fn single_ampersand_and_pipe_suggest_doubled_operators() {
    let e = parse_err("A[id].x & B[id].y");
    assert_eq!(
        (e.column, e.message.as_str()),
        (9, "unknown token `&`; did you mean `&&`?")
    );
    let e = parse_err("A[id].x | B[id].y");
    assert_eq!(
        (e.column, e.message.as_str()),
        (9, "unknown token `|`; did you mean `||`?")
    );
}

#[test]
fn unknown_character_is_an_error_at_its_column() {
    let e = parse_err("Order[id].n > 1 # comment");
    assert_eq!((e.column, e.message.as_str()), (17, "unknown token `#`"));
}

#[test]
fn unterminated_string_points_at_its_opening_quote() {
    let e = parse_err("Order[id].status == 'Cancel");
    assert_eq!((e.column, e.message.as_str()), (21, "unterminated string"));
    let e = parse_err("Order[\"o1].status == 'x'");
    assert_eq!((e.column, e.message.as_str()), (7, "unterminated string"));
}

#[test]
fn status_without_operator_expects_a_comparison_operator() {
    let e = parse_err("Order[id].status 'Cancelled'");
    assert_eq!(e.column, 18);
    assert_eq!(
        e.message,
        "expected a comparison operator after `Order[id].status`, found `'Cancelled'`"
    );
    let e = parse_err("Order[id].status && Payment[id].exists");
    assert_eq!(e.column, 18);
    assert!(e
        .message
        .starts_with("expected a comparison operator after `Order[id].status`"));
    let e = parse_err("Order[id].status");
    assert_eq!(e.column, 17, "at the end of the expression");
    let e = parse_err("Payment[id].amount 5");
    assert_eq!(
        e.column, 20,
        "a field followed by a value also lacks an operator"
    );
    assert!(e
        .message
        .starts_with("expected a comparison operator after `Payment[id].amount`"));
}

#[test]
fn reference_without_property_lists_the_properties() {
    let e = parse_err("Order[id] == 'x'");
    assert_eq!(e.column, 11);
    assert_eq!(
        e.message,
        "`Order[id]` needs a property: `.status`, `.exists` or a field name"
    );
    let e = parse_err("Order['o1'].");
    assert_eq!(e.column, 13);
    assert!(e
        .message
        .starts_with("expected a property after `Order['o1'].`"));
}

#[test]
fn reference_without_id_or_bracket_is_an_error_at_the_missing_part() {
    let e = parse_err("Order.status == 'x'");
    assert_eq!(
        (e.column, e.message.as_str()),
        (6, "`Order` needs an id before the property")
    );
    let e = parse_err("Order[].status == 'x'");
    assert_eq!(e.column, 7);
    assert!(e.message.starts_with("expected an id after `Order[`"));
    let e = parse_err("Order[id.status == 'x'");
    assert_eq!(e.column, 9);
    assert!(e.message.starts_with("expected `]` after `Order[id`"));
}

#[test]
fn second_distinct_variable_is_an_error_at_its_column() {
    let e = parse_err("Order[id].status == 'x' && Payment[pid].exists");
    assert_eq!(e.column, 36);
    assert!(e.message.contains("second variable `pid`"), "{}", e.message);
    assert!(Predicate::parse("Order[oid].exists && Payment[oid].exists").is_ok());
}

#[test]
fn bare_word_value_suggests_quoting_it() {
    let e = parse_err("Order[id].status == Cancelled");
    assert_eq!(
        (e.column, e.message.as_str()),
        (21, "`Cancelled` is not a value")
    );
    assert!(e.hint.unwrap().contains("'Cancelled'"));
    let e = parse_err("Order[id].exists and Payment[id].exists");
    assert_eq!(e.column, 18);
    assert_eq!(e.hint.as_deref(), Some("did you mean `&&`?"));
}

#[test]
fn missing_value_after_operator_names_the_operator() {
    let e = parse_err("Order[id].status ==");
    assert_eq!(e.column, 20);
    assert_eq!(
        e.message,
        "expected a value after `==`, found the end of the expression"
    );
    let e = parse_err("Order[id].exists && && true");
    assert_eq!(e.column, 21);
    assert_eq!(e.message, "expected a value after `&&`, found `&&`");
    let e = parse_err("");
    assert_eq!(
        (e.column, e.message.as_str()),
        (1, "expected an expression, found the end of the expression")
    );
    assert_eq!(parse_err("   ").column, 4);
}

#[test]
fn unbalanced_parentheses_are_errors_where_noticed() {
    let e = parse_err("(Order[id].exists");
    assert_eq!(e.column, 18);
    assert!(e
        .message
        .starts_with("expected `)` to close the `(` at column 1"));
    let e = parse_err("Order[id].exists)");
    assert_eq!(
        (e.column, e.message.as_str()),
        (17, "unexpected `)`: there is no `(` to close")
    );
}

#[test]
fn comparisons_do_not_chain() {
    let e = parse_err("1 < Order[id].n < 3");
    assert_eq!(e.column, 17);
    assert!(e.message.starts_with("comparisons do not chain"));
}

#[test]
fn constant_comparisons_are_rejected_at_the_offending_operand() {
    let e = parse_err("Order[id].status < 3");
    assert_eq!(e.column, 1);
    assert_eq!(
        e.message,
        "`<` compares numbers, but `Order[id].status` is a string"
    );
    let e = parse_err("Order[id].n >= 'x'");
    assert_eq!(e.column, 16);
    let e = parse_err("Order[id].status == 5");
    assert_eq!(e.column, 21);
    assert!(e.message.contains("can never be equal"));
    assert!(Predicate::parse("Order[id].n == 'x' || Order[id].n == 5").is_ok());
}

#[test]
fn not_needs_a_condition_and_binds_tighter_than_comparison() {
    let e = parse_err("!Order[id].status == 'x'");
    assert_eq!(e.column, 2);
    assert_eq!(
        e.message,
        "`!` needs a condition, but `Order[id].status` is a string"
    );
    assert!(Predicate::parse("!(Order[id].status == 'x')").is_ok());
}

#[test]
fn bad_numbers_and_escapes_are_errors() {
    let e = parse_err("Order[id].n > 1.");
    assert_eq!(
        (e.column, e.message.as_str()),
        (16, "expected a digit after `1.`")
    );
    let e = parse_err("Order[id].n > 1e999");
    assert_eq!(
        (e.column, e.message.as_str()),
        (15, "number `1e999` is out of range")
    );
    let e = parse_err(r"Order[id].s == 'a\nb'");
    assert_eq!(
        (e.column, e.message.as_str()),
        (18, "unknown escape in a string")
    );
    let e = parse_err("Order[id].n > - 1");
    assert_eq!((e.column, e.message.as_str()), (15, "unknown token `-`"));
}

#[test]
fn parse_error_columns_count_characters_not_bytes() {
    let e = parse_err("Order['日本'].status = 'x'");
    assert_eq!(e.column, 20);
}

#[test]
fn expressions_over_the_length_budget_are_rejected() {
    let ok = format!("Order['{}'].exists", "x".repeat(PREDICATE_CHARS_MAX - 16));
    assert_eq!(ok.chars().count(), PREDICATE_CHARS_MAX);
    assert!(Predicate::parse(&ok).is_ok());
    let long = format!("Order['{}'].exists", "x".repeat(PREDICATE_CHARS_MAX - 15));
    let e = parse_err(&long);
    assert_eq!(e.column, PREDICATE_CHARS_MAX + 1);
    assert!(e.message.contains("limit is 4096"));
}

#[test]
fn nesting_over_the_depth_budget_is_rejected_at_the_deepest_opener() {
    let nest = |n: usize| format!("{}true{}", "(".repeat(n), ")".repeat(n));
    assert!(Predicate::parse(&nest(PREDICATE_DEPTH_MAX)).is_ok());
    let e = parse_err(&nest(PREDICATE_DEPTH_MAX + 1));
    assert_eq!(e.column, PREDICATE_DEPTH_MAX + 1);
    assert!(e.message.contains("deeper than 64"));
    let bangs = format!("{}true", "!".repeat(PREDICATE_DEPTH_MAX + 1));
    assert_eq!(parse_err(&bangs).column, PREDICATE_DEPTH_MAX + 1);
    // `&&` chains are flat: long ones are fine.
    let chain = vec!["true"; 500].join(" && ");
    assert!(Predicate::parse(&chain).is_ok());
}

// --- checking ---

#[test]
fn never_catches_cancelled_order_with_authorized_payment_and_names_the_id() {
    let inv = never("Order[id].status == 'Cancelled' && Payment[id].status == 'Authorized'");
    let s = store(&[
        ("t", "Order", "o1", "Cancelled", json!({})),
        ("t", "Payment", "o1", "Authorized", json!({})),
        ("t", "Order", "o2", "Cancelled", json!({})),
        ("t", "Payment", "o2", "Failed", json!({})),
    ]);
    assert_eq!(
        inv.check(&s, "t").as_deref(),
        Some(
            r#"with id = "o1": Order[o1].status = "Cancelled", Payment[o1].status = "Authorized""#
        )
    );
    let ok = store(&[
        ("t", "Order", "o1", "Cancelled", json!({})),
        ("t", "Payment", "o1", "Failed", json!({})),
        ("t", "Order", "o2", "Confirmed", json!({})),
        ("t", "Payment", "o2", "Authorized", json!({})),
    ]);
    assert_eq!(inv.check(&ok, "t"), None);
}

#[test]
fn always_reports_the_first_counterexample_in_id_order() {
    let inv = always("Payment[id].amount <= 1000 || Payment[id].status != 'Authorized'");
    let s = store(&[
        ("t", "Payment", "p1", "Authorized", json!({"amount": 500})),
        ("t", "Payment", "p3", "Authorized", json!({"amount": 5000})),
        ("t", "Payment", "p2", "Authorized", json!({"amount": 2000})),
        ("t", "Payment", "p0", "Failed", json!({"amount": 9000})),
    ]);
    assert_eq!(
        inv.check(&s, "t").as_deref(),
        Some(r#"with id = "p2": Payment[p2].amount = 2000, Payment[p2].status = "Authorized""#)
    );
}

#[test]
fn missing_entity_makes_comparisons_false_except_not_equal() {
    let s = store(&[("t", "Order", "o1", "Draft", json!({"n": 1}))]);
    let b = Some("o1");
    assert!(eval("Payment[id].status != 'X'", &s, b));
    assert!(!eval("Payment[id].status == 'X'", &s, b));
    assert!(!eval("Payment[id].amount < 1", &s, b));
    assert!(!eval("Payment[id].amount >= 1", &s, b));
    assert!(
        !eval("Payment[id].amount == null", &s, b),
        "Missing is not null"
    );
    assert!(!eval("Payment[id].amount == Order[id].missing", &s, b));
    assert!(eval("Payment[id].amount != Order[id].missing", &s, b));
    let inv = never("Payment[id].status != 'X'");
    let s2 = store(&[
        ("t", "Order", "o1", "Draft", json!({})),
        ("t", "Payment", "o1", "X", json!({})),
    ]);
    assert_eq!(inv.check(&s2, "t"), None);
}

#[test]
fn missing_field_is_missing_and_shown_as_such() {
    let s = store(&[("t", "Order", "o1", "Draft", json!({"n": null}))]);
    assert!(
        eval("Order[id].n == null", &s, Some("o1")),
        "a present null is null"
    );
    assert!(!eval("Order[id].gone == null", &s, Some("o1")));
    assert!(eval("Order[id].gone != 0", &s, Some("o1")));
    let inv = always("Order[id].gone == 1 && Payment[id].status == 'A'");
    assert_eq!(
        inv.check(&s, "t").as_deref(),
        Some(r#"with id = "o1": Order[o1].gone = (no field), Payment[o1].status = (no entity)"#)
    );
}

#[test]
fn literal_id_refers_to_one_entity_and_is_evaluated_once() {
    let inv = always("Pager['oncall'].pages < 3");
    assert_eq!(inv.predicate.variable(), None);
    let s = store(&[
        ("t", "Pager", "oncall", "Active", json!({"pages": 3})),
        ("t", "Pager", "other", "Active", json!({"pages": 99})),
    ]);
    assert_eq!(
        inv.check(&s, "t").as_deref(),
        Some("Pager[oncall].pages = 3")
    );
    let s = store(&[("t", "Pager", "oncall", "Active", json!({"pages": 2}))]);
    assert_eq!(inv.check(&s, "t"), None);
    assert!(
        eval(r#"Pager["oncall"].pages == 2"#, &s, None),
        "double quotes work too"
    );
}

#[test]
fn expression_without_variable_is_checked_even_in_an_empty_store() {
    let inv = always("Pager['oncall'].exists");
    assert_eq!(
        inv.check(&Store::default(), "t").as_deref(),
        Some("Pager[oncall].exists = false")
    );
}

#[test]
fn variable_with_no_entities_has_nothing_to_check() {
    let inv = always("Order[id].status == 'never'");
    assert_eq!(inv.check(&Store::default(), "t"), None);
}

#[test]
fn exists_is_true_only_for_present_entities() {
    let s = store(&[("t", "Order", "o1", "Draft", json!({}))]);
    assert!(eval("Order['o1'].exists", &s, None));
    assert!(!eval("Order['o2'].exists", &s, None));
    assert!(!eval("Payment[id].exists", &s, Some("o1")));
    assert!(eval("Payment[id].exists == false", &s, Some("o1")));
    assert!(
        !eval("Order[id].exists", &s, None),
        "an unbound variable finds nothing"
    );
}

#[test]
fn numbers_compare_by_value_across_int_and_float() {
    let s = store(&[
        (
            "t",
            "P",
            "i",
            "S",
            json!({"n": 1, "big": u64::MAX, "s": "1"}),
        ),
        ("t", "P", "f", "S", json!({"n": 2.5})),
    ]);
    assert!(eval("P['i'].n == 1.0", &s, None));
    assert!(!eval("P['i'].n != 1.0", &s, None));
    assert!(eval("P['i'].n < 1.5 && P['i'].n >= 1", &s, None));
    assert!(eval(
        "P['f'].n > 2 && P['f'].n <= 2.5 && P['f'].n == 25e-1",
        &s,
        None
    ));
    assert!(eval("P['i'].n > -1", &s, None));
    assert!(eval("P['i'].big == 18446744073709551615", &s, None));
    assert!(
        !eval("P['i'].big == 18446744073709551614", &s, None),
        "integers compare exactly"
    );
    assert!(!eval("P['i'].s == 1", &s, None), "a string is not a number");
    assert!(
        !eval("P['i'].s < 2", &s, None),
        "ordering on a non-number is false"
    );
    assert!(!eval("P['i'].s >= 2", &s, None));
}

#[test]
fn and_binds_tighter_than_or() {
    // Only o1 exists: a || (b && c) is true, (a || b) && c would be false.
    let s = store(&[("t", "Order", "o1", "Draft", json!({}))]);
    assert!(eval(
        "Order['o1'].exists || Order['o2'].exists && Order['o3'].exists",
        &s,
        None
    ));
    assert!(!eval(
        "Order['o2'].exists && Order['o3'].exists || Order['o4'].exists",
        &s,
        None
    ));
}

#[test]
fn parentheses_override_precedence() {
    let s = store(&[("t", "Order", "o1", "Draft", json!({}))]);
    assert!(!eval(
        "(Order['o1'].exists || Order['o2'].exists) && Order['o3'].exists",
        &s,
        None
    ));
    assert!(eval("((Order['o1'].status == 'Draft'))", &s, None));
}

#[test]
fn not_negates_a_condition() {
    let s = store(&[
        ("t", "Order", "a", "Draft", json!({"ok": true})),
        ("t", "Order", "b", "Draft", json!({"ok": false})),
        ("t", "Order", "c", "Draft", json!({"ok": "yes"})),
    ]);
    assert!(!eval("!Order['a'].exists", &s, None));
    assert!(eval("!!Order['a'].exists", &s, None));
    assert!(eval("!(Order['a'].status == 'Sent')", &s, None));
    assert!(!eval("!Order['a'].ok", &s, None));
    assert!(eval("!Order['b'].ok", &s, None));
    assert!(
        eval("!Order['c'].ok", &s, None),
        "a non-boolean field is not true"
    );
    assert!(
        eval("!Order['zz'].ok", &s, None),
        "a missing field is not true"
    );
    assert!(
        eval("!Order['a'].ok == false", &s, None),
        "`!` applies before `==`"
    );
}

#[test]
fn boolean_field_stands_as_a_condition() {
    let s = store(&[
        ("t", "Order", "a", "Draft", json!({"approved": true})),
        ("t", "Order", "b", "Draft", json!({"approved": 1})),
    ]);
    assert!(eval("Order[id].approved", &s, Some("a")));
    assert!(!eval("Order[id].approved", &s, Some("b")));
    assert!(eval("Order[id].approved == true", &s, Some("a")));
}

#[test]
fn strings_take_either_quote_and_escapes() {
    let s = store(&[("t", "Order", "o1", "it's", json!({"q": "say \"hi\""}))]);
    assert!(eval(r"Order[id].status == 'it\'s'", &s, Some("o1")));
    assert!(eval(r#"Order[id].status == "it's""#, &s, Some("o1")));
    assert!(eval(r#"Order[id].q == 'say "hi"'"#, &s, Some("o1")));
}

#[test]
fn variable_ranges_over_the_union_of_ids_of_types_written_with_it() {
    // `p9` is only a Payment: it is still a binding.
    let inv = always("Order[id].exists || Payment[id].status == 'Nope'");
    let s = store(&[
        ("t", "Order", "o1", "Draft", json!({})),
        ("t", "Payment", "p9", "Failed", json!({})),
    ]);
    assert_eq!(
        inv.check(&s, "t").as_deref(),
        Some(r#"with id = "p9": Order[p9].exists = false, Payment[p9].status = "Failed""#)
    );
    // The union is sorted across types: `a0` (a Payment) comes before `b1` (an Order).
    let inv = never("Order[id].exists || Payment[id].exists");
    let s = store(&[
        ("t", "Order", "b1", "Draft", json!({})),
        ("t", "Order", "a0", "Draft", json!({})),
        ("t", "Payment", "a0", "Failed", json!({})),
    ]);
    assert!(inv.check(&s, "t").unwrap().starts_with(r#"with id = "a0""#));
    assert_eq!(inv.predicate.bound_types(), ["Order", "Payment"]);
}

#[test]
fn types_referenced_only_by_literal_ids_do_not_join_the_domain() {
    let inv = never("Pager['x'].exists && !Order[id].exists");
    let s = store(&[("t", "Pager", "x", "On", json!({}))]);
    assert_eq!(inv.check(&s, "t"), None, "no Order ids: nothing to bind");
    assert_eq!(inv.predicate.bound_types(), ["Order"]);
}

#[test]
fn tenants_do_not_see_each_others_entities() {
    let inv = never("Order[id].status == 'Cancelled' && Payment[id].status == 'Authorized'");
    let split = store(&[
        ("a", "Order", "o1", "Cancelled", json!({})),
        ("b", "Payment", "o1", "Authorized", json!({})),
    ]);
    assert_eq!(inv.check(&split, "a"), None);
    assert_eq!(inv.check(&split, "b"), None);
    let lit = always("Pager['oncall'].exists");
    let s = store(&[("a", "Pager", "oncall", "On", json!({}))]);
    assert_eq!(lit.check(&s, "a"), None);
    assert!(lit.check(&s, "b").is_some());
    let together = store(&[
        ("a", "Order", "o1", "Cancelled", json!({})),
        ("a", "Payment", "o1", "Authorized", json!({})),
    ]);
    assert!(inv.check(&together, "a").is_some());
    assert_eq!(inv.check(&together, "b"), None);
}

#[test]
fn entity_types_are_sorted_and_deduplicated() {
    let p = Predicate::parse(
        "Payment[id].x == 1 && Order[id].exists && Payment['p'].status == 'A' || Alarm['z'].on",
    )
    .unwrap();
    assert_eq!(p.entity_types(), ["Alarm", "Order", "Payment"]);
    assert_eq!(p.variable(), Some("id"));
}

#[test]
fn holds_with_evaluates_against_any_lookup() {
    let p = Predicate::parse("Order[id].status == 'Draft' && Order[id].n > 0").unwrap();
    let e = Entity {
        status: "Draft".into(),
        fields: serde_json::from_value(json!({"n": 2})).unwrap(),
    };
    assert!(
        p.holds_with(Some("x"), |ty, id| (ty == "Order" && id == "x")
            .then_some(&e))
    );
    assert!(
        !p.holds_with(Some("y"), |ty, id| (ty == "Order" && id == "x")
            .then_some(&e))
    );
}

#[test]
fn long_field_values_are_cut_in_messages() {
    let long = "x".repeat(500);
    let s = store(&[("t", "Order", "o1", "Draft", json!({ "note": long }))]);
    let msg = always("Order[id].note == 'short'").check(&s, "t").unwrap();
    assert!(msg.ends_with('…'));
    assert!(msg.chars().count() < 260, "{msg}");
}
