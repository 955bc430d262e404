//! The inference gRPC API against a real server on a loopback port, with the
//! real released model and the real MNIST test set.

mod support;

use std::time::Duration;

use digits_inference::model::{EMBEDDED_CARD, Model};
use digits_proto::inference::metadata;
use digits_proto::inference::v1 as pb;
use digits_test_support::{drawing, png};
use serde::Deserialize;
use support::{TestServer, draw_on_canvas, encoded, mnist_image, raw};
use tonic::Code;

fn card_accuracy() -> f64 {
    let card: serde_json::Value = serde_json::from_str(EMBEDDED_CARD).expect("card is JSON");
    card["metrics"]["test_accuracy"].as_f64().expect("test_accuracy")
}

/// Scores the whole test set in batches of 256; returns the predicted digits.
async fn predict_all(server: &mut TestServer, images: Vec<pb::Image>) -> Vec<u32> {
    let mut digits = Vec::with_capacity(images.len());
    for chunk in images.chunks(256) {
        let response = server
            .client
            .predict_batch(pb::PredictBatchRequest { images: chunk.to_vec(), ..Default::default() })
            .await
            .expect("batch succeeds")
            .into_inner();
        assert_eq!(response.predictions.len(), chunk.len());
        digits.extend(response.predictions.iter().map(|p| p.digit));
    }
    digits
}

fn accuracy(predicted: &[u32], labels: &[u8]) -> f64 {
    let right = predicted.iter().zip(labels).filter(|(p, l)| **p == u32::from(**l)).count();
    right as f64 / labels.len() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mnist_test_set_through_grpc_matches_the_model_card() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set (set DIGITS_MNIST_DIR)");
    let mut server = TestServer::start().await;

    let ready: Vec<pb::Image> = test.images.iter().map(|i| mnist_image(i)).collect();
    let ready_accuracy = accuracy(&predict_all(&mut server, ready).await, &test.labels);
    let card = card_accuracy();
    println!("ready MNIST input: {:.4}% (card {:.4}%)", ready_accuracy * 100.0, card * 100.0);
    // tract and PyTorch may split a near-tie differently: allow one image in 10,000.
    assert!((ready_accuracy - card).abs() <= 1.0e-4 + 1e-9, "{ready_accuracy} vs card {card}");

    // The same digits as PNG files, through the full decoding and preprocessing.
    let files: Vec<pb::Image> = test.images.iter().map(|i| encoded(png::gray(28, 28, i))).collect();
    let file_accuracy = accuracy(&predict_all(&mut server, files).await, &test.labels);
    println!("PNG through preprocessing: {:.4}%", file_accuracy * 100.0);
    assert!(file_accuracy >= card - 0.002, "{file_accuracy} is more than 0.2 points below {card}");
    server.stop().await;
}

#[derive(Deserialize)]
struct Golden {
    cases: Vec<GoldenCase>,
}

#[derive(Deserialize)]
struct GoldenCase {
    pixels: Vec<u8>,
    logits: Vec<f32>,
    probabilities: Vec<f32>,
}

