//! The bad-input corpus: malformed, hostile and oversized requests over
//! HTTP and gRPC, decompression bombs included, against real services. Every
//! one gets a clear 4xx (or the gRPC equivalent), never a 5xx, and the
//! process's memory stays bounded.

mod support;

use std::io::Write;

use digits_proto::inference::v1 as pb;
use digits_test_support::drawing;
use serde_json::{Value, json};
use support::{Stack, canvas_png, grpc_client, predict_png, test_digits};
use tonic::Code;

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

async fn get_json(stack: &Stack, path: &str) -> Value {
    json_of(stack.http.get(stack.url(path)).send().await.expect("sent")).await
}

/// The status a POST to `path` gets when it declares a body of `length`
/// bytes and sends none: how a body limit answers before reading.
fn declared_length_answer(stack: &Stack, path: &str, length: usize) -> u16 {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(stack.gateway.http).expect("connect");
    let request =
        format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: image/png\r\ncontent-length: {length}\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).expect("an answer");
    String::from_utf8_lossy(&answer[9..12]).parse().expect("a status")
}

/// This process's resident memory, in MiB (the whole stack runs in it).
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc");
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kib / 1024.0
}

/// A PNG of `width` x `height` in 16-bit grey, all zero: tiny on the wire
/// (it compresses ~1000:1), large once decoded.
fn png16_bomb(width: u32, height: u32) -> Vec<u8> {
    let raw_row = 1 + width as usize * 2;
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; raw_row];
    for _ in 0..height {
        deflate.write_all(&row).expect("deflate");
    }
    let data = deflate.finish().expect("deflate");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], body: &[u8]| {
        png.extend_from_slice(&u32::try_from(body.len()).expect("size").to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(body);
        png.extend_from_slice(kind);
        png.extend_from_slice(body);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[16, 0, 0, 0, 0]); // 16-bit grey
    chunk(b"IHDR", &header);
    chunk(b"IDAT", &data);
    chunk(b"IEND", &[]);
    png
}

