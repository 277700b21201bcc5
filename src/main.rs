#![deny(unsafe_code)]

fn main() -> std::process::ExitCode {
    ripple::cli_main()
}