#[tokio::test]
async fn tract_matches_pytorch_on_the_golden_fixture() {
    let golden: Golden = serde_json::from_str(include_str!("../models/mnist/2.0.0/golden.json")).expect("fixture");
    assert!(golden.cases.len() >= 64);
    let model = Model::load(&digits_inference::config::ModelSource::Embedded).expect("model loads");
    let input: Vec<f32> = golden.cases.iter().flat_map(|c| c.pixels.iter().map(|&p| f32::from(p) / 255.0)).collect();
    let logits = model.run(&input).expect("runs");
    assert_eq!(logits.len(), golden.cases.len() * model.classes());
    let mut worst = 0f32;
    for (case, row) in golden.cases.iter().zip(logits.chunks(model.classes())) {
        assert_eq!(row.len(), case.logits.len());
        for (a, b) in row.iter().zip(&case.logits) {
            worst = worst.max((a - b).abs());
        }
    }
    println!("max |tract - PyTorch| logit difference: {worst:.2e}");
    assert!(worst <= 1e-4, "max logit difference {worst}");

    // And through the server: the probabilities agree too.
    let mut server = TestServer::start().await;
    // The first digits, and the drawings that are not digits at the end of the fixture.
    for case in golden.cases.iter().take(8).chain(golden.cases.iter().rev().take(2)) {
        let p = server
            .client
            .predict(pb::PredictRequest { image: Some(mnist_image(&case.pixels)), ..Default::default() })
            .await
            .expect("predict")
            .into_inner()
            .prediction
            .expect("prediction");
        for (a, b) in p.probabilities.iter().chain([&p.not_a_digit]).zip(&case.probabilities) {
            assert!((a - b).abs() <= 1e-4);
        }
        assert_eq!(p.input, case.pixels, "ready input is fed as is");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digit_drawn_large_in_a_corner_of_a_transparent_canvas_gets_the_same_answer() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set");
    let mut server = TestServer::start().await;
    let n = 200;
    let originals: Vec<pb::Image> = test.images[..n].iter().map(|i| mnist_image(i)).collect();
    let expected = predict_all(&mut server, originals).await;
    let corners = [(0.0, 0.0), (180.0, 0.0), (0.0, 80.0), (170.0, 70.0)];
    let drawn: Vec<pb::Image> = test.images[..n]
        .iter()
        .enumerate()
        .map(|(i, digit)| {
            let (x, y) = corners[i % corners.len()];
            encoded(png::rgba(400, 300, &draw_on_canvas(digit, 400, 300, x, y, 8.0)))
        })
        .collect();
    let got = predict_all(&mut server, drawn).await;
    let same = expected.iter().zip(&got).filter(|(a, b)| a == b).count();
    println!("drawn on a 400x300 canvas: {same}/{n} answers unchanged");
    assert!(same >= n * 99 / 100, "only {same} of {n} unchanged");
    let right = got.iter().zip(&test.labels[..n]).filter(|(p, l)| **p == u32::from(**l)).count();
    assert!(right >= n * 98 / 100, "only {right} of {n} right");
    server.stop().await;
}

#[tokio::test]
async fn a_prediction_carries_everything_a_client_needs() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set");
    let mut server = TestServer::start().await;
    let canvas = draw_on_canvas(&test.images[0], 280, 280, 30.0, 20.0, 8.0);
    let response = server
        .client
        .predict(pb::PredictRequest {
            image: Some(raw(280, 280, pb::PixelFormat::Rgba8, canvas)),
            ..Default::default()
        })
        .await
        .expect("predict")
        .into_inner();
    let p = response.prediction.expect("prediction");
    assert_eq!(p.digit, u32::from(test.labels[0]));
    assert_eq!(p.probabilities.len(), 10);
    assert!((p.probabilities.iter().sum::<f32>() + p.not_a_digit - 1.0).abs() < 1e-4);
    assert_eq!(p.confidence, p.probabilities[p.digit as usize]);
    assert_eq!(p.input.len(), 784);
    assert!(!response.model_version.is_empty());
    assert!(response.timing.is_some());

    let info = server.client.get_model_info(pb::GetModelInfoRequest::default()).await.expect("info").into_inner();
    assert_eq!(info.version, response.model_version);
    assert_eq!(info.test_accuracy, card_accuracy());
    assert_eq!(info.per_digit_accuracy.len(), 10);
    assert_eq!(info.input.expect("input spec").width, 28);
    assert!(info.limits.expect("limits").max_pixels > 0);
    server.stop().await;
}

