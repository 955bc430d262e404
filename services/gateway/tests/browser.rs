//! End to end in a real headless Chromium, driven over WebDriver: draw digits
//! with pointer strokes on the real web app, served by the gateway in front
//! of the real inference and logging services, and check what the page shows
//! against the API and the database. Screenshots go to
//! `target/e2e-screenshots/`.
//!
//! Needs the built web app (`cargo xtask web`, which `cargo xtask test` runs
//! first) and `chromium` + `chromedriver` on PATH.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use digits_gateway::config::Config;
use digits_test_support::TempDir;
use digits_test_support::process::ChildGuard;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
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

    /// A browser session; the driver refuses connections for a moment after start.
    async fn session(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--user-data-dir={}", self.profile.path().display()),
                "--window-size=1280,1000",
            ]}),
        );
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
    let (_, _, width, _) = pad.rectangle().await.expect("pad size");
    let scale = width / 2.0;
    let mut mouse = MouseActions::new("mouse".into());
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
    client.perform_actions(mouse).await.expect("pointer actions");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drawn_digits_are_recognised_and_feedback_reaches_history_stats_and_the_database() {
    let web_dir = std::env::var_os("DIGITS_WEB_DIR").map_or_else(|| workspace().join("web-ui/dist"), PathBuf::from);
    assert!(
        web_dir.join("index.html").is_file() && web_dir.join("digits-web-ui_bg.wasm").is_file(),
        "the web app is not built in {}: run `cargo xtask web` (cargo xtask test does)",
        web_dir.display()
    );
    let stack = Stack::with_config(Config { web_dir, ..Config::default() }).await;
    let driver = Driver::start();
    let client = driver.session().await;
    client.goto(&stack.url("/")).await.expect("page loads");
    let pad = client.wait().for_element(Locator::Css("#pad")).await.expect("the drawing pad");

    let mut expected_rows = Vec::new();
    for digit in [0u8, 1, 3, 7] {
        draw(&client, &pad, &strokes_of(digit)).await;
        let (id, predicted, preview, server) = logged_answer(&client).await;
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
            // A correction: the user says it was a 1.
            7 => {
                let field = client.find(Locator::Css("#true-label")).await.expect("label field");
                field.send_keys("1").await.expect("typed");
                client.find(Locator::Css("#submit-label")).await.expect("submit").click().await.expect("click");
                let status = saved(&client).await;
                assert!(status.contains("it was a 1"), "{status}");
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

    // History: the four drawings with their feedback, newest first.
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

    // Stats: three right of four, and the 7-read-as-7-drawn-as-1 cell opens its example.
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

    // A phone-sized window: the pad still fits and drawing still works.
    client.set_window_size(390, 844).await.expect("phone size");
    let (_, _, width, _) = pad.rectangle().await.expect("pad");
    assert!(width <= 390.0, "the pad fits a phone: {width}px");
    let overflow = client
        .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![])
        .await
        .expect("script");
    assert_eq!(overflow.as_i64(), Some(0), "no sideways scrolling on a phone");
    draw(&client, &pad, &strokes_of(1)).await;
    let (_, predicted, _, _) = logged_answer(&client).await;
    assert_eq!(predicted, 1);
    screenshot(&client, "phone").await;
    client.close().await.expect("session closes");
}