/// A real (small) JPEG whose frame header is rewritten to declare `width`
/// x `height`: a decoder that trusted it would allocate gigabytes.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let image = image::GrayImage::from_fn(28, 28, |x, _| image::Luma([if x > 14 { 0 } else { 255 }]));
    let mut jpeg = Vec::new();
    image::DynamicImage::from(image)
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .expect("encodes");
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline frame header");
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bad_input_corpus_gets_4xx_json_errors_and_never_a_5xx_and_memory_stays_bounded() {
    let stack = Stack::start().await;
    let rss_before = rss_mib();
    let (image, _) = test_digits(1)[0];
    let good = json_of(predict_png(&stack, canvas_png(&image)).await).await;
    let id = good["id"].as_str().expect("id").to_owned();
    let good_png = canvas_png(&image);
    let mut huge_header = good_png.clone();
    huge_header[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge_header[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&huge_header[12..29]);
    huge_header[29..33].copy_from_slice(&crc.sum().to_be_bytes());

    enum Body {
        Bytes(&'static str, Vec<u8>),
        None,
    }
    let predict = "/api/predictions";
    const MNIST: &str = digits_web_api::MNIST_MEDIA_TYPE;
    let feedback = format!("/api/predictions/{id}/feedback");
    let json_bytes = |v: Value| Body::Bytes("application/json", v.to_string().into_bytes());
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes();
    let big_array = |bytes: usize| {
        let mut out = b"{\"width\":1,\"height\":1,\"pixels\":[".to_vec();
        while out.len() < bytes {
            out.extend_from_slice(b"255,");
        }
        out.extend_from_slice(b"0]}");
        out
    };
    let gzip = |data: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).expect("gzip");
        encoder.finish().expect("gzip")
    };
    let cases: Vec<(&str, reqwest::Method, String, Body, u16)> = vec![
        (
            "truncated PNG",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("image/png", good_png[..good_png.len() / 2].to_vec()),
            422,
        ),
        (
            "random bytes as PNG",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("image/png", b"not a png at all".to_vec()),
            422,
        ),
        (
            "PNG claiming 100000x100000",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("image/png", huge_header),
            413,
        ),
        ("empty PNG body", reqwest::Method::POST, predict.into(), Body::Bytes("image/png", vec![]), 422),
        (
            "GIF",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("image/png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec()),
            422,
        ),
        ("wrong content type", reqwest::Method::POST, predict.into(), Body::Bytes("text/plain", good_png.clone()), 415),
        ("no content type", reqwest::Method::POST, predict.into(), Body::None, 415),
        ("28x28 input one byte short", reqwest::Method::POST, predict.into(), Body::Bytes(MNIST, vec![9; 783]), 422),
        ("28x28 input one byte long", reqwest::Method::POST, predict.into(), Body::Bytes(MNIST, vec![9; 785]), 422),
        ("empty 28x28 input", reqwest::Method::POST, predict.into(), Body::Bytes(MNIST, vec![]), 422),
        ("oversized 28x28 input", reqwest::Method::POST, predict.into(), Body::Bytes(MNIST, vec![0; 3 << 20]), 413),
        ("oversized body", reqwest::Method::POST, predict.into(), Body::Bytes("image/png", vec![0; 3 << 20]), 413),
        (
            "blank canvas",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": 280, "height": 280, "pixels": vec![255; 280 * 280]})),
            422,
        ),
        (
            // A dot no larger than its pen: too small to read, and nothing is stored.
            "a tap",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": 280, "height": 280, "pixels": drawing::tap(280, 18)})),
            422,
        ),
        (
            "zero-size image",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": 0, "height": 0, "pixels": []})),
            422,
        ),
        (
            "wrong pixel count",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": 28, "height": 28, "pixels": [0, 1, 2]})),
            422,
        ),
        (
            "pixel above 255",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": 1, "height": 1, "pixels": [256]})),
            422,
        ),
        (
            "huge JSON dimensions",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": 100_000, "height": 100_000, "pixels": []})),
            413,
        ),
        (
            "malformed JSON",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("application/json", b"{\"width\": 2,".to_vec()),
            400,
        ),
        (
            "JSON missing pixels",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": 2, "height": 2})),
            422,
        ),
        (
            "bad log flag",
            reqwest::Method::POST,
            format!("{predict}?log=maybe"),
            Body::Bytes("image/png", good_png.clone()),
            400,
        ),
        ("label -1", reqwest::Method::PUT, feedback.clone(), json_bytes(json!({"true_label": -1})), 422),
        ("label 10", reqwest::Method::PUT, feedback.clone(), json_bytes(json!({"true_label": 10})), 422),
        ("label \"x\"", reqwest::Method::PUT, feedback.clone(), json_bytes(json!({"true_label": "x"})), 422),
        ("label 2.5", reqwest::Method::PUT, feedback.clone(), json_bytes(json!({"true_label": 2.5})), 422),
        ("no label", reqwest::Method::PUT, feedback.clone(), json_bytes(json!({})), 422),
        (
            "feedback not JSON",
            reqwest::Method::PUT,
            feedback.clone(),
            Body::Bytes("application/json", b"seven".to_vec()),
            400,
        ),
        (
            "unknown id",
            reqwest::Method::PUT,
            "/api/predictions/00000000-0000-0000-0000-000000000000/feedback".into(),
            json_bytes(json!({"true_label": 3})),
            404,
        ),
        ("unknown id lookup", reqwest::Method::GET, "/api/predictions/nope".into(), Body::None, 404),
        ("list digit 12", reqwest::Method::GET, "/api/predictions?digit=12".into(), Body::None, 422),
        ("list limit 0", reqwest::Method::GET, "/api/predictions?limit=0".into(), Body::None, 422),
        ("list limit text", reqwest::Method::GET, "/api/predictions?limit=all".into(), Body::None, 400),
        ("unknown API path", reqwest::Method::GET, "/api/nothing-here".into(), Body::None, 404),
        (
            "16-bit 4096x4096 PNG bomb",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("image/png", png16_bomb(4096, 4096)),
            413,
        ),
        (
            "16-bit 2048x2048 blank PNG",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("image/png", png16_bomb(2048, 2048)),
            422,
        ),
        ("PNG 1x5000", reqwest::Method::POST, predict.into(), Body::Bytes("image/png", png16_bomb(1, 5000)), 413),
        (
            "JPEG claiming 65000x65000",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("image/jpeg", jpeg_claiming(65000, 65000)),
            413,
        ),
        (
            "JPEG claiming 4000x1500, data for 28x28",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("image/jpeg", jpeg_claiming(4000, 1500)),
            413,
        ),
        (
            "JPEG header only",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xD9]),
            422,
        ),
        (
            "JPEG with a broken frame header",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x02, 0xFF, 0xD9]),
            422,
        ),
        (
            "deeply nested JSON image",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("application/json", nested(100_000)),
            422,
        ),
        (
            "10 MiB JSON array",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("application/json", big_array(10 << 20)),
            413,
        ),
        (
            "1.5 MiB JSON array, wrong count",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": 28, "height": 28, "pixels": vec![7u8; 700_000]})),
            422,
        ),
        (
            "JSON 4096x4096, no pixels",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": 4096, "height": 4096, "pixels": []})),
            413,
        ),
        (
            "JSON negative width",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": -1, "height": 1, "pixels": [0]})),
            422,
        ),
        (
            "JSON unknown field",
            reqwest::Method::POST,
            predict.into(),
            json_bytes(json!({"width": 1, "height": 1, "pixels": [0], "x": 1})),
            422,
        ),
        (
            "JSON with a BOM",
            reqwest::Method::POST,
            predict.into(),
            Body::Bytes("application/json", b"\xEF\xBB\xBF{}".to_vec()),
            400,
        ),
        ("JSON as a string", reqwest::Method::POST, predict.into(), json_bytes(json!("pixels")), 422),
        ("gzip-encoded PNG", reqwest::Method::POST, predict.into(), Body::Bytes("image/png", gzip(&good_png)), 422),
        (
            "deeply nested feedback",
            reqwest::Method::PUT,
            feedback.clone(),
            Body::Bytes("application/json", nested(400)),
            422,
        ),
        (
            "2 KiB feedback",
            reqwest::Method::PUT,
            feedback.clone(),
            json_bytes(json!({"true_label": 1, "pad": "x".repeat(2048)})),
            413,
        ),
        ("feedback label 300", reqwest::Method::PUT, feedback.clone(), json_bytes(json!({"true_label": 300})), 422),
        (
            "feedback on a NUL id",
            reqwest::Method::PUT,
            "/api/predictions/%00/feedback".into(),
            json_bytes(json!({"true_label": 3})),
            404,
        ),
        ("lookup of a NUL id", reqwest::Method::GET, "/api/predictions/a%00b".into(), Body::None, 404),
        ("list limit 501", reqwest::Method::GET, "/api/predictions?limit=501".into(), Body::None, 422),
        ("list digit -1", reqwest::Method::GET, "/api/predictions?digit=-1".into(), Body::None, 400),
        (
            "list has_feedback maybe",
            reqwest::Method::GET,
            "/api/predictions?has_feedback=maybe".into(),
            Body::None,
            400,
        ),
        ("PATCH a prediction", reqwest::Method::PATCH, format!("/api/predictions/{id}"), Body::None, 405),
        ("POST to stats", reqwest::Method::POST, "/api/stats".into(), Body::None, 405),
        ("export while admin is off", reqwest::Method::GET, "/api/admin/export".into(), Body::None, 404),
    ];
    let http_cases = cases.len();
    // A fresh connection per request: after refusing an oversized body the
    // server closes the connection, and a pooled one could race with that.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    for (case, method, path, body, expected) in cases {
        let mut request = http.request(method, stack.url(&path));
        if let Body::Bytes(content_type, bytes) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let response = match request.send().await {
            Ok(response) => response,
            // The server answered 413 and closed the connection while the
            // client was still writing the oversized body (broken pipe):
            // confirm the answer with the headers alone.
            Err(e) if expected == 413 && e.is_request() => {
                assert_eq!(declared_length_answer(&stack, &path, 10 << 20), 413, "{case}: {e}");
                continue;
            }
            Err(e) => panic!("{case}: {e}"),
        };
        let status = response.status().as_u16();
        let error = json_of(response).await;
        assert_eq!(status, expected, "{case}: {error}");
        assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "{case}: {error}");
        assert!(error["code"].as_str().is_some(), "{case}: {error}");
        if case == "a tap" {
            assert_eq!(error["code"], "too_small", "{error}");
        }
    }
    let grpc_cases = grpc_corpus(&stack).await;
    let rss_after = rss_mib();
    println!(
        "bad-input corpus: {http_cases} HTTP + {grpc_cases} gRPC cases, 0 x 5xx; \
         RSS of the whole stack {rss_before:.0} MiB before, {rss_after:.0} MiB after"
    );
    assert!(http_cases + grpc_cases >= 40);
    assert!(rss_after - rss_before < 300.0, "memory grew by {:.0} MiB", rss_after - rss_before);

    // Nothing stored was touched by any of it.
    stack.drained().await;
    assert_eq!(stack.rows(), 1);
    let record = get_json(&stack, &format!("/api/predictions/{id}")).await;
    assert_eq!(record["true_label"], Value::Null);
    assert_eq!(record["digit"], good["digit"]);
}

