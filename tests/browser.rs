//! The HTML pages in a real browser: headless Chromium, driven over the DevTools protocol by
//! the `headless_chrome` crate. Each test writes one kind of page with the `ripple` binary
//! (the race's failing run report, a diff of two seeds, a sweep overview, a page of hostile
//! strings, a 100,000-step run), loads it, and checks that no script error, exception or
//! console error happened, that the failing step is highlighted, and that clicking a step
//! shows its detail; each saves a screenshot under `target/tmp/browser/`.
//!
//! Without Chromium on PATH (`chromium` or `chromium-browser`) these tests say so and check
//! nothing; every other test runs as usual. `.ci/test` installs Chromium first, so CI runs
//! them. The browser listens on 127.0.0.1 on a free port and is stopped by its pid.
//!
//! Not checked here: how the page looks (the screenshots are for people), and the numbers
//! it shows (the unit tests of `report/` pin those).

use headless_chrome::browser::tab::{point::Point, Tab};
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::types::Bounds;
use headless_chrome::{Browser, LaunchOptions};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One browser at a time: the tests share two cores with everything else.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where pages and screenshots go: `target/tmp/browser/<test>`.
fn out_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("an output directory");
    dir
}

/// Chromium on PATH, if any.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs `ripple` in the repository; returns its exit status and stderr.
fn ripple(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("ripple runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

/// A headless Chromium, stopped by its pid when dropped.
struct Chromium {
    browser: Option<Browser>,
    pid: u32,
    /// Script errors, exceptions and console errors seen on any page, as text.
    errors: Arc<Mutex<Vec<String>>>,
}

impl Chromium {
    /// `None` (after saying why) when there is no Chromium to run.
    fn start() -> Option<Chromium> {
        let Some(path) = chromium() else {
            eprintln!(
                "skipping the browser tests: no `chromium` or `chromium-browser` on PATH \
                 (`.ci/test` installs it; on Debian: apt-get install chromium)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port on 127.0.0.1")
            .port();
        let options = LaunchOptions::default_builder()
            .path(Some(path))
            .headless(true)
            // Root in a container: Chromium's sandbox needs user namespaces it may not have.
            .sandbox(false)
            .port(Some(port))
            .window_size(Some((1400, 1000)))
            .idle_browser_timeout(Duration::from_secs(300))
            .args(vec![
                OsStr::new("--remote-debugging-address=127.0.0.1"),
                OsStr::new("--disable-gpu"),
            ])
            .build()
            .expect("launch options");
        let browser = Browser::new(options).expect("Chromium starts");
        let pid = browser.get_process_id().expect("Chromium has a pid");
        Some(Chromium {
            browser: Some(browser),
            pid,
            errors: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Opens `file` in a new tab, listening for errors from before it loads.
    fn open(&self, file: &Path) -> Arc<Tab> {
        let browser = self.browser.as_ref().expect("running");
        let tab = browser.new_tab().expect("a tab");
        tab.set_default_timeout(Duration::from_secs(20));
        // A new tab's window is not the launch size: make it one a person would use.
        tab.set_bounds(Bounds::Normal {
            left: None,
            top: None,
            width: Some(1400.0),
            height: Some(1000.0),
        })
        .expect("the window's size");
        let errors = Arc::clone(&self.errors);
        tab.add_event_listener(Arc::new(move |event: &Event| {
            let text = match event {
                Event::RuntimeExceptionThrown(e) => {
                    let d = &e.params.exception_details;
                    Some(format!(
                        "exception: {} {}",
                        d.text,
                        d.exception
                            .as_ref()
                            .and_then(|x| x.description.clone())
                            .unwrap_or_default()
                    ))
                }
                Event::RuntimeConsoleAPICalled(e) => {
                    let kind = format!("{:?}", e.params.Type);
                    (kind == "Error" || kind == "Assert").then(|| {
                        let args: Vec<String> = e
                            .params
                            .args
                            .iter()
                            .map(|a| {
                                a.value
                                    .as_ref()
                                    .map(Value::to_string)
                                    .or_else(|| a.description.clone())
                                    .unwrap_or_default()
                            })
                            .collect();
                        format!("console.{kind}: {}", args.join(" "))
                    })
                }
                Event::LogEntryAdded(e) => {
                    let level = format!("{:?}", e.params.entry.level);
                    (level == "Error").then(|| format!("log error: {}", e.params.entry.text))
                }
                _ => None,
            };
            if let Some(text) = text {
                errors.lock().unwrap_or_else(|e| e.into_inner()).push(text);
            }
        }))
        .expect("a listener");
        tab.enable_runtime().expect("Runtime.enable");
        tab.enable_log().expect("Log.enable");
        let url = format!(
            "file://{}",
            file.canonicalize().expect("the page exists").display()
        );
        tab.navigate_to(&url)
            .and_then(|t| t.wait_until_navigated())
            .expect("the page loads");
        // The page's script has run: an error there is the first thing to report.
        self.assert_no_errors(&url);
        tab
    }

    fn assert_no_errors(&self, page: &str) {
        let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        assert!(errors.is_empty(), "{page}: script errors: {errors:#?}");
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Ask it to quit (its helpers go with it), wait for it within a bound, then let the
        // crate's handle kill and reap it if it is still there.
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        for _ in 0..50 {
            let state = std::fs::read_to_string(format!("/proc/{}/stat", self.pid));
            match state {
                Err(_) => break,
                // A zombie: gone, waiting to be reaped.
                Ok(s) if s.split_whitespace().nth(2) == Some("Z") => break,
                Ok(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        drop(self.browser.take());
    }
}

/// The value of a JavaScript expression, through JSON.
fn js(tab: &Tab, expression: &str) -> Value {
    let wrapped = format!("JSON.stringify((function () {{ return ({expression}); }})())");
    let result = tab.evaluate(&wrapped, false).expect("the expression runs");
    match result.value {
        Some(Value::String(s)) => serde_json::from_str(&s).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn js_str(tab: &Tab, expression: &str) -> String {
    match js(tab, expression) {
        Value::String(s) => s,
        other => panic!("{expression} gave {other}"),
    }
}

/// A real mouse click (pressed and released, through the browser's input pipeline) at the
/// middle of the element `selector` finds, once it is scrolled into view. By coordinates, not
/// by node: the timeline redraws what is in view as it scrolls, so a node found before may be
/// gone by the time it would be clicked.
fn click(tab: &Tab, selector: &str, what: &str) {
    let selector_json = serde_json::to_string(selector).expect("a string");
    let at = js(
        tab,
        &format!(
            "(function () {{ var e = document.querySelector({selector_json}); if (!e) {{ return null; }} \
             e.scrollIntoView({{ block: 'center', inline: 'center', behavior: 'instant' }}); \
             var r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
        ),
    );
    let [x, y] = serde_json::from_value::<[f64; 2]>(at.clone())
        .unwrap_or_else(|_| panic!("{what}: nothing matches {selector} ({at})"));
    tab.click_point(Point { x, y })
        .unwrap_or_else(|e| panic!("{what}: a click on {selector} at ({x}, {y}): {e}"));
}

fn screenshot(tab: &Tab, file: &Path) {
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("a screenshot");
    std::fs::write(file, png).expect("the screenshot is written");
    eprintln!("screenshot: {}", file.display());
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The race's failing seed: the violated step is ringed in the timeline and shown in the
/// detail view; a click on another step shows that step, and its cause link leads on.
#[test]
fn the_race_report_highlights_the_failing_step_and_shows_a_clicked_step() {
    let _one = lock();
    let Some(chromium) = Chromium::start() else {
        return;
    };
    let dir = out_dir("race");
    let report = dir.to_str().expect("a UTF-8 path");
    let (code, stderr) = ripple(&[
        "run",
        "scenarios/race.toml",
        "--seed",
        "0",
        "--report",
        report,
    ]);
    assert_eq!(code, 1, "seed 0 of the race fails: {stderr}");
    let tab = chromium.open(&dir.join("race-seed0.html"));
    tab.wait_for_element("#timeline-svg .mark.failing")
        .expect("the failing step is drawn");

    let violation_step = js_str(
        &tab,
        "document.querySelector('.violation').getAttribute('data-step')",
    );
    let failing: Vec<String> = serde_json::from_value(js(
        &tab,
        "Array.from(document.querySelectorAll('#timeline-svg .mark.failing')).map(m => m.getAttribute('data-step'))",
    ))
    .expect("a list");
    assert_eq!(
        failing,
        std::slice::from_ref(&violation_step),
        "exactly the violated step is ringed"
    );
    assert_eq!(
        js_str(&tab, "document.getElementById('verdict').textContent"),
        "FAIL"
    );
    let title = js_str(&tab, "document.getElementById('detail-title').textContent");
    assert!(
        title.starts_with(&format!("step {violation_step} ")),
        "{title}"
    );
    let violated = js_str(
        &tab,
        "document.querySelector('#detail .violated').textContent",
    );
    assert!(
        violated.contains("no_authorized_voided_payment"),
        "{violated}"
    );
    // The world at the violation: the voided payment is authorized.
    let world = js_str(
        &tab,
        "document.querySelector('.violation table.world').textContent",
    );
    assert!(
        world.contains("Payment/o1") && world.contains("\"voided\":true"),
        "{world}"
    );

    // Click another step: the late authorization's dispatch, on the payment's lane.
    let late = js(
        &tab,
        "(function () { var d = JSON.parse(document.getElementById('ripple-data').textContent); \
         var s = d.strings, found = -1; d.records.forEach(function (r, i) { var sh = d.shapes[r[0]]; \
         if (sh[0] !== 'dispatch') { return; } var o = {}; sh[1].forEach(function (k, j) { var v = r[j + 1]; o[k] = (typeof v === 'number' && v < 0) ? s[-v - 1] : v; }); \
         if (o.id === 'o1' && o.action === 'AuthorizePayment') { found = i; } }); return found; })()",
    );
    let late = late.as_u64().expect("the late dispatch is in the data");
    click(
        &tab,
        &format!("#timeline-svg .mark[data-step='{late}'] .glyph"),
        "the late dispatch",
    );
    let title = js_str(&tab, "document.getElementById('detail-title').textContent");
    assert_eq!(title, format!("step {late} \u{b7} dispatch"));
    let record = js_str(&tab, "document.getElementById('detail-record').textContent");
    assert!(record.contains("AuthorizePayment"), "{record}");
    let produced = js_str(
        &tab,
        "Array.from(document.querySelectorAll('#detail pre')).map(p => p.textContent).join('\\n')",
    );
    assert!(
        produced.contains("order_confirmed_authorizes_payment"),
        "the rule is shown: {produced}"
    );
    // Its cause is o1's confirmation, whose rule sent it (the trace records it): follow the
    // link.
    let cause_step = js_str(
        &tab,
        "document.querySelector('#detail button.link').getAttribute('data-step')",
    );
    click(&tab, "#detail button.link", "the cause link");
    let title = js_str(&tab, "document.getElementById('detail-title').textContent");
    assert_eq!(title, format!("step {cause_step} \u{b7} transition"));
    let record = js_str(&tab, "document.getElementById('detail-record').textContent");
    assert!(record.contains("ConfirmOrder"), "{record}");

    // Zoom to the whole run and back: still drawn, still no error.
    click(&tab, "#zoom-fit", "fit");
    click(&tab, "#zoom-in", "zoom in");
    assert!(
        js(
            &tab,
            "document.querySelectorAll('#timeline-svg .mark').length"
        )
        .as_u64()
            > Some(10)
    );
    click(
        &tab,
        &format!("#timeline-svg .mark[data-step='{violation_step}'] .glyph"),
        "the failing step again",
    );
    chromium.assert_no_errors("race report");
    screenshot(&tab, &dir.join("race-report.png"));
}

/// A diff of two seeds: the row where they part is highlighted and shown; a click on
/// another row shows that one.
#[test]
fn the_diff_page_highlights_where_the_runs_part_and_shows_a_clicked_row() {
    let _one = lock();
    let Some(chromium) = Chromium::start() else {
        return;
    };
    let dir = out_dir("diff");
    let report = dir.to_str().expect("a UTF-8 path");
    let (code, stderr) = ripple(&[
        "diff",
        "scenarios/race.toml",
        "--seed",
        "0",
        "--seed",
        "1",
        "--report",
        report,
    ]);
    assert_eq!(code, 1, "seeds 0 and 1 differ: {stderr}");
    let tab = chromium.open(&dir.join("race-diff-seed0-seed1.html"));
    tab.wait_for_element("tr.parting").expect("the parting row");
    let parting = js_str(
        &tab,
        "document.querySelector('tr.parting td.n').textContent",
    );
    let title = js_str(&tab, "document.getElementById('detail-title').textContent");
    assert_eq!(title, format!("step {parting}: the sides differ"));
    click(
        &tab,
        "tr.side:nth-of-type(12) td.b",
        "a click on a later row",
    );
    let selected = js_str(
        &tab,
        "document.querySelector('tr.selected td.n').textContent",
    );
    assert_ne!(selected, parting);
    let title = js_str(&tab, "document.getElementById('detail-title').textContent");
    assert!(title.starts_with(&format!("step {selected}:")), "{title}");
    let shown = js_str(&tab, "document.getElementById('detail').textContent");
    assert!(shown.contains("\"kind\""), "both records as JSON: {shown}");
    chromium.assert_no_errors("diff page");
    screenshot(&tab, &dir.join("diff.png"));
}

/// A sweep overview: counts, the failure group selected with its seeds, and a link to the
/// run report of its first seed that opens with its failing step highlighted.
#[test]
fn the_sweep_page_lists_failure_groups_and_links_their_run_reports() {
    let _one = lock();
    let Some(chromium) = Chromium::start() else {
        return;
    };
    let dir = out_dir("sweep");
    let report = dir.to_str().expect("a UTF-8 path");
    let (code, stderr) = ripple(&[
        "sweep",
        "scenarios/race.toml",
        "--seeds",
        "0..40",
        "--report",
        report,
        "--jobs",
        "1",
    ]);
    assert_eq!(code, 1, "some race seeds fail: {stderr}");
    let tab = chromium.open(&dir.join("race-sweep.html"));
    tab.wait_for_element("tr.group.selected")
        .expect("a failure group, selected");
    let failed: u64 = js_str(
        &tab,
        "document.querySelector('#count-failed b').textContent",
    )
    .parse()
    .expect("a count");
    assert!(failed > 0);
    click(&tab, "tr.group td:first-child", "a click on the group");
    let seeds = js_str(&tab, "document.getElementById('group-seeds').textContent");
    assert_eq!(seeds.split_whitespace().count() as u64, failed, "{seeds}");
    let title = js_str(&tab, "document.getElementById('group-title').textContent");
    assert!(title.starts_with("no_authorized_voided_payment"), "{title}");
    assert!(js(&tab, "document.querySelectorAll('#hist-steps rect').length").as_u64() > Some(0));
    chromium.assert_no_errors("sweep page");
    screenshot(&tab, &dir.join("sweep.png"));

    let href = js_str(
        &tab,
        "document.querySelector('a.run-report').getAttribute('href')",
    );
    let run = chromium.open(&dir.join(&href));
    run.wait_for_element("#timeline-svg .mark.failing")
        .expect("the linked run report shows its failing step");
    chromium.assert_no_errors("the linked run report");
}

/// Strings from the run that look like markup stay text: no element, no handler, no script
/// from them runs, and they are shown as written.
#[test]
fn hostile_strings_in_a_run_are_shown_as_text_and_never_run() {
    let _one = lock();
    let Some(chromium) = Chromium::start() else {
        return;
    };
    let dir = out_dir("hostile");
    let scenario = dir.join("hostile.toml");
    std::fs::write(
        &scenario,
        r#"[scenario]
name = "hostile"
description = "</script><script>window.pwned = 1</script>"

[[tenant]]
id = "t"

[[entity]]
type = "Box"
states = ["Closed", "Open"]
initial = "Closed"
[[entity.action]]
name = "Open"
to = "Open"

[[invariant]]
name = "never_open"
never = "Box[id].status == 'Open'"

[[event]]
at = "1ms"
tenant = "t"
dispatch = { entity_type = "Box", id = "<img src=x onerror=\"window.pwned=1\">", action = "Open", params = { note = "</script><svg onload=\"window.pwned=2\"></svg>" } }
"#,
    )
    .expect("the scenario is written");
    let report = dir.to_str().expect("a UTF-8 path");
    let (code, stderr) = ripple(&["run", scenario.to_str().unwrap(), "--report", report]);
    assert_eq!(code, 1, "the box opens: {stderr}");
    let tab = chromium.open(&dir.join("hostile-seed0.html"));
    tab.wait_for_element("#timeline-svg .mark.failing")
        .expect("drawn");
    // Click every mark, so every string goes through the detail view too.
    let steps = js(&tab, "window.rippleReport.steps")
        .as_u64()
        .expect("steps");
    for step in 0..steps {
        js(&tab, &format!("window.rippleReport.select({step})"));
    }
    assert_eq!(
        js(&tab, "typeof window.pwned"),
        Value::String("undefined".into())
    );
    assert_eq!(
        js(
            &tab,
            "document.querySelectorAll('img, body svg[onload], body script:not([type])').length"
        ),
        Value::from(1),
        "only the page's own script"
    );
    let world = js_str(&tab, "document.getElementById('final-world').textContent");
    assert!(
        world.contains("<img src=x onerror=\"window.pwned=1\">"),
        "{world}"
    );
    let description = js_str(&tab, "document.querySelector('.description').textContent");
    assert_eq!(description, "</script><script>window.pwned = 1</script>");
    chromium.assert_no_errors("hostile page");
    screenshot(&tab, &dir.join("hostile.png"));
}

/// A 100,000-step run: the page loads, draws only what is in view (a bounded number of
/// marks, zoomed in or fitted whole), and a click still shows a step.
#[test]
fn a_hundred_thousand_step_report_stays_usable() {
    let _one = lock();
    let Some(chromium) = Chromium::start() else {
        return;
    };
    let dir = out_dir("large");
    let scenario = dir.join("large.toml");
    std::fs::write(
        &scenario,
        r#"[scenario]
name = "large"
description = "Link-down traps from a generator, each opening an incident: about 100,000 steps"
until = "10h"

[[tenant]]
id = "netops"

[[entity]]
type = "Incident"
states = ["New", "Open"]
initial = "New"
[[entity.action]]
name = "Open"
to = "Open"
effect = ["increment signals"]

[[reflex]]
id = "incident_on_trap"
tenant = "netops"
pattern = "sensory.link_down.snmp_trap.*"
severity = "high"
then = { entity_type = "Incident", action = "Open", id = "{token.3}", params = { source = "{token.2}" } }

[[generator]]
tenant = "netops"
count = 14300
every = "1s"
jitter = "500ms"
subject = "sensory.link_down.snmp_trap.{device}"
payload = { device = "{device}", seq = "{n}" }
[generator.values]
device = ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"]
"#,
    )
    .expect("the scenario is written");
    let report = dir.to_str().expect("a UTF-8 path");
    let (code, stderr) = ripple(&[
        "run",
        scenario.to_str().unwrap(),
        "--seed",
        "1",
        "--report",
        report,
    ]);
    assert_eq!(code, 0, "{stderr}");
    eprint!("{stderr}");
    let tab = chromium.open(&dir.join("large-seed1.html"));
    tab.wait_for_element("#timeline-svg .mark").expect("drawn");
    let steps = js(&tab, "window.rippleReport.steps")
        .as_u64()
        .expect("steps");
    assert!(steps >= 100_000, "{steps} steps");
    let marks = || {
        js(
            &tab,
            "document.querySelectorAll('#timeline-svg .mark').length",
        )
        .as_u64()
        .unwrap_or(0)
    };
    let at_start = marks();
    assert!(
        at_start > 0 && at_start < 5_000,
        "{at_start} marks drawn at zoom 1"
    );
    click(&tab, "#zoom-fit", "fit");
    let fitted = marks();
    assert!(
        fitted > 0 && fitted < 20_000,
        "{fitted} marks drawn with the whole run in view"
    );
    click(&tab, "#timeline-svg .mark .glyph", "a click on a mark");
    let title = js_str(&tab, "document.getElementById('detail-title').textContent");
    assert!(title.starts_with("step "), "{title}");
    chromium.assert_no_errors("100,000-step page");
    screenshot(&tab, &dir.join("large.png"));
}