/// CRC-32 as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Each bad request, and a fragment its error message must contain.
fn bad_requests() -> Vec<(&'static str, pb::Image, &'static str)> {
    let digit = digits_mnist_idx::test_set().expect("MNIST").images[0];
    let good_png = png::gray(28, 28, &digit);
    // A tiny PNG whose header declares 100000x100000 pixels.
    let bomb = {
        let mut png = png::gray(1, 1, &[0]);
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        // Keep the header chunk's checksum valid, so only the size is wrong.
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        png
    };
    vec![
        ("no image data", pb::Image { source: None }, "missing"),
        ("empty file", encoded(vec![]), "empty"),
        ("random bytes", encoded(b"certainly not an image".to_vec()), "neither PNG nor JPEG"),
        ("truncated PNG", encoded(good_png[..good_png.len() / 2].to_vec()), "cannot decode"),
        ("GIF", encoded(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec()), "not supported"),
        ("decompression bomb", encoded(bomb), "limit"),
        ("raw zero width", raw(0, 10, pb::PixelFormat::Gray8, vec![]), "empty"),
        ("raw huge", raw(100_000, 100_000, pb::PixelFormat::Gray8, vec![0; 16]), "limit"),
        ("raw wrong length", raw(10, 10, pb::PixelFormat::Rgba8, vec![0; 100]), "needs 400"),
        ("raw no format", raw(2, 2, pb::PixelFormat::Unspecified, vec![0; 4]), "format"),
        ("mnist wrong length", mnist_image(&[0; 100]), "784"),
        ("mnist too many images", mnist_image(&[0; 9 * 784]), "up to 8"),
        ("blank canvas", raw(280, 280, pb::PixelFormat::Gray8, vec![255; 280 * 280]), "empty"),
        ("transparent canvas", raw(50, 50, pb::PixelFormat::Rgba8, vec![0; 50 * 50 * 4]), "empty"),
        ("a tap", raw(280, 280, pb::PixelFormat::Gray8, drawing::tap(280, 16)), "too small to read"),
    ]
}

