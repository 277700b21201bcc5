//! Planted bugs for testing and benchmarking shrinkers: a scenario whose invariant fails
//! only when k particular root events (among n) have all run, with noise events and noise
//! rules around them.

/// The parts a planted bug can need (k is at most 3).
pub const PLANTED_PARTS: [&str; 3] = ["a", "b", "c"];

/// The scenario text. The needed events are `Key/k_<part>.Set`; noise is keys with part
/// "z" and pokes whose five noise rules touch sinks.
pub fn planted_scenario(k: usize, n: usize) -> String {
    assert!((1..=3).contains(&k) && n > k, "k in 1..=3, n > k");
    let mut s = String::from(
        "[scenario]\nname = \"planted\"\nuntil = \"1h\"\n[[tenant]]\nid = \"t\"\n\
         [[entity]]\ntype = \"Key\"\nstates = [\"Idle\"]\ninitial = \"Idle\"\n[[entity.action]]\nname = \"Set\"\n\
         [[entity]]\ntype = \"Vault\"\nstates = [\"Closed\"]\ninitial = \"Closed\"\n[[entity.action]]\nname = \"Mark\"\n\
         [[entity]]\ntype = \"Noise\"\nstates = [\"Idle\"]\ninitial = \"Idle\"\n[[entity.action]]\nname = \"Poke\"\neffect = [\"increment pokes\"]\n\
         [[entity]]\ntype = \"Sink\"\nstates = [\"Idle\"]\ninitial = \"Idle\"\n[[entity.action]]\nname = \"Touch\"\neffect = [\"increment touches\"]\n",
    );
    for part in PLANTED_PARTS {
        s.push_str(&format!(
            "[[reaction]]\nname = \"mark_{part}\"\n[reaction.when]\nentity_type = \"Key\"\naction = \"Set\"\n\
             [reaction.when.guard]\ntype = \"field_equals\"\nfield = \"part\"\nvalue = \"{part}\"\n\
             [reaction.then]\nentity_type = \"Vault\"\naction = \"Mark\"\nparams = {{ {part} = true }}\n\
             [reaction.resolve_target]\ntype = \"static\"\nentity_id = \"v\"\n"
        ));
    }
    for i in 0..5 {
        s.push_str(&format!(
            "[[reaction]]\nname = \"noise_{i}\"\n[reaction.when]\nentity_type = \"Noise\"\naction = \"Poke\"\n\
             [reaction.then]\nentity_type = \"Sink\"\naction = \"Touch\"\n[reaction.resolve_target]\ntype = \"static\"\nentity_id = \"s{i}\"\n"
        ));
    }
    let clause: Vec<String> = PLANTED_PARTS[..k]
        .iter()
        .map(|p| format!("Vault['v'].{p} == true"))
        .collect();
    s.push_str(&format!(
        "[[invariant]]\nname = \"vault_opened\"\nnever = \"{}\"\n",
        clause.join(" && ")
    ));
    // The needed events at fixed places; noise everywhere else, at scattered times (an LCG:
    // the file is the same on every machine).
    let mut x: u64 = 0x9e37_79b9;
    let needed_at: Vec<usize> = (0..k).map(|i| (i + 1) * n / (k + 1)).collect();
    for i in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = (x >> 33) % 10_000 + if needed_at.contains(&i) { 20_000 } else { 0 };
        let body = match needed_at.iter().position(|j| *j == i) {
            Some(p) => format!(
                "{{ entity_type = \"Key\", id = \"k_{}\", action = \"Set\", params = {{ part = \"{}\" }} }}",
                PLANTED_PARTS[p], PLANTED_PARTS[p]
            ),
            None if i % 3 == 0 => format!("{{ entity_type = \"Key\", id = \"noise{i}\", action = \"Set\", params = {{ part = \"z\" }} }}"),
            None => format!("{{ entity_type = \"Noise\", id = \"n{i}\", action = \"Poke\" }}"),
        };
        s.push_str(&format!(
            "[[event]]\nat = \"{at}ms\"\ntenant = \"t\"\ndispatch = {body}\n"
        ));
    }
    s
}
