//! Resident memory of this process, from `/proc/self/status` (Linux). Everywhere else the
//! answers are `None`: a benchmark figure that cannot be measured is reported as missing,
//! never guessed.

/// The peak resident set size (`VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|kib| kib * 1024)
}

/// The current resident set size (`VmRSS`), in bytes.
pub fn current_rss_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|kib| kib * 1024)
}

/// Resets the peak (`VmHWM`) to the current RSS, so that a later [`peak_rss_bytes`]
/// measures only what came after. Linux 4.0+ (`echo 5 > /proc/self/clear_refs`); returns
/// whether it worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kib(&status, key)
}

/// `VmHWM:     12345 kB` -> 12345.
fn parse_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    let mut words = line[key.len()..].split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kib_lines_of_proc_status() {
        let status = "Name:\tripple\nVmPeak:\t  200 kB\nVmHWM:\t    1234 kB\nVmRSS:\t  1000 kB\n";
        assert_eq!(parse_kib(status, "VmHWM:"), Some(1234));
        assert_eq!(parse_kib(status, "VmRSS:"), Some(1000));
        assert_eq!(parse_kib(status, "VmSwap:"), None);
        assert_eq!(parse_kib("VmHWM: lots", "VmHWM:"), None);
    }

    #[test]
    fn peak_is_at_least_current_on_linux() {
        // One read: other tests allocate on other threads between two reads.
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            let peak = parse_kib(&status, "VmHWM:").unwrap();
            let now = parse_kib(&status, "VmRSS:").unwrap();
            assert!(peak >= now && now > 0, "{peak} < {now}");
        }
    }
}
