//! The verdict contract over gRPC, against the real server and model: one
//! digit, a number read left to right, and drawings that are not digits.

mod support;

use digits_inference::model::EMBEDDED_CARD;
use digits_proto::inference::v1 as pb;
use digits_test_support::drawing::{doodles, draw_strokes};
use support::{TestServer, draw_number, draw_on_canvas, mnist_image, raw};
use tonic::Code;

async fn read(server: &mut TestServer, image: pb::Image) -> pb::Prediction {
    server
        .client
        .predict(pb::PredictRequest { image: Some(image), ..Default::default() })
        .await
        .expect("predict")
        .into_inner()
        .prediction
        .expect("prediction")
}

/// The single-digit fields are those of the deciding part.
fn assert_fields_follow_the_deciding_part(p: &pb::Prediction) {
    let deciding = p
        .parts
        .iter()
        .find(|part| part.input == p.input)
        .unwrap_or_else(|| panic!("no part has the top-level input; {} parts", p.parts.len()));
    assert_eq!((p.digit, p.confidence, p.not_a_digit), (deciding.digit, deciding.confidence, deciding.not_a_digit));
    assert_eq!(p.probabilities, deciding.probabilities);
    for part in &p.parts {
        let total: f32 = part.probabilities.iter().sum::<f32>() + part.not_a_digit;
        assert!((total - 1.0).abs() < 1e-4, "probabilities and not_a_digit sum to {total}");
        assert_eq!(part.confidence, part.probabilities[part.digit as usize]);
        assert_eq!(part.input.len(), 784);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_digit_is_a_digit_with_one_part_where_it_was_drawn() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set (set DIGITS_MNIST_DIR)");
    let mut server = TestServer::start().await;
    let canvas = draw_on_canvas(&test.images[0], 280, 280, 40.0, 30.0, 7.0);
    let p = read(&mut server, raw(280, 280, pb::PixelFormat::Rgba8, canvas)).await;
    assert_eq!(p.verdict(), pb::Verdict::Digit);
    assert_eq!(p.number, test.labels[0].to_string());
    assert_eq!(p.parts.len(), 1);
    let b = p.parts[0].r#box.expect("box");
    // The digit's 28x28 cell spans 40..236 x 30..226; its ink lies inside.
    assert!(b.x >= 40 && b.y >= 30 && b.x + b.width <= 236 && b.y + b.height <= 226, "{b:?}");
    assert_fields_follow_the_deciding_part(&p);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_drawn_on_a_canvas_are_read_left_to_right() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set");
    let mut server = TestServer::start().await;
    let (mut exact, mut total) = (0, 0);
    for (n, chunk) in test.images.chunks(4).zip(test.labels.chunks(4)).take(60).enumerate() {
        let len = 2 + n % 3;
        let digits: Vec<&[u8; 784]> = chunk.0.iter().take(len).collect();
        let expected: String = chunk.1.iter().take(len).map(u8::to_string).collect();
        let (canvas, width) = draw_number(&digits, 5.0, -20.0, 170);
        let p = read(&mut server, raw(width as u32, 170, pb::PixelFormat::Rgba8, canvas)).await;
        total += 1;
        if p.verdict() == pb::Verdict::SeveralDigits && p.number == expected {
            exact += 1;
        }
        if p.parts.len() == len {
            let xs: Vec<u32> = p.parts.iter().map(|part| part.r#box.expect("box").x).collect();
            assert!(xs.windows(2).all(|w| w[0] < w[1]), "parts left to right: {xs:?}");
            let weakest = p.parts.iter().map(|part| part.confidence).fold(f32::MAX, f32::min);
            if p.verdict() == pb::Verdict::SeveralDigits {
                assert_eq!(p.confidence, weakest, "a number is decided by its least confident digit");
            }
        }
        assert_fields_follow_the_deciding_part(&p);
    }
    println!("numbers read exactly: {exact}/{total}");
    assert!(exact * 100 >= total * 95, "only {exact} of {total} numbers read exactly");
    server.stop().await;
}

#[tokio::test]
async fn ready_images_side_by_side_are_the_digits_of_a_number() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set");
    let mut server = TestServer::start().await;
    let bytes: Vec<u8> = test.images[..3].iter().flatten().copied().collect();
    let p = read(&mut server, mnist_image(&bytes)).await;
    assert_eq!(p.verdict(), pb::Verdict::SeveralDigits);
    let expected: String = test.labels[..3].iter().map(u8::to_string).collect();
    assert_eq!(p.number, expected);
    for (i, part) in p.parts.iter().enumerate() {
        assert_eq!(part.r#box, Some(pb::Box { x: 28 * i as u32, y: 0, width: 28, height: 28 }));
        assert_eq!(part.input, test.images[i], "fed as is");
    }
    for (case, len) in [("nine images", 9 * 784), ("a byte too many", 785), ("nothing", 0)] {
        let status = server
            .client
            .predict(pb::PredictRequest { image: Some(mnist_image(&vec![0; len])), ..Default::default() })
            .await
            .expect_err(case);
        assert_eq!(status.code(), Code::InvalidArgument, "{case}");
        assert!(status.message().contains("up to 8"), "{case}: {}", status.message());
    }
    server.stop().await;
}

#[tokio::test]
async fn doodles_are_not_digits() {
    let mut server = TestServer::start().await;
    let info = server.client.get_model_info(pb::GetModelInfoRequest::default()).await.expect("info").into_inner();
    for (name, strokes) in doodles() {
        let canvas = draw_strokes(280, 280, &strokes, 16.0);
        let p = read(&mut server, raw(280, 280, pb::PixelFormat::Rgba8, canvas)).await;
        assert_eq!(p.verdict(), pb::Verdict::NotADigit, "{name}: read as {:?} {:?}", p.verdict(), p.number);
        assert_eq!(p.number, "", "{name}");
        assert!(p.not_a_digit >= info.rejection_threshold, "{name}: P(not a digit) {}", p.not_a_digit);
        assert_fields_follow_the_deciding_part(&p);
    }
    server.stop().await;
}

#[tokio::test]
async fn the_model_info_names_the_classes_and_the_threshold() {
    let mut server = TestServer::start().await;
    let info = server.client.get_model_info(pb::GetModelInfoRequest::default()).await.expect("info").into_inner();
    let card: serde_json::Value = serde_json::from_str(EMBEDDED_CARD).expect("card");
    assert_eq!(info.classes.len(), 11);
    assert_eq!(info.classes[10], "not_a_digit");
    assert_eq!(
        f64::from(info.rejection_threshold),
        card["rejection"]["threshold"].as_f64().expect("threshold") as f32 as f64
    );
    assert!(info.rejection_threshold > 0.0 && info.rejection_threshold < 1.0);
    server.stop().await;
}
