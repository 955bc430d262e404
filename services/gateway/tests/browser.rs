//! End to end in a real headless Chromium, driven over WebDriver: draw digits
//! with pointer strokes (a mouse on a 1280x800 desktop, a finger on an
//! emulated 390x844 phone) on the real web app, served by the gateway in
//! front of the real inference and logging services, and check what the
//! page shows against the API and the database. Every view is checked with
//! axe-core for WCAG 2.1 AA. Screenshots go to `target/e2e-screenshots/`.
//!
//! Needs the built web app (`cargo xtask web`, which `cargo xtask test` runs
//! first), `chromium` + `chromedriver` on PATH, and axe-core's `axe.min.js`
//! (`DIGITS_AXE_JS`; `cargo xtask test` installs it).

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use digits_gateway::config::Config;
use digits_test_support::TempDir;
use digits_test_support::photo::{self, Page};
use digits_test_support::process::ChildGuard;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction, TouchActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::Stack;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `chromedriver` on a free port, stopped on drop.
/// (Fields drop in order: the driver is killed before its profile goes.)
struct Driver {
    _child: ChildGuard,
    port: u16,
    profile: TempDir,
}

impl Driver {
    fn start() -> Self {
        let port = digits_test_support::free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver on PATH (apt-get install chromium chromium-driver; cargo xtask test does it)");
        let profile = TempDir::new("e2e-profile");
        Self { _child: ChildGuard(child), port, profile }
    }

    /// A desktop browser session, 1280x800.
    async fn desktop(&self) -> Client {
        self.session(json!({ "args": self.args("1280,800") })).await
    }

    /// A phone: a 390x844 touch screen.
    async fn phone(&self) -> Client {
        self.session(json!({
            "args": self.args("390,844"),
            "mobileEmulation": {
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0, "touch": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
                              Chrome/120.0 Mobile Safari/537.36",
            },
        }))
        .await
    }