#[tokio::test]
async fn bad_input_is_invalid_argument_with_a_clear_message() {
    let mut server = TestServer::start().await;
    for (case, image, fragment) in bad_requests() {
        let status = server
            .client
            .predict(pb::PredictRequest { image: Some(image), ..Default::default() })
            .await
            .expect_err(case);
        assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
        assert!(status.message().contains(fragment), "{case}: message {:?} lacks {fragment:?}", status.message());
        assert!(!status.message().starts_with("images["), "{case}: a single image needs no index");
        let code = status.metadata().get(metadata::ERROR_CODE).and_then(|v| v.to_str().ok());
        let expected = match case {
            "blank canvas" | "transparent canvas" => "empty_drawing",
            "a tap" => "too_small",
            "raw zero width" => "empty_image",
            "raw huge" | "decompression bomb" => "image_too_large",
            _ => "invalid_image",
        };
        assert_eq!(code, Some(expected), "{case}");
    }
    let status =
        server.client.predict(pb::PredictRequest { image: None, ..Default::default() }).await.expect_err("no image");
    assert_eq!(status.code(), Code::InvalidArgument);

    // In a batch, the error names the first bad image.
    let good = mnist_image(&[0; 784]);
    let mut images = vec![good.clone(), good.clone(), encoded(b"junk".to_vec())];
    let status = server
        .client
        .predict_batch(pb::PredictBatchRequest { images: images.clone(), ..Default::default() })
        .await
        .expect_err("bad batch");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("images[2]:"), "{}", status.message());
    images.clear();
    let status = server
        .client
        .predict_batch(pb::PredictBatchRequest { images, ..Default::default() })
        .await
        .expect_err("empty batch");
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = server
        .client
        .predict_batch(pb::PredictBatchRequest { images: vec![good; 257], ..Default::default() })
        .await
        .expect_err("too many");
    assert!(status.message().contains("limit is 256"), "{}", status.message());

    // A message over the size limit is refused by the transport before it is
    // processed: OUT_OF_RANGE with the sizes when the refusal reaches the
    // client in time; for a far larger one the stream is reset mid-upload.
    let over = raw(2100, 2100, pb::PixelFormat::Rgba8, vec![0; 2100 * 2100 * 4]);
    let status = server
        .client
        .predict(pb::PredictRequest { image: Some(over), ..Default::default() })
        .await
        .expect_err("too big");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(status.message().contains("too large"), "{}", status.message());
    let far_over = raw(4096, 4096, pb::PixelFormat::Rgba8, vec![0; 4096 * 4096 * 4]);
    assert!(server.client.predict(pb::PredictRequest { image: Some(far_over), ..Default::default() }).await.is_err());

    // The server is still healthy and answering.
    let ok =
        server.client.predict(pb::PredictRequest { image: Some(mnist_image(&[0; 784])), ..Default::default() }).await;
    assert!(ok.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn health_and_reflection_answer() {
    let server = TestServer::start().await;
    let timeout = Duration::from_secs(5);
    digits_service_kit::healthcheck::check(&server.url(), "digits.inference.v1.Inference", timeout)
        .await
        .expect("serving");
    digits_service_kit::healthcheck::check(&server.url(), "", timeout).await.expect("server serving");
    digits_service_kit::healthcheck::check(&server.url(), "inference.GRPCInferenceService", timeout)
        .await
        .expect("the Open Inference Protocol serving");

    // Only what this server serves: not the logging API, whose descriptors it also carries.
    let listed = digits_service_kit::healthcheck::reflected_services(&server.url(), timeout).await.expect("reflection");
    assert_eq!(listed, ["digits.inference.v1.Inference", "grpc.health.v1.Health", "inference.GRPCInferenceService"]);

    let url = server.url();
    server.stop().await;
    // After a graceful stop, nothing answers.
    assert!(digits_service_kit::healthcheck::check(&url, "", timeout).await.is_err());
}

#[tokio::test]
async fn sequential_calls_do_not_stall_on_delayed_acks() {
    // Without TCP_NODELAY every call waits ~40 ms for the peer's delayed ACK.
    // A healthy call takes well under a millisecond here; the 20 ms bound
    // leaves a wide margin for a busy machine and still catches the stall.
    let mut server = TestServer::start().await;
    let digit = digits_mnist_idx::test_set().expect("MNIST").images[0];
    let mut times = Vec::new();
    for _ in 0..21 {
        let started = std::time::Instant::now();
        server
            .client
            .predict(pb::PredictRequest { image: Some(mnist_image(&digit)), ..Default::default() })
            .await
            .expect("predict");
        times.push(started.elapsed());
    }
    times.sort_unstable();
    assert!(times[10] < Duration::from_millis(20), "median call took {:?}", times[10]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_resource_exhausted_not_a_hang() {
    let config = digits_inference::config::Config { workers: 1, queue: 1, ..Default::default() };
    let server = TestServer::with_config(config).await;
    // Big images keep the single worker busy while more calls arrive.
    let digit = digits_mnist_idx::test_set().expect("MNIST").images[3];
    let canvas = draw_on_canvas(&digit, 2000, 2000, 100.0, 100.0, 60.0);
    let mut calls = Vec::new();
    for _ in 0..12 {
        let mut client = server.client.clone();
        let image = raw(2000, 2000, pb::PixelFormat::Rgba8, canvas.clone());
        calls.push(tokio::spawn(async move {
            client.predict(pb::PredictRequest { image: Some(image), ..Default::default() }).await
        }));
    }
    let mut ok = 0;
    let mut busy = 0;
    for call in calls {
        match call.await.expect("task") {
            Ok(_) => ok += 1,
            Err(s) if s.code() == Code::ResourceExhausted => busy += 1,
            Err(s) => panic!("unexpected {s:?}"),
        }
    }
    assert!(ok >= 1 && busy >= 1, "ok {ok}, busy {busy}");
    server.stop().await;
}
