//! Sizes in bytes, written and read as people do (`512MiB`): the memory budgets.

/// A size in bytes as people write it: `512MiB`, `2GiB`, `64KiB`, `1000000` (bytes); the
/// units are binary (KiB, MiB, GiB, TiB) and a space may come before them.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!("{text:?} is not a size: write a whole number and a unit, e.g. 512MiB or 2GiB")
    })?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use B, KiB, MiB, GiB or TiB (e.g. 512MiB)"
            ))
        }
    };
    n.checked_mul(1 << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("{text:?}: a size must be more than 0 and fit in 64 bits"))
}

/// `bytes` as people read it: `512 MiB`, `1.5 GiB`, `300 KiB`, `12 B`.
pub fn show_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, size) in UNITS {
        if bytes >= size {
            let whole = bytes / size;
            let tenths = (bytes % size) * 10 / size;
            return if tenths == 0 {
                format!("{whole} {unit}")
            } else {
                format!("{whole}.{tenths} {unit}")
            };
        }
    }
    format!("{bytes} B")
}

/// `bytes` as [`parse_size`] reads it back exactly: the largest binary unit that divides it
/// (`512MiB`, `1536KiB`, `1000`).
pub fn write_size(bytes: u64) -> String {
    for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_show() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0MiB").unwrap_err().contains("more than 0"));
        assert!(parse_size("5MB").unwrap_err().contains("unknown unit"));
        assert!(parse_size("MiB").unwrap_err().contains("not a size"));
        assert!(parse_size("99999999999TiB").is_err());
        assert_eq!(show_size(512 << 20), "512 MiB");
        assert_eq!(show_size(3 << 29), "1.5 GiB");
        assert_eq!(show_size(12), "12 B");
        for bytes in [1, 1000, 1024, 1536 << 10, 512 << 20, 3 << 30, (1 << 40) + 1] {
            assert_eq!(
                parse_size(&write_size(bytes)),
                Ok(bytes),
                "{}",
                write_size(bytes)
            );
        }
        assert_eq!(write_size(512 << 20), "512MiB");
    }
}