    fn args(&self, window: &str) -> Vec<String> {
        [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .map(str::to_owned)
        .into_iter()
        .chain([format!("--user-data-dir={}", self.profile.path().display()), format!("--window-size={window}")])
        .collect()
    }

    /// A browser session; the driver refuses connections for a moment after start.
    async fn session(&self, chrome_options: Value) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), chrome_options);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await
            {
                Ok(client) => return client,
                Err(e) if Instant::now() > deadline => panic!("no WebDriver session: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

/// A stroke in unit coordinates: x and y in [-1, 1] across the pad, y down.
type Stroke = Vec<(f64, f64)>;

fn arc(cx: f64, cy: f64, rx: f64, ry: f64, from_deg: f64, to_deg: f64, steps: usize) -> Stroke {
    (0..=steps)
        .map(|i| {
            let t = (from_deg + (to_deg - from_deg) * i as f64 / steps as f64).to_radians();
            (cx + rx * t.cos(), cy + ry * t.sin())
        })
        .collect()
}

fn line(points: &[(f64, f64)], steps_per_segment: usize) -> Stroke {
    let mut stroke = vec![points[0]];
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        for i in 1..=steps_per_segment {
            let t = i as f64 / steps_per_segment as f64;
            stroke.push((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t));
        }
    }
    stroke
}

/// How a person might draw each digit.
fn strokes_of(digit: u8) -> Vec<Stroke> {
    match digit {
        4 => vec![line(&[(-0.22, -0.72), (-0.52, 0.18), (0.46, 0.18)], 12), line(&[(0.18, -0.5), (0.18, 0.76)], 12)],
        0 => vec![arc(0.0, 0.0, 0.42, 0.68, -90.0, 275.0, 40)],
        1 => vec![line(&[(0.06, -0.72), (-0.04, 0.72)], 16)],
        3 => {
            let mut top = arc(0.0, -0.36, 0.42, 0.34, -160.0, 90.0, 24);
            top.extend(arc(0.0, 0.34, 0.48, 0.36, -90.0, 150.0, 24));
            vec![top]
        }
        7 => vec![line(&[(-0.48, -0.66), (0.5, -0.66), (-0.08, 0.74)], 14)],
        other => panic!("no strokes for {other}"),
    }
}

/// "42", written small with a gap: a 4 in two strokes on the left, a 2 on the right.
fn forty_two() -> Vec<Stroke> {
    let mut two = arc(0.48, -0.28, 0.26, 0.26, 200.0, 380.0, 16);
    two.extend(line(&[(0.72, -0.2), (0.2, 0.55), (0.8, 0.55)], 12));
    vec![line(&[(-0.62, -0.6), (-0.78, 0.1), (-0.22, 0.1)], 12), line(&[(-0.38, -0.45), (-0.38, 0.6)], 12), two]
}

/// A smiley: a face, two eyes and a smile.
fn smiley() -> Vec<Stroke> {
    vec![
        arc(0.0, 0.0, 0.72, 0.72, -90.0, 272.0, 48),
        line(&[(-0.26, -0.3), (-0.26, -0.14)], 4),
        line(&[(0.26, -0.3), (0.26, -0.14)], 4),
        arc(0.0, 0.08, 0.4, 0.32, 20.0, 160.0, 16),
    ]
}

/// Draws with the mouse: the pad's centre is the origin, `scale` pixels per unit.
async fn draw(client: &Client, pad: &Element, strokes: &[Stroke]) {
    let mouse = pointer_strokes(client, MouseActions::new("mouse".into()), pad, strokes).await;
    client.perform_actions(mouse).await.expect("pointer actions");
}

/// Draws with a finger.
async fn draw_touch(client: &Client, pad: &Element, strokes: &[Stroke]) {
    let finger = pointer_strokes(client, TouchActions::new("finger".into()), pad, strokes).await;
    client.perform_actions(finger).await.expect("touch actions");
}

/// The strokes as pointer actions on `pad`, scrolled into view first as a
/// person would.
async fn pointer_strokes<S: InputSource<Action = PointerAction>>(
    client: &Client,
    mut mouse: S,
    pad: &Element,
    strokes: &[Stroke],
) -> S {
    let pad_ref = serde_json::to_value(pad).expect("element reference");
    client.execute("arguments[0].scrollIntoView({ block: 'center' });", vec![pad_ref]).await.expect("scrolled");
    let (_, _, width, _) = pad.rectangle().await.expect("pad size");
    let scale = width / 2.0;
    for stroke in strokes {
        let to = |(x, y): (f64, f64)| PointerAction::MoveToElement {
            element: pad.clone(),
            duration: Some(Duration::from_millis(8)),
            x: (x * scale).round(),
            y: (y * scale).round(),
        };
        mouse = mouse.then(to(stroke[0])).then(PointerAction::Down { button: MOUSE_BUTTON_LEFT });
        for &point in &stroke[1..] {
            mouse = mouse.then(to(point));
        }
        mouse = mouse.then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    }
    mouse
}

async fn wait_until<F, Fut, T>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn attr(client: &Client, css: &str, name: &str) -> Option<String> {
    client.find(Locator::Css(css)).await.ok()?.attr(name).await.ok()?
}

async fn text(client: &Client, css: &str) -> Option<String> {
    client.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

/// The 28x28 preview as the page painted it, read back from its canvas
/// (ink high, as hex): what the user sees, not a copy kept for tests.
async fn preview_pixels(client: &Client) -> Option<String> {
    const READ_CANVAS: &str = "const canvas = document.getElementById('preview'); \
        if (!canvas) return null; \
        const rgba = canvas.getContext('2d').getImageData(0, 0, 28, 28).data; \
        let hex = ''; \
        for (let i = 0; i < rgba.length; i += 4) hex += (255 - rgba[i]).toString(16).padStart(2, '0'); \
        return hex;";
    client.execute(READ_CANVAS, vec![]).await.ok()?.as_str().map(str::to_owned)
}

/// The input the server stored for prediction `id`, fetched by the page
/// itself through the public API (with the visitor's cookie), as hex.
async fn stored_input(client: &Client, id: &str) -> Option<String> {
    const FETCH_INPUT: &str = "const [id, done] = arguments; \
        fetch('/api/predictions/' + encodeURIComponent(id)) \
            .then(r => (r.ok ? r.json() : null)) \
            .then(j => done(j && j.input.map(v => v.toString(16).padStart(2, '0')).join('')), () => done(null));";
    client.execute_async(FETCH_INPUT, vec![json!(id)]).await.ok()?.as_str().map(str::to_owned)
}

/// Waits for the logged answer of the drawing; returns (id, digit, preview, server input).
async fn logged_answer(client: &Client) -> (String, u8, String, String) {
    wait_until("a logged prediction with the server's input", || async {
        let id = attr(client, "#prediction-digit", "data-id").await?;
        let digit = text(client, "#prediction-digit").await?.trim().parse().ok()?;
        let preview = preview_pixels(client).await?;
        let server = stored_input(client, &id).await?;
        Some((id, digit, preview, server))
    })
    .await
}

async fn screenshot(client: &Client, name: &str) {
    let dir = workspace().join("target/e2e-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
}

async fn saved(client: &Client) -> String {
    wait_until("the feedback confirmation", || async {
        text(client, "#feedback-status").await.filter(|t| t.starts_with("Saved"))
    })
    .await
}

/// Presses `key` where the focus is, as a person would.
async fn press(client: &Client, key: &str) {
    client.active_element().await.expect("a focused element").send_keys(key).await.expect("key sent");
}

/// The answer panel's state and the revision it shows.
async fn answer_state(client: &Client) -> Option<(String, String)> {
    Some((attr(client, "#answer", "data-state").await?, attr(client, "#answer", "data-revision").await?))
}

/// Waits until the drawing as it is now (a revision other than `after`) is
/// stored; returns its record id, its revision and the digit read.
async fn stored_after(client: &Client, after: &str) -> (String, String, Option<u8>) {
    wait_until("the drawing stored", || async {
        let (state, revision) = answer_state(client).await?;
        if state != "stored" || revision == after {
            return None;
        }
        let mut id = None;
        for answer in ["#prediction-digit", "#prediction-number", "#prediction-verdict"] {
            id = id.or(attr(client, answer, "data-id").await);
        }
        let id = id?;
        let digit = text(client, "#prediction-digit").await.and_then(|t| t.trim().parse().ok());
        Some((id, revision, digit))
    })
    .await
}

/// The rows the database holds for prediction `id`, and its revision.
fn rows_of(stack: &Stack, id: &str) -> String {
    let sql = format!("SELECT count(*), coalesce(max(revision), -1) FROM predictions WHERE request_id = '{id}'");
    stack.db.psql(&sql).expect("psql").trim().to_owned()
}

/// axe-core's script: `DIGITS_AXE_JS`, or where `cargo xtask test` installs it.
fn axe_script() -> String {
    let path = std::env::var_os("DIGITS_AXE_JS").map(PathBuf::from).unwrap_or_else(|| {
        let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
        home.join(".cache/digits/axe-core-4.14.1/node_modules/axe-core/axe.min.js")
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core at {}: {e} (cargo xtask test installs it; or set DIGITS_AXE_JS)", path.display())
    })
}

/// Checks the page as it is now against WCAG 2.1 A and AA with axe-core:
/// no serious or critical violation. Prints every violation found.
async fn accessibility(client: &Client, view: &str) -> usize {
    const RUN: &str = "const done = arguments[arguments.length - 1]; \
        axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }) \
            .then(r => done({ passes: r.passes.length, violations: r.violations.map(v => \
                ({ id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')) })) }), \
                  e => done({ error: String(e) }));";
    client.execute(&axe_script(), vec![]).await.expect("axe-core loads");
    let result = client.execute_async(RUN, vec![]).await.expect("axe-core runs");
    assert!(result.get("error").is_none(), "axe-core failed on {view}: {result}");
    let violations = result["violations"].as_array().cloned().unwrap_or_default();
    println!("axe-core on {view}: {} rules passed, {} violations {violations:?}", result["passes"], violations.len());
    let serious: Vec<&Value> =
        violations.iter().filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical"))).collect();
    assert!(serious.is_empty(), "serious or critical accessibility violations on {view}: {serious:#?}");
    violations.len()
}

/// The app's page in a fresh stack.
async fn app_stack() -> Stack {
    let web_dir = std::env::var_os("DIGITS_WEB_DIR").map_or_else(|| workspace().join("web-ui/dist"), PathBuf::from);
    assert!(
        web_dir.join("index.html").is_file() && web_dir.join("digits-web-ui_bg.wasm").is_file(),
        "the web app is not built in {}: run `cargo xtask web` (cargo xtask test does)",
        web_dir.display()
    );
    Stack::with_config(Config { web_dir, ..Config::default() }).await
}

/// Nothing is wider than the window, and no card is wider than itself.
async fn overflow(client: &Client) -> Value {
    const MEASURE: &str = "const page = document.documentElement.scrollWidth - document.documentElement.clientWidth; \
        const cards = [...document.querySelectorAll('.card')] \
            .filter(c => c.scrollWidth > c.clientWidth + 1) \
            .map(c => (c.id || c.className) + ': ' + (c.scrollWidth - c.clientWidth) + 'px'); \
        return { page, cards };";
    client.execute(MEASURE, vec![]).await.expect("measured")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drawn_digits_are_recognised_and_feedback_reaches_history_stats_and_the_database() {
    let stack = app_stack().await;
    let driver = Driver::start();
    let client = driver.desktop().await;
    client.goto(&stack.url("/")).await.expect("page loads");
    let pad = client.wait().for_element(Locator::Css("#pad")).await.expect("the drawing pad");
    let mut axe_views = vec![("desktop, empty", accessibility(&client, "desktop, empty").await)];

    let mut expected_rows = Vec::new();
    for digit in [0u8, 1, 3, 7] {
        draw(&client, &pad, &strokes_of(digit)).await;
        // Before the pen has rested, the answer is a draft: nothing to confirm yet.
        let (state, _) = answer_state(&client).await.expect("the answer panel");
        assert!(state == "draft" || state == "pending", "{state}");
        let correct = client.find(Locator::Css("#correct")).await.expect("correct");
        assert!(!correct.is_enabled().await.expect("enabled?"), "Correct waits for the stored answer");
        let announced = client.execute("return document.getElementById('announce').textContent;", vec![]).await;
        assert_eq!(announced.expect("script"), "", "drafts are not announced");
        let (id, predicted, preview, server) = logged_answer(&client).await;
        let announced = client.execute("return document.getElementById('announce').textContent;", vec![]).await;
        let announced = announced.expect("script");
        assert!(announced.as_str().is_some_and(|a| a.starts_with(&format!("Read as {predicted},"))), "{announced}");
        assert_eq!(answer_state(&client).await.map(|s| s.0).as_deref(), Some("stored"));
        screenshot(&client, &format!("digit-{digit}")).await;
        assert_eq!(predicted, digit, "a drawn {digit} was read as {predicted}");
        assert_eq!(preview, server, "the browser's 28x28 preview equals the server's input");
        assert!(text(&client, "#preview-match").await.is_some_and(|t| t.contains("same")));
        let bars = client.find_all(Locator::Css("ol.bars li")).await.expect("bars");
        assert_eq!(bars.len(), 10);

        match digit {
            // Enter confirms from the keyboard.
            1 => {
                client
                    .find(Locator::Css("body"))
                    .await
                    .expect("body")
                    .send_keys(&Key::Enter.to_string())
                    .await
                    .expect("enter");
                saved(&client).await;
                expected_rows.push((id, digit, Some(digit), preview));
            }
            // A correction: the user says it was a 1; the panel then shows
            // that answer (not "Correct, it is a 7") and lets them change it.
            7 => {
                let field = client.find(Locator::Css("#true-label")).await.expect("label field");
                field.send_keys("1").await.expect("typed");
                client.find(Locator::Css("#submit-label")).await.expect("submit").click().await.expect("click");
                let status = saved(&client).await;
                assert!(status.contains("it was a 1"), "{status}");
                assert_eq!(attr(&client, "#your-answer", "data-answer").await.as_deref(), Some("a 1"));
                assert!(client.find(Locator::Css("#correct")).await.is_err(), "no stale 'Correct, it is a 7'");
                screenshot(&client, "digit-7-corrected").await;
                axe_views.push(("desktop, answered", accessibility(&client, "desktop, answered").await));
                // Changed: it was a 7 after all...
                client.find(Locator::Css("#change-answer")).await.expect("change").click().await.expect("click");
                client.find(Locator::Css("#correct")).await.expect("correct").click().await.expect("click");
                wait_until("the 7 confirmed", || async {
                    attr(&client, "#your-answer", "data-answer").await.filter(|a| a == "a 7")
                })
                .await;
                // ...and back to 1.
                client.find(Locator::Css("#change-answer")).await.expect("change").click().await.expect("click");
                client.find(Locator::Css("#true-label")).await.expect("field").send_keys("1").await.expect("typed");
                client.find(Locator::Css("#submit-label")).await.expect("submit").click().await.expect("click");
                wait_until("the 1 again", || async {
                    attr(&client, "#your-answer", "data-answer").await.filter(|a| a == "a 1")
                })
                .await;
                expected_rows.push((id, digit, Some(1), preview));
            }
            _ => {
                client.find(Locator::Css("#correct")).await.expect("correct").click().await.expect("click");
                saved(&client).await;
                expected_rows.push((id, digit, Some(digit), preview));
            }
        }
        screenshot(&client, &format!("digit-{digit}-saved")).await;
        // Escape clears the pad for the next digit.
        client.find(Locator::Css("body")).await.expect("body").send_keys(&Key::Escape.to_string()).await.expect("esc");
        wait_until("a cleared pad", || async {
            client.find(Locator::Css("#prediction-digit")).await.is_err().then_some(())
        })
        .await;
    }

    // History: the four drawings with their feedback, newest first, dated.
    let history = wait_until("the history rows", || async {
        let rows = client.find_all(Locator::Css("table.history tbody tr")).await.ok()?;
        let mut seen = Vec::new();
        for row in rows {
            let id = row.attr("data-id").await.ok()??;
            let label = row.attr("data-true-label").await.ok()?;
            seen.push((id, label));
        }
        (seen.len() == 4 && seen.iter().all(|(_, l)| l.is_some())).then_some(seen)
    })
    .await;
    let expected: Vec<(String, Option<String>)> =
        expected_rows.iter().rev().map(|(id, _, label, _)| (id.clone(), label.map(|l| l.to_string()))).collect();
    assert_eq!(history, expected);
    let when = text(&client, "table.history tbody tr td.when").await.expect("a time");
    let year = this_year();
    assert!(when.contains(&format!(" {year}, ")) && when.matches(':').count() == 2, "dated: {when}");

    // Stats: three right of four, and the 7-read-as-7-drawn-as-1 cell opens its example, and closes.
    let accuracy =
        wait_until("the accuracy", || async { text(&client, "#accuracy").await.filter(|t| t == "75.0%") }).await;
    assert_eq!(accuracy, "75.0%");
    client.find(Locator::Css("#cell-1-7")).await.expect("the confusion cell").click().await.expect("click");
    let examples = wait_until("the cell's examples", || async {
        let found = client.find_all(Locator::Css("#cell-examples canvas")).await.ok()?;
        (!found.is_empty()).then_some(found.len())
    })
    .await;
    assert_eq!(examples, 1);
    screenshot(&client, "history-and-stats").await;
    axe_views.push(("desktop, confusion cell open", accessibility(&client, "desktop, confusion cell open").await));
    client.find(Locator::Css("#close-examples")).await.expect("close").click().await.expect("click");
    wait_until("the examples closed", || async {
        client.find(Locator::Css("#cell-examples")).await.is_err().then_some(())
    })
    .await;

    // The database holds exactly these rows, with the inputs the page showed.
    // (The browser is the only visitor, so everyone's figures are its own.)
    let api: Value =
        stack.http.get(stack.url("/api/stats/global")).send().await.expect("stats").json().await.expect("json");
    assert_eq!((api["labeled"].as_i64(), api["correct"].as_i64()), (Some(4), Some(3)));
    let rows = stack
        .db
        .psql("SELECT request_id, predicted_digit, true_label, encode(input, 'hex') FROM predictions ORDER BY id")
        .expect("psql");
    let rows: Vec<(String, u8, Option<u8>, String)> = rows
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split('|').collect();
            (cols[0].to_owned(), cols[1].parse().expect("digit"), cols[2].parse().ok(), cols[3].to_owned())
        })
        .collect();
    assert_eq!(rows, expected_rows, "one row per drawing, with the preview's pixels and the feedback");

    // A number: "I read 42", a preview per digit; one digit can be fixed, and "Correct" confirms the number.
    draw(&client, &pad, &forty_two()).await;
    let number_id = wait_until("the number, logged", || async {
        let id = attr(&client, "#prediction-number", "data-id").await?;
        (text(&client, "#prediction-number").await? == "42").then_some(id)
    })
    .await;
    let parts = client.find_all(Locator::Css("ol.parts li")).await.expect("parts");
    assert_eq!(parts.len(), 2, "a preview per digit");
    assert_eq!(parts[0].attr("data-digit").await.expect("attr").as_deref(), Some("4"));
    screenshot(&client, "number-42").await;
    // One digit fixed in place: the 2 was meant as a 3.
    client
        .find(Locator::Css("#part-fix-1"))
        .await
        .expect("the second digit's choice")
        .select_by_value("3")
        .await
        .expect("3");
    let save = client.find(Locator::Css("#save-fixed")).await.expect("save the fixed number");
    assert_eq!(save.text().await.expect("text"), "Save 43");
    save.click().await.expect("click");
    let status = saved(&client).await;
    assert!(status.contains("it was 43"), "{status}");
    let row = stack
        .db
        .psql(&format!("SELECT number, true_label, true_number FROM predictions WHERE request_id = '{number_id}'"))
        .expect("psql");
    assert_eq!(row.trim(), "42|12|43");
    // Then "Correct" after all: the answer is replaced.
    client.find(Locator::Css("#change-answer")).await.expect("change").click().await.expect("click");
    client.find(Locator::Css("#correct")).await.expect("correct").click().await.expect("click");
    let status = wait_until("the number confirmed", || async {
        text(&client, "#feedback-status").await.filter(|t| t.contains("42 was right"))
    })
    .await;
    assert!(status.starts_with("Saved"), "{status}");
    client.find(Locator::Css("body")).await.expect("body").send_keys(&Key::Escape.to_string()).await.expect("esc");

    // A smiley: "That doesn't look like a digit", confirmed as not a digit.
    draw(&client, &pad, &smiley()).await;
    let smiley_id = wait_until("the smiley, logged as not a digit", || async {
        let verdict = attr(&client, "#prediction-verdict", "data-verdict").await?;
        let id = attr(&client, "#prediction-verdict", "data-id").await?;
        (verdict == "not_a_digit").then_some(id)
    })
    .await;
    let said = text(&client, "#prediction-verdict").await.expect("verdict text");
    assert!(said.contains("doesn't look like a digit"), "{said}");
    screenshot(&client, "smiley").await;
    client.find(Locator::Css("#correct")).await.expect("correct").click().await.expect("click");
    let status = saved(&client).await;
    assert!(status.contains("not a digit was right"), "{status}");
    let rows = stack
        .db
        .psql(&format!(
            "SELECT verdict, number, true_label FROM predictions WHERE request_id IN ('{number_id}', '{smiley_id}') \
             ORDER BY id"
        ))
        .expect("psql");
    assert_eq!(rows.lines().collect::<Vec<_>>(), ["several_digits|42|11", "not_a_digit||10"]);
    let api: Value =
        stack.http.get(stack.url("/api/stats/global")).send().await.expect("stats").json().await.expect("json");
    assert_eq!((api["numbers_right"].as_i64(), api["confusion"][10][10].as_i64()), (Some(1), Some(1)));
    client.find(Locator::Css("body")).await.expect("body").send_keys(&Key::Escape.to_string()).await.expect("esc");

    // One drawing, one record: a 4 drawn with a pause after its first
    // stroke (long enough to store it), then undo and redo, is one row.
    let rows_before = stack.rows();
    let four = strokes_of(4);
    draw(&client, &pad, &four[..1]).await;
    let (id, first, _) = stored_after(&client, "").await;
    draw(&client, &pad, &four[1..]).await;
    let (again, second, digit) = stored_after(&client, &first).await;
    assert_eq!((again.as_str(), digit), (id.as_str(), Some(4)), "the second stroke replaced the first reading");
    press(&client, &Key::Backspace.to_string()).await;
    let (again, undone, _) = stored_after(&client, &second).await;
    assert_eq!(again, id, "undo replaced it too");
    client.find(Locator::Css("#redo")).await.expect("redo").click().await.expect("click");
    let (again, _, digit) = stored_after(&client, &undone).await;
    assert_eq!((again.as_str(), digit), (id.as_str(), Some(4)));
    stack.drained().await;
    let stored = rows_of(&stack, &id);
    println!("one drawing with a pause, an undo and a redo: {stored} (rows|revision)");
    assert!(stored.starts_with("1|") && !stored.ends_with("|0"), "one row, at a later revision: {stored}");
    assert_eq!(stack.rows(), rows_before + 1);
    screenshot(&client, "four-after-pause-undo-redo").await;
    // Deleted elsewhere (another tab) while still being drawn: the drawing
    // goes on as a new record, without an error.
    const DELETE: &str = "const [id, done] = [arguments[0], arguments[1]]; \
        fetch('/api/predictions/' + id, { method: 'DELETE' }).then(r => done(r.status), () => done(0));";
    assert_eq!(client.execute_async(DELETE, vec![json!(id)]).await.expect("deleted"), 204);
    let (_, before) = answer_state(&client).await.expect("state");
    draw(&client, &pad, &[line(&[(-0.6, 0.85), (-0.4, 0.85)], 4)]).await;
    let (renewed, _, _) = stored_after(&client, &before).await;
    assert_ne!(renewed, id, "a new record");
    assert!(client.find(Locator::Css("#problem")).await.is_err());
    assert_eq!(rows_of(&stack, &id), "0|-1");

    // Enter on a focused Clear button neither clears the drawing nor
    // records an answer the user never gave: it does nothing.
    client.find(Locator::Css("#clear")).await.expect("clear").click().await.expect("click");
    draw(&client, &pad, &strokes_of(3)).await;
    let (three, revision, digit) = stored_after(&client, "").await;
    assert_eq!(digit, Some(3));
    let focused = client.active_element().await.expect("focus").attr("id").await.expect("id");
    assert_eq!(focused.as_deref(), Some("clear"), "the focus is still on Clear");
    press(&client, &Key::Enter.to_string()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(answer_state(&client).await, Some(("stored".to_owned(), revision)), "the drawing is still there");
    assert!(text(&client, "#feedback-status").await.is_none_or(|t| !t.starts_with("Saved")), "no answer recorded");
    let label = stack
        .db
        .psql(&format!("SELECT coalesce(true_label, -1) FROM predictions WHERE request_id = '{three}'"))
        .expect("psql");
    assert_eq!(label.trim(), "-1", "no feedback stored");
    client.find(Locator::Css("#correct")).await.expect("correct").click().await.expect("click");
    saved(&client).await;

    // More drawings than a page holds (stored through the page's own API
    // calls, as this visitor), then the history pages through them.
    const POST_PREVIEW: &str = "const [hex, done] = [arguments[0], arguments[1]]; \
        const bytes = new Uint8Array(hex.match(/../g).map(h => parseInt(h, 16))); \
        fetch('/api/predictions', { method: 'POST', headers: { 'content-type': 'application/vnd.digits.mnist' }, body: bytes }) \
            .then(r => done(r.status), () => done(0));";
    for _ in 0..4 {
        let status = client.execute_async(POST_PREVIEW, vec![json!(expected_rows[0].3)]).await.expect("posted");
        assert_eq!(status, 201);
    }
    client.refresh().await.expect("reload");
    let older = client.wait().for_element(Locator::Css("#history-older")).await.expect("pager");
    let rows_text = || async {
        let mut texts = Vec::new();
        for row in client.find_all(Locator::Css("table.history tbody tr")).await.ok()? {
            texts.push(row.text().await.ok()?);
        }
        Some(texts)
    };
    let first_page = wait_until("a full first page", || async {
        let texts = rows_text().await?;
        (texts.len() == 10).then_some(texts)
    })
    .await;
    let newest = attr(&client, "table.history tbody tr", "data-id").await.expect("the newest drawing's id");
    older.click().await.expect("older");
    // The page label may change before the rows do: wait for other rows.
    let second_page = wait_until("the second page", || async {
        (text(&client, "#history-page").await? == "Page 2").then_some(())?;
        let texts = rows_text().await?;
        (!texts.is_empty() && texts != first_page).then_some(texts.len())
    })
    .await;
    assert_eq!(second_page + 10, usize::try_from(stack.rows()).expect("rows"), "every drawing on one of the pages");
    client.find(Locator::Css("#history-newer")).await.expect("newer").click().await.expect("click");

    // A row opens its drawing, which can be deleted.
    // Again, the label may change before the rows do: wait for the newest row.
    wait_until("page 1 again", || async {
        (text(&client, "#history-page").await? == "Page 1").then_some(())?;
        (attr(&client, "table.history tbody tr", "data-id").await? == newest).then_some(())
    })
    .await;
    client.find(Locator::Css("table.history tbody tr button.open")).await.expect("a row").click().await.expect("open");
    let opened = wait_until("the drawing opened", || async { attr(&client, "#record-view", "data-id").await }).await;
    assert_eq!(opened, newest);
    screenshot(&client, "history-record-open").await;
    axe_views.push(("desktop, history record open", accessibility(&client, "desktop, history record open").await));
    let rows_before = stack.rows();
    client.find(Locator::Css("#delete-record")).await.expect("delete").click().await.expect("click");
    wait_until("the row gone", || async {
        client.find(Locator::Css("#record-view")).await.is_err().then_some(())?;
        let first = attr(&client, "table.history tbody tr", "data-id").await?;
        (first != newest).then_some(())
    })
    .await;
    assert_eq!(stack.rows(), rows_before - 1);
    assert_eq!(rows_of(&stack, &newest), "0|-1");

    // Nothing overflows the window or its card at any width.
    for width in [360u32, 390, 480, 600, 760, 1024, 1280] {
        client.set_window_size(width, 900).await.expect("window size");
        let measured = overflow(&client).await;
        assert_eq!(measured, json!({ "page": 0, "cards": [] }), "at {width}px");
    }
    println!("axe-core views: {axe_views:?}");
    client.close().await.expect("session closes");
}

/// The current year, from the system clock (for the history's dates).
fn this_year() -> i64 {
    let days = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() / 86_400;
    // Civil-from-days (Howard Hinnant's algorithm), for the year only.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_answer_and_feedback_fit_one_screen_and_images_can_be_uploaded() {
    let stack = app_stack().await;
    let driver = Driver::start();
    let client = driver.phone().await;
    client.goto(&stack.url("/")).await.expect("page loads");
    let pad = client.wait().for_element(Locator::Css("#pad")).await.expect("the drawing pad");
    let hints = client
        .execute("return getComputedStyle(document.querySelector('.keys')).display;", vec![])
        .await
        .expect("script");
    assert_eq!(hints, "none", "no keyboard hints on a touch screen");

    // Drawn with a finger: the answer and every feedback button are on the
    // first screen.
    draw_touch(&client, &pad, &strokes_of(1)).await;
    let (_, _, digit) = stored_after(&client, "").await;
    assert_eq!(digit, Some(1));
    const MEASURE: &str = "const bottom = s => Math.round(document.querySelector(s).getBoundingClientRect().bottom); \
        return { scrolled: window.scrollY, screen: window.innerHeight, answer: bottom('#prediction-digit'), \
                 correct: bottom('#correct'), not_a_digit: bottom('#not-a-digit'), correction: bottom('#submit-label') };";
    let fit = client.execute(MEASURE, vec![]).await.expect("measured");
    println!("on a 390x844 phone: {fit}");
    assert_eq!((fit["scrolled"].as_i64(), fit["screen"].as_i64()), (Some(0), Some(844)), "{fit}");
    for control in ["answer", "correct", "not_a_digit", "correction"] {
        assert!(fit[control].as_i64().is_some_and(|b| b <= 844), "{control} is below the fold: {fit}");
    }
    assert_eq!(overflow(&client).await, json!({ "page": 0, "cards": [] }));
    screenshot(&client, "phone").await;
    accessibility(&client, "phone, answered").await;

    // A lost connection says so and offers a retry that works.
    client
        .execute(
            "window.realFetch = window.fetch; \
             window.fetch = () => Promise.reject(new TypeError('Failed to fetch'));",
            vec![],
        )
        .await
        .expect("offline");
    let before = answer_state(&client).await.expect("state").1;
    draw_touch(&client, &pad, &[line(&[(-0.3, 0.8), (0.3, 0.8)], 6)]).await;
    let message = wait_until("the lost connection", || async { text(&client, "#problem").await }).await;
    assert!(message.contains("You are offline"), "{message}");
    screenshot(&client, "phone-offline").await;
    accessibility(&client, "phone, offline").await;
    client.execute("window.fetch = window.realFetch;", vec![]).await.expect("online");
    client.find(Locator::Css("#retry")).await.expect("retry").click().await.expect("click");
    stored_after(&client, &before).await;
    assert!(client.find(Locator::Css("#problem")).await.is_err());

    // An image file, chosen, pasted or dropped, goes through the same
    // pipeline and preview as a drawing.
    let digits = support::test_digits(4);
    let dir = TempDir::new("e2e-upload");
    let (image, label) = &digits[0];
    let path = dir.join("digit.png");
    std::fs::write(&path, support::canvas_png(image)).expect("png written");
    let before = answer_state(&client).await.expect("state").1;
    let upload = client.find(Locator::Css("#upload")).await.expect("the file input");
    upload.send_keys(&path.display().to_string()).await.expect("file chosen");
    let (uploaded, _, digit) = stored_after(&client, &before).await;
    assert_eq!(digit, Some(*label), "the uploaded {label}");
    assert!(preview_pixels(&client).await.is_some(), "its 28x28 preview");
    screenshot(&client, "phone-uploaded").await;
    const HAND_OVER: &str = "const [hex, how] = [arguments[0], arguments[1]]; \
        const bytes = new Uint8Array(hex.match(/../g).map(h => parseInt(h, 16))); \
        const data = new DataTransfer(); \
        data.items.add(new File([bytes], 'digit.png', { type: 'image/png' })); \
        if (how === 'paste') { \
            document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true })); \
        } else { \
            document.getElementById('pad').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })); \
        }";
    for (how, i) in [("paste", 1), ("drop", 2)] {
        let (image, label) = &digits[i];
        let hex: String = support::canvas_png(image).iter().map(|b| format!("{b:02x}")).collect();
        let before = answer_state(&client).await.expect("state").1;
        client.execute(HAND_OVER, vec![json!(hex), json!(how)]).await.expect("handed over");
        let (id, _, digit) = stored_after(&client, &before).await;
        assert_eq!(digit, Some(*label), "the {how}d {label}");
        assert_ne!(id, uploaded, "a picture starts a new drawing");
    }

    // A phone's photo of the digit written on paper: a JPEG of tinted paper
    // lit from one side, a shadow across the digit, grain, a blue pen, tilted.
    // The camera input takes the same files as the picker.
    let camera = client.find(Locator::Css("#camera")).await.expect("the camera input");
    assert_eq!(camera.attr("capture").await.expect("attribute").as_deref(), Some("environment"));
    let (image, label) = &digits[3];
    let page = Page { width: 1200, height: 900 };
    let photo = page.photo(&page.ink(image, (420, 250), 14, 7.0), 5, 900.0);
    let path = dir.join("photo.jpg");
    std::fs::write(&path, photo::jpeg(page, &photo, 80)).expect("jpeg written");
    let before = answer_state(&client).await.expect("state").1;
    upload.send_keys(&path.display().to_string()).await.expect("photo chosen");
    let (_, _, digit) = stored_after(&client, &before).await;
    assert_eq!(digit, Some(*label), "the photographed {label}");
    screenshot(&client, "phone-photo").await;
    client.close().await.expect("session closes");
}

/// A Chrome DevTools Protocol command, sent through ChromeDriver: how the
/// tests cut the browser's network, or block a URL, as a person's flaky
/// connection or a failed download would.
#[derive(Debug)]
struct Cdp(&'static str, Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(json!({ "cmd": self.0, "params": self.1 }).to_string()))
    }
}

async fn cdp(client: &Client, command: &'static str, params: Value) {
    client.issue_cmd(Cdp(command, params)).await.unwrap_or_else(|e| panic!("{command}: {e}"));
}

/// Cuts the browser's network (`true`) or gives it back, as the browser
/// itself would see it: requests fail, and `offline`/`online` events fire.
async fn network_cut(client: &Client, cut: bool) {
    cdp(client, "Network.enable", json!({})).await;
    let conditions = json!({ "offline": cut, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 });
    cdp(client, "Network.emulateNetworkConditions", conditions).await;
}

/// Starts noting every request the page makes (`METHOD path`), from now on.
async fn note_requests(client: &Client) {
    const NOTE: &str = "if (!window.noted) { \
            window.noted = []; const real = window.fetch; \
            window.fetch = function (input, init) { \
                const method = (input instanceof Request ? input.method : init && init.method) || 'GET'; \
                const url = new URL(input instanceof Request ? input.url : String(input), location.href); \
                window.noted.push(method + ' ' + url.pathname + url.search); \
                return real.call(window, input, init); \
            }; \
        } \
        window.noted.length = 0;";
    client.execute(NOTE, vec![]).await.expect("requests noted");
}

/// The requests noted since [`note_requests`] that read or store a drawing
/// (drafts, stores, revisions), leaving out the history and figures.
async fn drawing_requests(client: &Client) -> Vec<String> {
    let noted = client.execute("return window.noted;", vec![]).await.expect("noted");
    let noted: Vec<String> = serde_json::from_value(noted).expect("a list");
    noted
        .into_iter()
        .filter(|r| r.starts_with("POST /api/predictions") || r.starts_with("PUT /api/predictions/"))
        .collect()
}

/// Waits until the page's own model has loaded.
async fn model_in_page(client: &Client) {
    wait_until("the model in the page", || async {
        (attr(client, "#footer", "data-local").await? == "true").then_some(())
    })
    .await;
}

/// A 4 in two strokes with a pause after each (each pause stores it), then
/// an undo and its redo, quicker than a pause. Returns the record's id.
async fn four_with_pauses_undo_and_redo(client: &Client, pad: &Element) -> String {
    let four = strokes_of(4);
    let (_, before) = answer_state(client).await.expect("state");
    draw(client, pad, &four[..1]).await;
    let (id, first, _) = stored_after(client, &before).await;
    draw(client, pad, &four[1..]).await;
    let (again, second, digit) = stored_after(client, &first).await;
    assert_eq!((again.as_str(), digit), (id.as_str(), Some(4)));
    client.find(Locator::Css("#undo")).await.expect("undo").click().await.expect("click");
    client.find(Locator::Css("#redo")).await.expect("redo").click().await.expect("click");
    let (again, _, digit) = stored_after(client, &second).await;
    assert_eq!((again.as_str(), digit), (id.as_str(), Some(4)), "the redo is the stored drawing");
    // Longer than a pause: anything still due would have been sent.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    id
}

/// What the server stored for `id`, said as the page says its own readings
/// (`digit:4`, `several_digits:42`, `not_a_digit:`).
async fn stored_said(client: &Client, id: &str) -> String {
    const FETCH: &str = "const [id, done] = arguments; \
        fetch('/api/predictions/' + encodeURIComponent(id)).then(r => r.json()) \
            .then(j => done(j.verdict + ':' + (j.verdict === 'not_a_digit' ? '' : j.number)), e => done(String(e)));";
    client.execute_async(FETCH, vec![json!(id)]).await.expect("fetched").as_str().expect("text").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_runs_in_the_page_offline_too_and_a_class_behind_one_address_is_not_limited() {
    // The shipped rate limits, not the tests' fast ones: the page and a
    // class drawing beside it share one address.
    let web_dir = std::env::var_os("DIGITS_WEB_DIR").map_or_else(|| workspace().join("web-ui/dist"), PathBuf::from);
    let stack = Stack::with_limits_as_given(Config { web_dir, ..Config::default() }).await;
    let driver = Driver::start();

    // Before: the same drawing while the page has no model (its download
    // blocked), so drafts are read by the server, as they all were.
    let client = driver.desktop().await;
    cdp(&client, "Network.enable", json!({})).await;
    cdp(&client, "Network.setBlockedURLs", json!({ "urls": ["*/api/model/page*"] })).await;
    client.goto(&stack.url("/")).await.expect("page loads");
    let pad = client.wait().for_element(Locator::Css("#pad")).await.expect("the drawing pad");
    note_requests(&client).await;
    four_with_pauses_undo_and_redo(&client, &pad).await;
    assert_eq!(attr(&client, "#footer", "data-local").await.as_deref(), Some("false"), "no model in this page");
    let before = drawing_requests(&client).await;
    client.close().await.expect("session closes");

    // After: the model in the page.
    let client = driver.desktop().await;
    client.goto(&stack.url("/")).await.expect("page loads");
    let pad = client.wait().for_element(Locator::Css("#pad")).await.expect("the drawing pad");
    model_in_page(&client).await;
    let footer = text(&client, "#footer").await.expect("footer");
    assert!(footer.contains("drafts read in your browser"), "{footer}");

    // What the page downloaded: the app, and the model for this visitor.
    const SIZES: &str = "return performance.getEntriesByType('resource') \
        .filter(e => e.name.endsWith('.wasm') || e.name.includes('/api/model/files/')) \
        .map(e => ({ name: new URL(e.name).pathname, sent: e.encodedBodySize, size: e.decodedBodySize }));";
    let sizes = client.execute(SIZES, vec![]).await.expect("resource timing");
    println!("downloaded (bytes on the wire, bytes): {sizes}");
    let sizes = sizes.as_array().expect("entries");
    let wasm = sizes.iter().find(|e| e["name"].as_str().is_some_and(|n| n.ends_with(".wasm"))).expect("the app's wasm");
    let model =
        sizes.iter().find(|e| e["name"].as_str().is_some_and(|n| n.contains("/api/model/files/"))).expect("model");
    let sent = wasm["sent"].as_u64().expect("bytes") + model["sent"].as_u64().expect("bytes");
    assert!(wasm["sent"].as_u64() < wasm["size"].as_u64(), "the wasm is sent compressed: {wasm}");
    assert_eq!(sizes.iter().filter(|e| e["name"].as_str().is_some_and(|n| n.ends_with(".wasm"))).count(), 1);
    assert!(
        wasm["name"].as_str().is_some_and(|n| n.starts_with("/simd/")),
        "Chromium runs wasm SIMD, so it gets the SIMD build: {wasm}"
    );
    assert!(sent <= 1_000_000, "the app and the model within 1 MB on the wire: {sent}");

    // The class: 29 more people drawing behind the same address, each
    // storing a drawing every two seconds, the pace of a person pausing.
    let class_running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let class = {
        let (url, png) = (stack.url("/api/predictions"), support::canvas_png(&support::test_digits(1)[0].0));
        let mut people = Vec::new();
        for person in 0..29u64 {
            let (running, url, png) = (class_running.clone(), url.clone(), png.clone());
            people.push(tokio::spawn(async move {
                let http = support::visitor();
                tokio::time::sleep(Duration::from_millis(person * 2000 / 29)).await;
                let mut statuses = Vec::new();
                while running.load(std::sync::atomic::Ordering::SeqCst) {
                    let sent = http.post(&url).header("content-type", "image/png").body(png.clone()).send().await;
                    statuses.push(sent.map_or(0, |r| r.status().as_u16()));
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                statuses
            }));
        }
        people
    };

    note_requests(&client).await;
    let four = four_with_pauses_undo_and_redo(&client, &pad).await;
    let after = drawing_requests(&client).await;
    println!(
        "requests per drawing (4 in two strokes, two pauses, an undo and a redo): before {}, after {}",
        before.len(),
        after.len()
    );
    println!("  before: {before:?}\n  after: {after:?}");
    assert!(after.iter().all(|r| !r.contains("log=false")), "no draft request: {after:?}");
    assert!(after.len() <= 3 && before.len() > after.len(), "{} before, {} after", before.len(), after.len());
    assert_eq!(stored_said(&client, &four).await, "digit:4");

    // Parity: the page's own reading of each drawing as it was stored, and
    // the server's.
    let mut pairs = Vec::new();
    for strokes in [strokes_of(0), strokes_of(1), strokes_of(3), strokes_of(7), forty_two(), smiley()] {
        client.find(Locator::Css("#clear")).await.expect("clear").click().await.expect("click");
        draw(&client, &pad, &strokes).await;
        let (id, _, _) = stored_after(&client, "").await;
        let local = attr(&client, "#answer", "data-local-said").await.expect("the page's own reading");
        pairs.push((local, stored_said(&client, &id).await));
    }
    println!("the page's reading and the server's: {pairs:?}");
    assert!(pairs.iter().all(|(local, server)| local == server), "{pairs:?}");
    let (reads, p50, p99) = (
        attr(&client, "#footer", "data-reads").await.expect("reads"),
        attr(&client, "#footer", "data-read-p50-ms").await.expect("p50"),
        attr(&client, "#footer", "data-read-p99-ms").await.expect("p99"),
    );
    println!(
        "local reading (preprocess + model + verdict) in headless Chromium: {reads} reads, p50 {p50} ms, p99 {p99} ms"
    );
    assert!(reads.parse::<u32>().expect("a count") >= 10, "every change read in the page");

    let class_statuses: Vec<u16> = {
        class_running.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut all = Vec::new();
        for person in class {
            all.extend(person.await.expect("a person"));
        }
        all
    };
    let refused = class_statuses.iter().filter(|s| **s != 201).count();
    println!("the class beside the page: {} stores, {refused} not 201", class_statuses.len());
    assert_eq!(refused, 0, "{class_statuses:?}");

    stack.drained().await;

    // Offline: drawing and answers go on; the answer given meanwhile and
    // the drawing are saved by themselves once the network is back.
    client.find(Locator::Css("#clear")).await.expect("clear").click().await.expect("click");
    let rows_before = stack.rows();
    network_cut(&client, true).await;
    let seven = strokes_of(7);
    draw(&client, &pad, &smiley()[..1]).await;
    let problem = wait_until("the page saying it is offline", || async {
        (attr(&client, "#problem", "data-offline").await? == "true").then_some(())?;
        text(&client, "#problem").await
    })
    .await;
    assert!(problem.contains("You are offline") && problem.contains("saved by itself"), "{problem}");
    client.find(Locator::Css("#clear")).await.expect("clear").click().await.expect("click");
    draw(&client, &pad, &seven).await;
    let shown = wait_until("the page's answer to the 7, offline", || async {
        let (state, revision) = answer_state(&client).await?;
        let digit = text(&client, "#prediction-digit").await?;
        let said = attr(&client, "#answer", "data-local-said").await?;
        (state == "offline").then_some((revision, digit, said))
    })
    .await;
    assert_eq!((shown.1.as_str(), shown.2.as_str()), ("7", "digit:7"), "the answer of the drawing as it is");
    screenshot(&client, "offline-answered").await;
    client.find(Locator::Css("#correct")).await.expect("correct").click().await.expect("click");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(stack.rows(), rows_before, "nothing reached the server while offline");
    network_cut(&client, false).await;
    let status = saved(&client).await;
    assert!(status.contains("a 7 was right"), "{status}");
    let (seven_id, _, _) = stored_after(&client, "").await;
    stack.drained().await;
    let row = stack
        .db
        .psql(&format!("SELECT count(*), max(true_label) FROM predictions WHERE request_id = '{seven_id}'"))
        .expect("psql");
    assert_eq!(row.trim(), "1|7", "stored once, with the answer given offline");
    assert_eq!(stack.rows(), rows_before + 1, "one drawing, one row");
    assert!(client.find(Locator::Css("#problem")).await.is_err(), "back online");

    // History: a number shows all its digits; a drawing opened from the
    // history can be confirmed; Escape closes it without touching the pad;
    // Backspace on a history button leaves the drawing alone.
    client.refresh().await.expect("reload");
    client.wait().for_element(Locator::Css("table.history tbody tr")).await.expect("history");
    let pad = client.find(Locator::Css("#pad")).await.expect("pad");
    let number_parts =
        client.find_all(Locator::Css("table.history tbody tr .drawing-parts canvas")).await.expect("thumbnails");
    assert_eq!(number_parts.len(), 2, "42 shows both its digits");
    draw(&client, &pad, &strokes_of(1)).await;
    let (one, revision, _) = stored_after(&client, "").await;
    wait_until("the newest row", || async {
        let row = client.find(Locator::Css("table.history tbody tr")).await.ok()?;
        (row.attr("data-id").await.ok()?? == one).then_some(())
    })
    .await;
    let four_row = client
        .find(Locator::Css(&format!("table.history tbody tr[data-id='{four}'] button.open")))
        .await
        .expect("the 4's row");
    four_row.click().await.expect("open");
    client.wait().for_element(Locator::Css("#record-view")).await.expect("the drawing opened");
    client.find(Locator::Css("#record-correct")).await.expect("Correct in the row view").click().await.expect("click");
    wait_until("the 4 confirmed from the history", || async {
        let label = stack.db.psql(&format!("SELECT true_label FROM predictions WHERE request_id = '{four}'")).ok()?;
        (label.trim() == "4").then_some(())
    })
    .await;
    press(&client, &Key::Escape.to_string()).await;
    wait_until("the record closed", || async {
        client.find(Locator::Css("#record-view")).await.is_err().then_some(())
    })
    .await;
    assert_eq!(
        answer_state(&client).await,
        Some(("stored".to_owned(), revision.clone())),
        "Escape closed the panel only"
    );
    let row_button = client.find(Locator::Css("table.history tbody tr button.open")).await.expect("a history button");
    let row_ref = serde_json::to_value(&row_button).expect("element reference");
    client.execute("arguments[0].focus();", vec![row_ref]).await.expect("focused");
    press(&client, &Key::Backspace.to_string()).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(answer_state(&client).await, Some(("stored".to_owned(), revision)), "Backspace there undid nothing");
    assert!(client.find(Locator::Css("#record-view")).await.is_err(), "and opened nothing");

    // Exactly a page of drawings: no "Older" to an empty page.
    const MINE: &str = "fetch('/api/predictions?limit=100').then(r => r.json()) \
        .then(j => arguments[0](j.predictions.map(p => p.id)), () => arguments[0](null));";
    const DELETE: &str = "fetch('/api/predictions/' + arguments[0], { method: 'DELETE' }) \
        .then(r => arguments[1](r.status), () => arguments[1](0));";
    let mine: Vec<String> =
        serde_json::from_value(client.execute_async(MINE, vec![]).await.expect("listed")).expect("ids");
    assert!(mine.len() >= 10, "{} drawings", mine.len());
    for id in &mine[10..] {
        assert_eq!(client.execute_async(DELETE, vec![json!(id)]).await.expect("deleted"), 204);
    }
    client.refresh().await.expect("reload");
    wait_until("a full page of ten", || async {
        let rows = client.find_all(Locator::Css("table.history tbody tr")).await.ok()?;
        (rows.len() == 10).then_some(())
    })
    .await;
    let older = client.find(Locator::Css("#history-older")).await.expect("the pager");
    assert!(!older.is_enabled().await.expect("enabled?"), "no older page after exactly ten drawings");
    client.close().await.expect("session closes");
}