/// The gRPC half of the corpus, on the gateway's public port: every call is
/// refused with a status about the request, never INTERNAL or UNKNOWN.
async fn grpc_corpus(stack: &Stack) -> usize {
    let mut client = grpc_client(stack).await.max_encoding_message_size(64 << 20);
    let encoded = |bytes: Vec<u8>| pb::Image { source: Some(pb::image::Source::Encoded(bytes)) };
    let raw = |width: u32, height: u32, format: i32, pixels: Vec<u8>| pb::Image {
        source: Some(pb::image::Source::Raw(pb::RawImage { width, height, format, pixels })),
    };
    let gray = pb::PixelFormat::Gray8 as i32;
    let cases: Vec<(&str, pb::PredictRequest, &[Code])> = vec![
        ("no image", pb::PredictRequest { image: None, ..Default::default() }, &[Code::InvalidArgument]),
        (
            "image without source",
            pb::PredictRequest { image: Some(pb::Image { source: None }), ..Default::default() },
            &[Code::InvalidArgument],
        ),
        (
            "garbage bytes",
            pb::PredictRequest { image: Some(encoded(b"garbage".to_vec())), ..Default::default() },
            &[Code::InvalidArgument],
        ),
        (
            "16-bit PNG bomb",
            pb::PredictRequest { image: Some(encoded(png16_bomb(4096, 4096))), ..Default::default() },
            &[Code::InvalidArgument, Code::OutOfRange],
        ),
        (
            "JPEG claiming 65000 px",
            pb::PredictRequest { image: Some(encoded(jpeg_claiming(65000, 65000))), ..Default::default() },
            &[Code::InvalidArgument, Code::OutOfRange],
        ),
        (
            "raw, wrong pixel count",
            pb::PredictRequest { image: Some(raw(28, 28, gray, vec![0; 10])), ..Default::default() },
            &[Code::InvalidArgument],
        ),
        (
            "raw 5000x1",
            pb::PredictRequest { image: Some(raw(5000, 1, gray, vec![0; 5000])), ..Default::default() },
            &[Code::InvalidArgument, Code::OutOfRange],
        ),
        (
            "raw, unknown format",
            pb::PredictRequest { image: Some(raw(1, 1, 99, vec![0])), ..Default::default() },
            &[Code::InvalidArgument],
        ),
        (
            "raw, zero size",
            pb::PredictRequest { image: Some(raw(0, 0, gray, vec![])), ..Default::default() },
            &[Code::InvalidArgument],
        ),
        (
            "message over the size limit",
            pb::PredictRequest { image: Some(encoded(vec![0; 3 << 20])), ..Default::default() },
            &[Code::ResourceExhausted, Code::OutOfRange, Code::InvalidArgument],
        ),
    ];
    let mut count = 0;
    for (case, request, allowed) in cases {
        let status = client.predict(request).await.expect_err(case);
        assert!(allowed.contains(&status.code()), "{case}: {status:?}");
        count += 1;
    }
    let empty = client
        .predict_batch(pb::PredictBatchRequest { images: vec![], ..Default::default() })
        .await
        .expect_err("empty batch");
    assert_eq!(empty.code(), Code::InvalidArgument);
    let over = pb::PredictBatchRequest { images: vec![encoded(b"x".to_vec()); 17], ..Default::default() };
    assert_eq!(client.predict_batch(over).await.expect_err("over the cap").code(), Code::InvalidArgument);
    let mut keyed = tonic::Request::new(pb::PredictRequest { image: None, ..Default::default() });
    keyed.metadata_mut().insert("authorization", "Bearer no-such-key-000000".parse().expect("ascii"));
    assert_eq!(client.predict(keyed).await.expect_err("unknown key").code(), Code::Unauthenticated);
    count + 3
}
