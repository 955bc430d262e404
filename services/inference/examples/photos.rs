//! Reads photo-like pictures of handwritten digits on paper
//! (`training/digits_training/photos.py`) the two ways a person's photo is
//! read, and says how many were read right:
//!
//! - **server**: the JPEG file as `POST /api/predictions` takes it (decode,
//!   EXIF orientation, preprocessing, model, verdict); a photo over the
//!   server's pixel limit is refused with 413, and counted apart;
//! - **page**: as the web app reads a picture: decoded upright, fitted into
//!   its 280x280 canvas (the edges stretched over the bands beside it), then the same crate and model (the browser's
//!   own scaling is stood in for by a bilinear resize).
//!
//! ```text
//! cargo xtask recognition                          # writes the photos once, then runs this
//! cargo run --release -p digits-inference --example photos -- DIR [--require-digits 97 --require-numbers 95]
//! ```
//!
//! Prints accuracy per kind, the preprocessing time of the server path at
//! the size processed, and the wrong answers with how their photos were made.
//! With `--require-*`, exits non-zero when the server path reads fewer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use digits_inference::config::ModelSource;
use digits_inference::error::InferError;
use digits_inference::model::Model;
use digits_inference::reading::{Reading, Verdict};
use digits_preprocess::{ImageView, Limits, Part, PixelFormat, PreprocessError};
use digits_proto::inference::v1 as pb;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbaImage};
use serde::Deserialize;

/// The web app's drawing canvas, in pixels per side.
const PAGE_SIDE: u32 = 280;

#[derive(Parser)]
struct Args {
    /// The folder photos.py wrote.
    dir: PathBuf,
    /// Fail unless at least this percentage of single digits is read right (server path).
    #[arg(long)]
    require_digits: Option<f64>,
    /// Fail unless at least this percentage of 2-4 digit numbers is read right (server path).
    #[arg(long)]
    require_numbers: Option<f64>,
}

#[derive(Deserialize)]
struct Index {
    photos: Vec<Photo>,
}

#[derive(Deserialize)]
struct Photo {
    file: String,
    kind: String,
    expected: String,
    width: u32,
    height: u32,
    orientation: u8,
    made: serde_json::Value,
}

/// Right and total, per kind.
#[derive(Default)]
struct Tally(BTreeMap<String, (usize, usize)>);

impl Tally {
    fn add(&mut self, kind: &str, right: bool) {
        let entry = self.0.entry(kind.to_owned()).or_default();
        entry.0 += usize::from(right);
        entry.1 += 1;
    }

    fn share(&self, pick: impl Fn(&str) -> bool) -> f64 {
        let (right, total) =
            self.0.iter().filter(|(k, _)| pick(k)).fold((0, 0), |(r, t), (_, &(rr, tt))| (r + rr, t + tt));
        100.0 * right as f64 / total.max(1) as f64
    }

    fn print(&self, title: &str) {
        println!("{title}");
        for (kind, (right, total)) in &self.0 {
            println!("  {kind:<20} {right:>4}/{total:<4} {:>7.2}%", 100.0 * *right as f64 / (*total).max(1) as f64);
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let index: Index = serde_json::from_slice(&std::fs::read(args.dir.join("index.json"))?)?;
    let source = std::env::var_os("DIGITS_MODEL_DIR").map_or(ModelSource::Embedded, |d| ModelSource::Dir(d.into()));
    let model = Model::load(&source)?;
    let threshold = model.card.rejection_threshold();
    println!(
        "model {} {}; {} photos in {}",
        model.card.name,
        model.card.version,
        index.photos.len(),
        args.dir.display()
    );
    let mut session = model.session()?;
    let mut input = Vec::new();
    let mut read = |parts: Vec<Part>| -> anyhow::Result<String> {
        let reading = model.read(&mut session, vec![parts], &mut input)?.pop().context("one reading per image")?;
        let reading = Reading::new(reading.parts, threshold);
        Ok(if reading.verdict == Verdict::NotADigit { "not a digit".into() } else { reading.number() })
    };

    let limits = Limits::default();
    let (mut server, mut page) = (Tally::default(), Tally::default());
    let mut refused = 0;
    let mut times: Vec<(u32, Duration)> = Vec::new();
    let mut wrong = Vec::new();
    for p in &index.photos {
        let bytes = std::fs::read(args.dir.join(&p.file))?;
        // Server: the file as a request carries it.
        let image = pb::Image { source: Some(pb::image::Source::Encoded(bytes.clone())) };
        match digits_inference::decode::to_parts(&image, &limits) {
            Ok(parts) => {
                if let Some(dump) = std::env::var_os("DIGITS_PHOTOS_DUMP") {
                    let shown = upright(&bytes)?.resize(PAGE_SIDE, PAGE_SIDE, image::imageops::FilterType::Triangle);
                    dump_parts(&PathBuf::from(dump), &format!("server-{}", p.file), &shown.into_rgba8(), &parts)?;
                }
                let answer = read(parts)?;
                if answer != p.expected {
                    wrong.push(format!(
                        "server: {} {} read {answer:?}: {}x{} {}",
                        p.file, p.expected, p.width, p.height, p.made
                    ));
                }
                server.add(&p.kind, answer == p.expected);
                times.push((p.width.max(p.height), preprocessing_time(&bytes)?));
            }
            Err(InferError::Preprocess(PreprocessError::TooLarge { .. })) => refused += 1,
            Err(InferError::Preprocess(PreprocessError::Empty { .. } | PreprocessError::NoDigit { .. })) => {
                server.add(&p.kind, false);
            }
            Err(e) => anyhow::bail!("{}: {e}", p.file),
        }
        // Page: the picture fitted into the canvas.
        let upright = upright(&bytes)?;
        anyhow::ensure!(
            (upright.width(), upright.height()) == (p.width, p.height),
            "{}: orientation {} gave {}x{}, expected {}x{}",
            p.file,
            p.orientation,
            upright.width(),
            upright.height(),
            p.width,
            p.height
        );
        let canvas = on_canvas(&upright);
        let view = ImageView::new(PAGE_SIDE, PAGE_SIDE, PixelFormat::Rgba8, canvas.as_raw())?;
        let answer = match digits_preprocess::to_parts(&view, &limits) {
            Ok(parts) => {
                if let Some(dump) = std::env::var_os("DIGITS_PHOTOS_DUMP") {
                    dump_parts(&PathBuf::from(dump), &p.file, &canvas, &parts)?;
                }
                read(parts)?
            }
            Err(_) => "empty".into(),
        };
        if answer != p.expected {
            wrong.push(format!(
                "page:   {} {} read {answer:?}: {}x{} {}",
                p.file, p.expected, p.width, p.height, p.made
            ));
        }
        page.add(&p.kind, answer == p.expected);
    }

    server.print(&format!("server path (refused as over the pixel limit, 413: {refused})"));
    page.print("page path (fitted into the 280x280 canvas)");
    let digits = server.share(|k| k == "photo: digit");
    let numbers = server.share(|k| k.starts_with("photo: number"));
    println!("server: single digits {digits:.2}%, numbers {numbers:.2}%");
    println!(
        "page:   single digits {:.2}%, numbers {:.2}%",
        page.share(|k| k == "photo: digit"),
        page.share(|k| k.starts_with("photo: number"))
    );

    println!("\npreprocessing on the server path (decoded picture to MNIST form), by the photo's longer side:");
    for (lo, hi) in [(0, 1024), (1025, 2048), (2049, 4096)] {
        let mut t: Vec<Duration> = times.iter().filter(|(s, _)| (lo..=hi).contains(s)).map(|&(_, d)| d).collect();
        if t.is_empty() {
            continue;
        }
        t.sort();
        let at = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
        println!("  {lo:>4}-{hi:<4} px: {:>4} photos, p50 {:.1} ms, p99 {:.1} ms", t.len(), at(0.5), at(0.99));
    }
    println!("\nwrong ({}):", wrong.len());
    for w in wrong.iter().take(40) {
        println!("  {w}");
    }

    let mut failed = Vec::new();
    if let Some(need) = args.require_digits.filter(|&need| digits < need) {
        failed.push(format!("single digits {digits:.2}% < {need}%"));
    }
    if let Some(need) = args.require_numbers.filter(|&need| numbers < need) {
        failed.push(format!("numbers {numbers:.2}% < {need}%"));
    }
    anyhow::ensure!(failed.is_empty(), "photos read too poorly: {}", failed.join(", "));
    Ok(())
}

/// The picture decoded and turned upright by its EXIF orientation.
fn upright(bytes: &[u8]) -> anyhow::Result<DynamicImage> {
    let mut decoder = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?.into_decoder()?;
    let orientation = decoder.orientation()?;
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// The picture as the web app paints it: scaled to fit its canvas, centred,
/// and its edge rows or columns stretched over the bands left beside it.
fn on_canvas(image: &DynamicImage) -> RgbaImage {
    let scale = (f64::from(PAGE_SIDE) / f64::from(image.width())).min(f64::from(PAGE_SIDE) / f64::from(image.height()));
    let (w, h) =
        ((f64::from(image.width()) * scale).round() as u32, (f64::from(image.height()) * scale).round() as u32);
    let fitted = image.resize_exact(w.max(1), h.max(1), image::imageops::FilterType::Triangle).into_rgba8();
    let (x0, y0) = ((PAGE_SIDE - fitted.width()) / 2, (PAGE_SIDE - fitted.height()) / 2);
    RgbaImage::from_fn(PAGE_SIDE, PAGE_SIDE, |x, y| {
        let fx = x.saturating_sub(x0).min(fitted.width() - 1);
        let fy = y.saturating_sub(y0).min(fitted.height() - 1);
        *fitted.get_pixel(fx, fy)
    })
}

/// How long the preprocessing of the decoded photo takes (decoding left out).
fn preprocessing_time(bytes: &[u8]) -> anyhow::Result<Duration> {
    let gray = upright(bytes)?.into_luma8();
    let view = ImageView::new(gray.width(), gray.height(), PixelFormat::Gray8, gray.as_raw())?;
    let start = Instant::now();
    let _ = digits_preprocess::to_parts(&view, &Limits::default());
    Ok(start.elapsed())
}

/// Writes the page's canvas and the 28x28 images of its parts side by side, for a look at what went wrong.
fn dump_parts(dir: &std::path::Path, file: &str, canvas: &RgbaImage, parts: &[Part]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut sheet =
        image::GrayImage::from_pixel(PAGE_SIDE + 28 * 4 * parts.len() as u32, PAGE_SIDE, image::Luma([128]));
    image::imageops::overlay(&mut sheet, &DynamicImage::ImageRgba8(canvas.clone()).into_luma8(), 0, 0);
    for (i, part) in parts.iter().enumerate() {
        let small = image::GrayImage::from_raw(28, 28, part.image.pixels().to_vec()).context("28x28")?;
        let big = image::imageops::resize(&small, 112, 112, image::imageops::FilterType::Nearest);
        image::imageops::overlay(&mut sheet, &big, i64::from(PAGE_SIDE + 112 * i as u32), 0);
    }
    sheet.save(dir.join(file.replace(".jpg", ".png")))?;
    Ok(())
}
